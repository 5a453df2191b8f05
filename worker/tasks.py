"""Task shells: ids in, the same service functions the API uses, nothing else."""

from __future__ import annotations

import logging
import socket
import uuid
from typing import Any

from celery import Task

from ai_backend.feedback.runner import JobRunner
from ai_backend.feedback.service import GENERATE_TASK
from ai_backend.recommend.refresh import TRAIN_LOCK_KEY, TRAIN_TASK, Trainer, publish
from worker import runtime
from worker.celery_app import app, request_id_of
from worker.state import worker_state

logger = logging.getLogger(__name__)


@app.task(name="system.ping", bind=True)
def ping(self: Task[Any, Any]) -> dict[str, str | None]:
    """Answer with who ran the task and the request id that reached it."""
    logger.info("pong")
    return {
        "worker": self.request.hostname or socket.gethostname(),
        "request_id": request_id_of(self),
    }


@app.task(name=TRAIN_TASK)
def train_recommender() -> dict[str, int | str]:
    """Fit the collaborative model from PostgreSQL and publish it in Redis for the API."""
    return runtime.run(_train())


async def _train() -> dict[str, int | str]:
    state = await worker_state()
    settings = state.settings
    trainer = Trainer(
        state.sessions,
        max_items=settings.reco_model_max_items,
        l2=settings.reco_model_l2,
        half_life_days=settings.reco_half_life_days,
    )
    try:
        model = await trainer.train()
        model_id = await publish(state.redis, model)
    finally:
        await state.redis.delete(TRAIN_LOCK_KEY)
    logger.info("collaborative model published", extra={"items": len(model.item_ids)})
    return {"model_id": model_id, "items": len(model.item_ids), "users": model.users}


@app.task(name=GENERATE_TASK)
def generate_feedback(job_id: str) -> str:
    """Write the feedback for one job (a duplicate or late message finds it taken or done)."""
    return runtime.run(_generate(job_id))


def _retry_later(job_id: str, delay: float) -> None:
    app.send_task(GENERATE_TASK, args=[job_id], countdown=delay)


async def _generate(job_id: str) -> str:
    state = await worker_state()
    runner = JobRunner(
        state.sessions,
        state.provider,
        lease_seconds=state.settings.lease_seconds,
        retry=_retry_later,
    )
    outcome = await runner.run(uuid.UUID(job_id))
    logger.info("feedback job %s", outcome, extra={"job_id": job_id})
    return outcome
