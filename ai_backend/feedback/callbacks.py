"""Signed result callbacks: when a job with a `callback_url` ends, its result is POSTed there.

Signing scheme (documented in docs/feedback.md for receivers):
- the body is the JSON `{"type": "feedback.job.finished", "job": <the job as GET returns it>}`;
- the header `X-DaoDao-Signature: t=<unix seconds>,v1=<hex>` carries the time of sending and
  HMAC-SHA256, keyed by the callback secret, over `"<t>." + body` (the exact bytes sent);
- a receiver recomputes the HMAC, compares in constant time, and refuses a `t` older than a
  few minutes, so a captured request cannot be replayed later.

Delivery is at least once. The attempt is claimed in PostgreSQL (as the job itself is), any
non-2xx answer or network error is retried with exponential backoff and jitter up to
`MAX_ATTEMPTS`, and the outcome (`delivered` or `failed`, attempts, last error) is written on
the job by the attempt that made it only. Receivers deduplicate by job id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import FeedbackJob
from ai_backend.domain import FEEDBACK_FINAL
from ai_backend.feedback.llm import retry_after_seconds
from ai_backend.feedback.runner import backoff
from ai_backend.feedback.service import update_job, view

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-DaoDao-Signature"
EVENT_TYPE = "feedback.job.finished"
MAX_ATTEMPTS = 8
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The signature header's value for `body` sent at `timestamp` (default: now)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the header is well formed, recent, and matches this body."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance:
        return False
    expected = sign(secret, body, timestamp=t).partition(",v1=")[2]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def payload(job: FeedbackJob) -> bytes:
    document = {"type": EVENT_TYPE, "job": view(job).model_dump(mode="json", exclude={"callback"})}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class CallbackSender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        *,
        secret: str,
        retry: Callable[[str, float], None],
    ) -> None:
        self.sessions = sessions
        self.http = http
        self.secret = secret
        # How a delivery is tried again later: (job id, delay in seconds).
        self.retry = retry

    async def _claim(self, job_id: uuid.UUID) -> FeedbackJob | None:
        """Take the next delivery attempt, if one is due and nobody else holds it."""
        now = datetime.now(UTC)
        # Long enough for one POST and its timeouts; past it the sweeper sends it again.
        hold = timedelta(seconds=self._timeout() + 30)
        return await update_job(
            self.sessions,
            job_id,
            FeedbackJob.callback_status == "pending",
            FeedbackJob.status.in_(FEEDBACK_FINAL),
            FeedbackJob.callback_next_at <= now,
            callback_attempts=FeedbackJob.callback_attempts + 1,
            callback_next_at=now + hold,
        )

    def _timeout(self) -> float:
        timeout = self.http.timeout.read
        return 10.0 if timeout is None else timeout

    async def _record(self, job: FeedbackJob, **values: object) -> bool:
        """Write this attempt's outcome, unless another attempt has been made since."""
        attempt = (
            FeedbackJob.callback_status == "pending",
            FeedbackJob.callback_attempts == job.callback_attempts,
        )
        return await update_job(self.sessions, job.id, *attempt, **values) is not None

    async def deliver(self, job_id: uuid.UUID) -> str:
        """Make one delivery attempt; say what became of it."""
        job = await self._claim(job_id)
        if job is None or job.callback_url is None:
            return "skipped"
        body = payload(job)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "daodao-ai-callbacks",
            SIGNATURE_HEADER: sign(self.secret, body),
            "X-DaoDao-Job": str(job.id),
        }
        if job.request_id:
            headers["X-Request-ID"] = job.request_id
        retry_after: float | None = None
        try:
            response = await self.http.post(job.callback_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            if response.is_success:
                await self._record(
                    job,
                    callback_status="delivered",
                    callback_delivered_at=datetime.now(UTC),
                    callback_error=None,
                )
                return "delivered"
            error = f"the receiver answered {response.status_code}"
            retry_after = retry_after_seconds(response)
        attempt = job.callback_attempts
        if attempt >= MAX_ATTEMPTS:
            await self._record(
                job, callback_status="failed", callback_error=f"gave up after {attempt}: {error}"
            )
            return "failed"
        delay = backoff(attempt, retry_after)
        due = datetime.now(UTC) + timedelta(seconds=delay)
        if await self._record(job, callback_next_at=due, callback_error=error):
            self.retry(str(job.id), delay)
        logger.info("callback attempt %d failed: %s", attempt, error, extra={"job_id": str(job.id)})
        return "retrying"
