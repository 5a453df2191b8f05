"""Status changes of feedback jobs, announced over Redis and followed as server-sent events.

Workers publish a job's id on `CHANNEL` whenever its status changes. Each API process holds
one subscription (`StatusWatch`) and wakes the streams that follow that job. The ledger stays
the truth: a stream reads the job from PostgreSQL on every wake-up, and at least every
`poll_seconds` anyway, so a lost announcement (Redis away, a worker killed between its write
and its publish) only delays an event, never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from redis.asyncio import Redis

from ai_backend.domain import FEEDBACK_FINAL
from ai_backend.feedback.service import FeedbackService, view
from ai_backend.infra.background import BackgroundLoop
from ai_backend.infra.cache import follow_channel

logger = logging.getLogger(__name__)
CHANNEL = "feedback:status"
RECONNECT_SECONDS = 1.0


async def announce(redis: Redis, job_id: uuid.UUID | str) -> None:
    """Tell the API processes that a job changed; best effort (streams also poll)."""
    try:
        await redis.publish(CHANNEL, str(job_id))
    except Exception as exc:
        logger.debug("status announcement lost: %s", exc)


class StatusWatch(BackgroundLoop):
    """This process's subscription to status announcements, shared by all its streams."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._waiters: dict[str, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def watching(self, job_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """An event set whenever the job is announced; the caller clears it after reading."""
        key = str(job_id)
        changed = asyncio.Event()
        self._waiters.setdefault(key, set()).add(changed)
        try:
            yield changed
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(changed)
                if not waiters:
                    del self._waiters[key]

    def _wake(self, key: str) -> None:
        for changed in self._waiters.get(key, ()):
            changed.set()

    def _wake_all(self) -> None:
        # After a gap in the subscription, anything may have changed.
        for key in list(self._waiters):
            self._wake(key)

    async def _loop(self) -> None:
        async def subscribed() -> None:
            self._wake_all()

        await follow_channel(
            self.redis,
            CHANNEL,
            self._wake,
            on_subscribed=subscribed,
            on_lost=lambda: None,
            reconnect_seconds=RECONNECT_SECONDS,
        )


async def follow(
    feedback: FeedbackService, watch: StatusWatch, job_id: uuid.UUID, *, poll_seconds: float
) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events for one job: its state now, then each change, until it is final.

    Each event is named after the status and carries the whole job, as `GET /v1/feedback/{id}`
    would answer it. If the ledger cannot be read the stream says so in an `error` event and
    ends; the caller reconnects or polls.
    """
    last: tuple[str, int] | None = None
    with watch.watching(job_id) as changed:
        while True:
            changed.clear()
            try:
                job = await feedback.get(job_id)
            except Exception as exc:
                logger.warning("feedback stream ended: %s", exc)
                yield {"event": "error", "data": '{"error": "the job ledger is unreachable"}'}
                return
            state = (job.status, job.attempts)
            if state != last:
                last = state
                yield {
                    "event": job.status,
                    "id": f"{job.attempts}.{job.status}",
                    "data": view(job).model_dump_json(),
                }
            if job.status in FEEDBACK_FINAL:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=poll_seconds)
