"""Readiness (every dependency asked to answer), what runs before a metrics scrape, and
diagnostics that reach through the queue to a worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from celery import Celery
from celery.result import AsyncResult

from ai_backend.errors import ServiceUnavailable
from ai_backend.health.schemas import WorkerPing
from ai_backend.infra.queue import enqueue

PING_DEADLINE_SECONDS = 10.0
CHECK_TIMEOUT_SECONDS = 2.0
Probe = Callable[[], Awaitable[object]]


class ReadinessChecks:
    """The dependencies `/readyz` asks to answer, each by a probe that returns when it does."""

    def __init__(self, probes: dict[str, Probe], *, timeout: float = CHECK_TIMEOUT_SECONDS) -> None:
        self.probes = probes
        self.timeout = timeout

    async def report(self) -> dict[str, str]:
        """Ask every dependency at once; 'ok' or why not, per dependency."""
        outcomes = await asyncio.gather(
            *(asyncio.wait_for(probe(), self.timeout) for probe in self.probes.values()),
            return_exceptions=True,
        )
        report: dict[str, str] = {}
        for name, outcome in zip(self.probes, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                reason = type(outcome).__name__
                detail = str(outcome).splitlines()[0][:200] if str(outcome) else ""
                report[name] = f"error: {reason}{': ' + detail if detail else ''}"
            else:
                report[name] = "ok"
        return report


# Run before `/metrics` renders, to bring counters kept elsewhere (in Redis, by the workers)
# up to date. Each feature that keeps such counters gives one.
ScrapeHook = Callable[[], Awaitable[None]]


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
