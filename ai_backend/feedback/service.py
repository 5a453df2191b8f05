"""Feedback requests on the API side: the job row is committed first, the message sent after.

PostgreSQL is the ledger. A request inserts a `queued` job (or finds the one its idempotency key
already names) and commits; only then does the Celery message go out. If the broker cannot take
it, the new job is removed again and the caller gets 503, so nothing is left half-written.
"""

from __future__ import annotations

import uuid
from typing import Any

from celery import Celery
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import Checkin, FeedbackJob, Practice
from ai_backend.errors import Conflict, Invalid, NotFound, ServiceUnavailable
from ai_backend.feedback.schemas import Callback, FeedbackJobView, FeedbackRequest
from ai_backend.infra.queue import send_task
from ai_backend.observability import current_request_id

GENERATE_TASK = "feedback.generate"
# Kinds that are about check-ins cannot be written without one.
NEEDS_CHECKIN = frozenset({"checkin_encouragement", "weekly_summary"})


class NoCheckins(Invalid):
    code = "no_checkins"


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
        error=job.error,
        callback=callback,
    )


class FeedbackService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], celery: Celery) -> None:
        self.sessions = sessions
        self.celery = celery

    async def request(self, practice_id: str, body: FeedbackRequest) -> tuple[FeedbackJob, bool]:
        """The job for this request, and whether this call created it."""
        async with self.sessions() as session:
            practice = await session.get(Practice, practice_id)
            if practice is None:
                raise NotFound(f"no practice with id '{practice_id}'; upsert it first")
            latest = await session.scalar(
                select(Checkin.id)
                .where(Checkin.practice_id == practice_id)
                .order_by(Checkin.checkin_date.desc(), Checkin.created_at.desc())
                .limit(1)
            )
            if latest is None and body.kind in NEEDS_CHECKIN:
                raise NoCheckins(
                    f"kind '{body.kind}' needs at least one check-in on practice "
                    f"'{practice_id}'; record one with POST /v1/practices/{{id}}/checkins"
                )
            key = body.idempotency_key or f"auto:{practice_id}:{body.kind}:{latest or '-'}"
            row: dict[str, Any] = {
                "id": uuid.uuid4(),
                "practice_id": practice_id,
                "checkin_id": latest,
                "user_id": practice.owner_id,
                "kind": body.kind,
                "locale": body.locale,
                "idempotency_key": key,
                "callback_url": str(body.callback_url) if body.callback_url else None,
                "callback_status": "pending" if body.callback_url else None,
                "request_id": current_request_id(),
            }
            created = await session.scalar(
                insert(FeedbackJob)
                .values(row)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(FeedbackJob.id)
            )
            await session.commit()
            job = await session.scalar(
                select(FeedbackJob).where(FeedbackJob.idempotency_key == key)
            )
        assert job is not None
        if created is None:
            if job.practice_id != practice_id or job.kind != body.kind:
                raise Conflict(
                    "idempotency_key was already used for another request "
                    f"(practice '{job.practice_id}', kind '{job.kind}')",
                    details={"job_id": str(job.id)},
                )
            return job, False
        try:
            send_task(self.celery, GENERATE_TASK, args=[str(job.id)])
        except Exception as exc:
            async with self.sessions() as session:
                await session.execute(delete(FeedbackJob).where(FeedbackJob.id == job.id))
                await session.commit()
            raise ServiceUnavailable(
                f"the job queue is unreachable ({type(exc).__name__}); nothing was stored, "
                "try again shortly",
                retry_after=5,
            ) from exc
        return job, True

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
