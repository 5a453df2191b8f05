"""The Celery application, configured from Settings; the API only sends tasks by name."""

from __future__ import annotations

from typing import Any

from celery import Celery

from ai_backend.config import Settings
from ai_backend.observability import current_request_id

REQUEST_ID_HEADER = "request_id"


def make_celery(settings: Settings, redis_url: str) -> Celery:
    app = Celery("daodao", broker=redis_url, backend=redis_url)
    transport = {"visibility_timeout": settings.broker_visibility_timeout}
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # A task is acknowledged only after it finishes, and re-queued if its worker dies,
        # so a crash mid-task never loses the task.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        # Must exceed the hard limit, or Redis redelivers tasks that are still running.
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        result_expires=86_400,
        task_track_started=True,
        task_default_queue="daodao",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
        timezone="UTC",
    )
    return app


def send_task(app: Celery, name: str, *, args: list[Any] | None = None) -> str:
    """Enqueue by name with ids only, carrying the current request id in the headers."""
    result = app.send_task(name, args=args or [], headers={REQUEST_ID_HEADER: current_request_id()})
    return str(result.id)
