"""Task shells: ids in, the same service functions the API uses, nothing else."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable
from typing import Any

from celery import Task

from ai_backend.db.models import FeedbackJob
from ai_backend.domain import FEEDBACK_FINAL
from ai_backend.feedback.callbacks import CallbackSender
from ai_backend.feedback.events import announce
from ai_backend.feedback.metrics import count_answer
from ai_backend.feedback.runner import JobRunner
from ai_backend.feedback.service import CALLBACK_TASK, GENERATE_TASK
from ai_backend.infra.queue import send_task
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


def _later(task: str) -> Callable[[str, float], None]:
    def send(job_id: str, delay: float) -> None:
        send_task(app, task, args=[job_id], countdown=delay)

    return send


async def _changed(job: FeedbackJob, status: str) -> None:
    """Wake the job's followers; once it is final, owe its callback."""
    state = await worker_state()
    await announce(state.redis, job.id)
    if status in FEEDBACK_FINAL and job.callback_url:
        # If this message is lost, the sweeper sends it again.
        send_task(app, CALLBACK_TASK, args=[str(job.id)])


async def _counted(source: str, rejected: list[list[str]], trimmed: list[str]) -> None:
    await count_answer((await worker_state()).redis, source, rejected, trimmed)


async def _generate(job_id: str) -> str:
    state = await worker_state()
    runner = JobRunner(
        state.sessions,
        state.provider,
        lease_seconds=state.settings.lease_seconds,
        retry=_later(GENERATE_TASK),
        on_change=_changed,
        on_answer=_counted,
    )
    outcome = await runner.run(uuid.UUID(job_id))
    logger.info("feedback job %s", outcome, extra={"job_id": job_id})
    return outcome


@app.task(name=CALLBACK_TASK)
def deliver_callback(job_id: str) -> str:
    """POST a finished job's result to its callback URL, signed; one attempt per message."""
    return runtime.run(_deliver(job_id))


async def _deliver(job_id: str) -> str:
    state = await worker_state()
    sender = CallbackSender(
        state.sessions,
        state.http,
        secret=state.settings.callback_key(),
        retry=_later(CALLBACK_TASK),
    )
    outcome = await sender.deliver(uuid.UUID(job_id))
    logger.info("feedback callback %s", outcome, extra={"job_id": job_id})
    return outcome
