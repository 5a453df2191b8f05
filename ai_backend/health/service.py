"""Diagnostics that reach through the queue to a worker."""

from __future__ import annotations

import asyncio
import time

from celery import Celery
from celery.result import AsyncResult

from ai_backend.errors import ServiceUnavailable
from ai_backend.health.schemas import WorkerPing
from ai_backend.infra.queue import enqueue

PING_DEADLINE_SECONDS = 10.0


async def ping_worker(celery: Celery, *, deadline: float = PING_DEADLINE_SECONDS) -> WorkerPing:
    started = time.perf_counter()
    try:
        [task_id] = await enqueue(celery, "system.ping", want_result=True)
    except Exception as exc:  # broker unreachable
        raise ServiceUnavailable(f"the task queue is unreachable: {exc}") from exc
    result: AsyncResult[object] = AsyncResult(task_id, app=celery)
    while time.perf_counter() - started < deadline:
        ready = await asyncio.to_thread(result.ready)
        if ready:
            value = await asyncio.to_thread(result.get, timeout=1)
            if not isinstance(value, dict):
                raise ServiceUnavailable("the worker answered the ping with an unexpected value")
            return WorkerPing(
                task_id=task_id,
                worker=str(value.get("worker")),
                request_id=value.get("request_id"),
                round_trip_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        await asyncio.sleep(0.02)
    result.forget()
    raise ServiceUnavailable(f"no worker answered the ping within {deadline:.0f} s")
