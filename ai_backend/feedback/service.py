"""Feedback requests on the API side: the job row is committed first, the message sent after.

PostgreSQL is the ledger. In one transaction a request inserts a `queued` job, or finds the one
its idempotency key already names; a new job is charged to the member's daily quota and
committed. Only then does the Celery message go out (from a thread, with a short retry policy,
so a dead broker costs a request half a second and never stalls the event loop). If the broker
cannot take it, the new job is removed again, the quota refunded, and the caller gets 503:
nothing is left half-written.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from celery import Celery
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, ScalarSelect, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import Checkin, FeedbackJob, Practice
from ai_backend.db.uow import UnitOfWork, unit_of_work
from ai_backend.errors import (
    Conflict,
    Invalid,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from ai_backend.feedback.schemas import Callback, FeedbackJobView, FeedbackRequest
from ai_backend.infra.queue import enqueue
from ai_backend.observability import current_request_id

GENERATE_TASK = "feedback.generate"
CALLBACK_TASK = "feedback.callback"
QUOTA_PREFIX = "feedback:quota:"
# Kinds that are about check-ins cannot be written without one.
NEEDS_CHECKIN = frozenset({"checkin_encouragement", "weekly_summary"})


class NoCheckins(Invalid):
    code = "no_checkins"


class NotCompleted(Conflict):
    code = "practice_not_completed"


async def update_job(
    sessions: async_sessionmaker[AsyncSession],
    job_id: uuid.UUID,
    *conditions: ColumnElement[bool],
    **values: object,
) -> FeedbackJob | None:
    """Set `values` on the job if it still meets `conditions`, in one atomic statement, and
    return it as updated; None if it did not meet them (someone else got there first)."""
    async with unit_of_work(sessions) as uow:
        job = await uow.session.scalar(
            update(FeedbackJob)
            .where(FeedbackJob.id == job_id, *conditions)
            .values(**values)
            .returning(FeedbackJob)
        )
    return job


def _quota_key(user_id: str, day: date) -> str:
    return f"{QUOTA_PREFIX}{user_id}:{day:%Y%m%d}"


def _queue_unreachable(exc: BaseException) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"the job queue is unreachable ({type(exc).__name__}); nothing was stored, "
        "try again shortly",
        retry_after=5,
    )


def _row(
    practice_id: str, owner: str, latest: str | None, key: str, body: FeedbackRequest
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "practice_id": practice_id,
        "checkin_id": latest,
        "user_id": owner,
        "kind": body.kind,
        "locale": body.locale,
        "idempotency_key": key,
        "callback_url": str(body.callback_url) if body.callback_url else None,
        "callback_status": "pending" if body.callback_url else None,
        "request_id": current_request_id(),
    }


def view(job: FeedbackJob) -> FeedbackJobView:
    callback = None
    if job.callback_url:
        callback = Callback(
            url=job.callback_url,
            status=job.callback_status,
            attempts=job.callback_attempts,
            delivered_at=job.callback_delivered_at,
            error=job.callback_error,
        )
    return FeedbackJobView(
        job_id=job.id,
        practice_id=job.practice_id,
        kind=job.kind,
        locale=job.locale,
        status=job.status,
        attempts=job.attempts,
        queued_at=job.queued_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        duration_ms=job.duration_ms,
        model=job.model,
        prompt_version=job.prompt_version,
        prompt_tokens=job.prompt_tokens,
        completion_tokens=job.completion_tokens,
        result=job.result,
        source=job.source,
        failed_checks=list(job.failed_checks or []),
        error=job.error,
        callback=callback,
    )


class FeedbackService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        celery: Celery,
        redis: Redis,
        *,
        daily_quota: int,
    ) -> None:
        self.sessions = sessions
        self.celery = celery
        self.redis = redis
        # New jobs per member per UTC day, counted in Redis so every API process agrees.
        self.daily_quota = daily_quota

    async def request(
        self, uow: UnitOfWork, practice_id: str, body: FeedbackRequest
    ) -> tuple[FeedbackJob, bool]:
        """The job for this request, and whether this call created it.

        Round trips are what an enqueue costs here, so there are few, and the unit of work runs
        in autocommit: each statement is whole on its own. One read finds the practice, its
        latest check-in and any job the key already names; a new job is charged to the
        member's quota, then inserted (a key reused meanwhile turns the insert into nothing,
        and the charge is refunded); the message goes out once the unit of work commits.
        """
        latest = _latest_checkin()
        key = _request_key(practice_id, body, latest)
        existing = select(FeedbackJob.id).where(FeedbackJob.idempotency_key == key)
        session = uow.session
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        found = (
            await session.execute(
                select(
                    Practice.owner_id, Practice.status, latest, key, existing.scalar_subquery()
                ).where(Practice.id == practice_id)
            )
        ).first()
        if found is None:
            raise NotFound(f"no practice with id '{practice_id}'; upsert it first")
        owner, status, checkin, job_key, job_id = found
        if job_id is not None:
            earlier = await session.get_one(FeedbackJob, job_id)
            return self._same_request(earlier, practice_id, body), False
        _require_ready(practice_id, status, checkin, body.kind)
        quota_key = await self._charge(owner)
        try:
            job = await session.scalar(
                insert(FeedbackJob)
                .values(_row(practice_id, owner, checkin, job_key, body))
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(FeedbackJob)
            )
        except BaseException:
            await self._refund(quota_key)
            raise
        if job is None:  # a concurrent request with the same key won
            await self._refund(quota_key)
            raced = await session.scalar(
                select(FeedbackJob).where(FeedbackJob.idempotency_key == job_key)
            )
            assert raced is not None
            return self._same_request(raced, practice_id, body), False
        created: FeedbackJob = job
        uow.after_commit(lambda: self._send(created, quota_key))
        return created, True

    @staticmethod
    def _same_request(job: FeedbackJob, practice_id: str, body: FeedbackRequest) -> FeedbackJob:
        if job.practice_id != practice_id or job.kind != body.kind:
            raise Conflict(
                "idempotency_key was already used for another request "
                f"(practice '{job.practice_id}', kind '{job.kind}')",
                details={"job_id": str(job.id)},
            )
        return job

    async def _send(self, job: FeedbackJob, quota_key: str) -> None:
        """The message goes out after the commit; if it cannot, the job is taken back and its
        charge refunded."""
        try:
            await enqueue(self.celery, GENERATE_TASK, [str(job.id)])
        except Exception as exc:
            await self._refund(quota_key)
            async with unit_of_work(self.sessions) as uow:
                await uow.session.execute(delete(FeedbackJob).where(FeedbackJob.id == job.id))
            raise _queue_unreachable(exc) from exc
        except BaseException:  # cancelled: the job stays, and the sweeper sends it later
            await self._refund(quota_key)
            raise

    async def forget(self, user_id: str, _owned: Sequence[str] = ()) -> None:
        """Drop the member's quota counters: each lives two days past its last use, so the
        keys of today and the two days before may exist."""
        today = datetime.now(UTC).date()
        days = [today - timedelta(days=n) for n in range(3)]
        try:
            await self.redis.delete(*(_quota_key(user_id, day) for day in days))
        except RedisError as exc:
            raise _queue_unreachable(exc) from exc

    async def _charge(self, user_id: str) -> str:
        """Count one job against the member's quota for today (UTC); 429 once it is spent."""
        now = datetime.now(UTC)
        key = _quota_key(user_id, now.date())
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, 2 * 86_400)
                used, _ = await pipe.execute()
        except RedisError as exc:
            raise _queue_unreachable(exc) from exc
        if used > self.daily_quota:
            await self._refund(key)
            midnight = datetime.combine(now.date() + timedelta(days=1), time.min, UTC)
            raise TooManyRequests(
                f"member '{user_id}' has used today's {self.daily_quota} feedback requests; "
                "the quota resets at 00:00 UTC",
                retry_after=max(1, math.ceil((midnight - now).total_seconds())),
            )
        return key

    async def _refund(self, key: str) -> None:
        with contextlib.suppress(RedisError):
            await self.redis.decr(key)

    async def get(self, job_id: uuid.UUID) -> FeedbackJob:
        async with self.sessions() as session:
            job = await session.get(FeedbackJob, job_id)
        if job is None:
            raise NotFound(f"no feedback job with id '{job_id}'")
        return job

    async def for_practice(self, practice_id: str, *, limit: int) -> list[FeedbackJob]:
        async with self.sessions() as session:
            if await session.get(Practice, practice_id) is None:
                raise NotFound(f"no practice with id '{practice_id}'")
            jobs = await session.scalars(
                select(FeedbackJob)
                .where(FeedbackJob.practice_id == practice_id)
                .order_by(FeedbackJob.queued_at.desc())
                .limit(limit)
            )
            return list(jobs.all())


