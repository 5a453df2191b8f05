"""Re-sends feedback jobs whose message was lost or whose worker died: nothing accepted is lost.

Every `interval` seconds one API process (a Redis lock picks it) looks for two kinds of job:
- `running` with an expired lease: its worker died or hangs;
- `queued` and due: its message was lost (Redis restarted without it) or is stuck;
in both cases only when the last message for it went out more than `resend_after` seconds ago.
Each gets a new message. A duplicate is harmless: only one worker can claim a job.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from celery import Celery
from redis.asyncio import Redis
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import FeedbackJob
from ai_backend.feedback.service import GENERATE_TASK
from ai_backend.infra.background import BackgroundLoop
from ai_backend.infra.queue import send_task

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
        """Send again what needs it; return how many jobs were sent."""
        now = datetime.now(UTC)
        abandoned = and_(FeedbackJob.status == "running", FeedbackJob.lease_expires_at < now)
        due = and_(FeedbackJob.status == "queued", FeedbackJob.next_attempt_at <= now)
        # Either way, once a message went out it gets `resend_after` to be picked up.
        quiet = FeedbackJob.sent_at < now - self.resend_after
        async with self.sessions() as session:
            ids = list(
                await session.scalars(
                    update(FeedbackJob)
                    .where(
                        FeedbackJob.id.in_(
                            select(FeedbackJob.id)
                            .where(or_(abandoned, due), quiet)
                            .limit(BATCH)
                            .scalar_subquery()
                        )
                    )
                    .values(sent_at=now)
                    .returning(FeedbackJob.id)
                )
            )
            await session.commit()
        for job_id in ids:
            send_task(self.celery, GENERATE_TASK, args=[str(job_id)])
        if ids:
            logger.info("feedback jobs sent again", extra={"jobs": len(ids)})
        return len(ids)
