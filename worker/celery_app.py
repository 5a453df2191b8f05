"""The worker's Celery app: same configuration as the API's producer, plus task registration."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init

from ai_backend.config import get_settings
from ai_backend.infra.queue import REQUEST_ID_HEADER, make_celery
from ai_backend.observability import configure_logging, set_request_id
from worker import runtime

logger = logging.getLogger(__name__)
settings = get_settings()
if settings.redis_url is None:
    raise SystemExit(
        "REDIS_URL is not set: start the worker through `make run`, or point REDIS_URL at Redis"
    )
configure_logging(settings.log_level, settings.log_format)
app = make_celery(settings, str(settings.redis_url))
app.conf.include = ["worker.tasks"]


def request_id_of(task: Task[Any, Any]) -> str | None:
    """Custom message headers land on the request object (protocol 2)."""
    value = getattr(task.request, REQUEST_ID_HEADER, None)
    if value is None and isinstance(task.request.headers, dict):
        value = task.request.headers.get(REQUEST_ID_HEADER)
    return None if value is None else str(value)


@task_prerun.connect
def _bind_request_id(task: Task[Any, Any], **_: Any) -> None:
    set_request_id(request_id_of(task))


@task_postrun.connect
def _unbind_request_id(**_: Any) -> None:
    set_request_id(None)


@worker_init.connect
def _prepare_model(**_: Any) -> None:
    """Join and verify the local model's file before any process takes a job (first start
    only: later starts find it verified). A missing or damaged model stops the worker here,
    with the message saying what to do, instead of failing every job."""
    from worker.state import prepare_model

    prepare_model(settings)


@worker_process_init.connect
def _start_process(**_: Any) -> None:
    runtime.start()
    from worker.state import warm_up

    warm_up()
