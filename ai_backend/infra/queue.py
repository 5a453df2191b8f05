"""The Celery application, configured from Settings; the API only sends tasks by name."""

from __future__ import annotations

import asyncio
from typing import Any

from celery import Celery

from ai_backend.config import Settings
from ai_backend.observability import current_request_id

REQUEST_ID_HEADER = "request_id"
# With the broker away, a publish gives up after about half a second instead of blocking:
# the caller answers 503 (or, for the sweeper, tries again next round).
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.3}


def make_celery(settings: Settings, redis_url: str) -> Celery:
    app = Celery("daodao", broker=redis_url, backend=redis_url)
    transport = {
        "visibility_timeout": settings.broker_visibility_timeout,
        "socket_connect_timeout": 2,
    }
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # A task is acknowledged only after it finishes, and re-queued if its worker dies,
        # so a crash mid-task never loses the task.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_processes,
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
        timezone="UTC",
    )
    return app


def send_task(
    app: Celery,
    name: str,
    *,
    args: list[Any] | None = None,
    countdown: float | None = None,
    want_result: bool = False,
) -> str:
    """Enqueue by name with ids only, carrying the current request id in the headers.

    Outcomes live in PostgreSQL, so by default the sender neither subscribes to a result (the
    Redis backend would subscribe once per task) nor has the worker store one.
    """
    result = app.send_task(
        name,
        args=args or [],
        countdown=countdown,
        headers={REQUEST_ID_HEADER: current_request_id()},
        retry=True,
        retry_policy=PUBLISH_RETRY,
        ignore_result=not want_result,
    )
    return str(result.id)


async def enqueue(
    app: Celery, name: str, *arg_lists: list[Any], want_result: bool = False
) -> list[str]:
    """`send_task` once per argument list (once with none if none are given), from a thread so
    that a slow or unreachable broker never stalls the event loop; the request id goes along
    with the context."""

    def publish() -> list[str]:
        return [
            send_task(app, name, args=args, want_result=want_result) for args in arg_lists or [[]]
        ]

    return await asyncio.to_thread(publish)
