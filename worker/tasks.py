"""Task shells: ids in, the same service functions the API uses, nothing else."""

from __future__ import annotations

import logging
import socket
from typing import Any

from celery import Task

from worker.celery_app import app, request_id_of

logger = logging.getLogger(__name__)


@app.task(name="system.ping", bind=True)
def ping(self: Task[Any, Any]) -> dict[str, str | None]:
    """Answer with who ran the task and the request id that reached it."""
    logger.info("pong")
    return {
        "worker": self.request.hostname or socket.gethostname(),
        "request_id": request_id_of(self),
    }