def _latest_checkin() -> ScalarSelect[Any]:
    """The id of the practice's latest check-in by its owner, as a correlated subquery."""
    return (
        select(Checkin.id)
        .where(Checkin.practice_id == Practice.id, Checkin.user_id == Practice.owner_id)
        .order_by(Checkin.checkin_date.desc(), Checkin.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def _request_key(
    practice_id: str, body: FeedbackRequest, latest: ScalarSelect[Any]
) -> ColumnElement[str]:
    """The request's idempotency key: the caller's, or without one the same practice, kind and
    latest check-in, which are the same request."""
    if body.idempotency_key:
        return literal(body.idempotency_key)
    return literal(f"auto:{practice_id}:{body.kind}:") + func.coalesce(latest, "-")


def _require_ready(practice_id: str, status: str, checkin: Any, kind: str) -> None:
    """Refuse a kind the practice cannot have yet (409, saying what to do)."""
    if checkin is None and kind in NEEDS_CHECKIN:
        raise NoCheckins(
            f"kind '{kind}' needs at least one check-in on practice "
            f"'{practice_id}'; record one with POST /v1/practices/{{id}}/checkins"
        )
    if kind == "completion_insight" and status != "completed":
        raise NotCompleted(
            f"practice '{practice_id}' is {status}, not completed: a completion insight "
            "looks back on a finished practice. Set its status to completed first, or "
            "ask for checkin_encouragement or weekly_summary",
            details={"status": status},
        )
