"""Re-sends feedback jobs whose message was lost or whose worker died: nothing accepted is lost.

Every `interval` seconds one API process (a Redis lock picks it) looks for three kinds of job:
- `running` with an expired lease: its worker died or hangs;
- `queued` and due: its message was lost (Redis restarted without it) or is stuck;
- finished with a callback still owed: its delivery message was lost or its sender died;
in each case only when the last message for it went out more than `resend_after` seconds ago.
Each gets a new message. A duplicate is harmless: only one worker can claim a job, and only
one sender an attempt.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

from celery import Celery
from redis.asyncio import Redis
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import FeedbackJob
from ai_backend.db.uow import unit_of_work
from ai_backend.domain import FEEDBACK_FINAL
from ai_backend.feedback.service import CALLBACK_TASK, GENERATE_TASK
from ai_backend.infra.background import BackgroundLoop
from ai_backend.infra.queue import enqueue

logger = logging.getLogger(__name__)
LOCK_KEY = "feedback:sweeper"
BATCH = 500


class Sweeper(BackgroundLoop):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        celery: Celery,
        redis: Redis,
        *,
        interval: float,
        resend_after: float,
    ) -> None:
        self.sessions = sessions
        self.celery = celery
        self.redis = redis
        self.interval = interval
        self.resend_after = timedelta(seconds=resend_after)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                lease = max(1, int(self.interval))
                if await self.redis.set(LOCK_KEY, "1", nx=True, ex=lease):
                    await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Redis or PostgreSQL away: the next round tries again.
                logger.warning("feedback sweep skipped: %s", exc)

    async def sweep(self) -> int:
        """Send again what needs it; return how many messages went out."""
        now = datetime.now(UTC)
        # Either way, once a message went out it gets `resend_after` to be picked up.
        quiet = now - self.resend_after
        abandoned = and_(FeedbackJob.status == "running", FeedbackJob.lease_expires_at < now)
        due = and_(FeedbackJob.status == "queued", FeedbackJob.next_attempt_at <= now)
        jobs = await self._take(and_(or_(abandoned, due), FeedbackJob.sent_at < quiet), sent_at=now)
        # A finished job whose callback is still owed and whose last attempt went quiet.
        owed = and_(
            FeedbackJob.callback_status == "pending",
            FeedbackJob.status.in_(FEEDBACK_FINAL),
            FeedbackJob.callback_next_at < quiet,
        )
        callbacks = await self._take(owed, callback_next_at=now)
        if jobs:
            await enqueue(self.celery, GENERATE_TASK, *([str(i)] for i in jobs))
        if callbacks:
            await enqueue(self.celery, CALLBACK_TASK, *([str(i)] for i in callbacks))
        if jobs or callbacks:
            logger.info(
                "feedback messages sent again",
                extra={"jobs": len(jobs), "callbacks": len(callbacks)},
            )
        return len(jobs) + len(callbacks)

    async def _take(self, condition: ColumnElement[bool], **mark: object) -> list[uuid.UUID]:
        """Mark up to `BATCH` matching jobs as sent now, and return their ids."""
        async with unit_of_work(self.sessions) as uow:
            ids = list(
                await uow.session.scalars(
                    update(FeedbackJob)
                    .where(
                        FeedbackJob.id.in_(
                            select(FeedbackJob.id).where(condition).limit(BATCH).scalar_subquery()
                        )
                    )
                    .values(**mark)
                    .returning(FeedbackJob.id)
                )
            )
        return ids
