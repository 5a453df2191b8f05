"""Private servers for tests that stop, restart or kill them: PostgreSQL, Valkey, workers.

Each test that takes the `stack` fixture (in conftest.py) gets its own, so that killing and
restarting them cannot disturb the rest of the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from ai_backend.app import create_app
from ai_backend.db.migrate import upgrade
from ai_backend.db.models import FeedbackJob
from ai_backend.infra.embedded import EmbeddedPostgres, EmbeddedValkey
from ai_backend.infra.embedder import Embedder
from tests.conftest import TimedASGITransport, free_port, make_settings
from tests.eventually import eventually

Auth = Callable[..., dict[str, str]]


@dataclass
class Stack:
    app: FastAPI
    client: httpx.AsyncClient
    valkey: EmbeddedValkey
    postgres: EmbeddedPostgres
    env: dict[str, str]
    log: Path


@contextlib.asynccontextmanager
async def open_stack(tmp_path: Path, embedder: Embedder) -> AsyncIterator[Stack]:
    postgres = EmbeddedPostgres(tmp_path / "pg")
    valkey = EmbeddedValkey(tmp_path / "valkey", free_port())
    database_url, redis_url = postgres.start(), valkey.start()
    await asyncio.to_thread(upgrade, database_url)
    tuning = {
        # Short leases and quick sweeps, so that recovery fits in a test.
        "feedback_lease_seconds": 8,
        "feedback_sweep_seconds": 1.0,
        "feedback_resend_seconds": 4,
    }
    settings = make_settings(tmp_path / "data", database_url, redis_url, **tuning)
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DATA_DIR": str(tmp_path / "data"),
        "FEEDBACK_LEASE_SECONDS": "8",
        "LOG_FORMAT": "json",
    }
    app = create_app(settings, embedder=embedder)
    try:
        async with app.router.lifespan_context(app):
            transport = TimedASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield Stack(app, client, valkey, postgres, env, tmp_path / "workers.log")
    finally:
        valkey.stop()
        postgres.stop()


async def submit(stack: Stack, auth: Auth, count: int) -> list[str]:
    write = auth("write")
    client = stack.client
    await client.put("/v1/users/u1", json={"display_name": "u1"}, headers=write)
    practice = {
        "owner_id": "u1",
        "title": "Daily sketching",
        "duration_days": 30,
        "status": "completed",  # so that a completion insight may be asked for too
    }
    await client.put("/v1/practices/p1", json=practice, headers=write)
    checkin = {"id": "c1", "user_id": "u1", "date": "2026-11-02", "mood": "happy", "note": "a cat"}
    await client.post("/v1/practices/p1/checkins", json=checkin, headers=write)
    ids = []
    for n in range(count):
        response = await client.post(
            "/v1/practices/p1/feedback",
            json={"kind": "checkin_encouragement", "locale": "en", "idempotency_key": f"job-{n}"},
            headers=write,
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["job_id"])
    return ids


async def statuses(stack: Stack) -> Counter[str]:
    async with stack.app.state.resources.sessions() as session:
        rows = await session.execute(
            select(FeedbackJob.status, func.count()).group_by(FeedbackJob.status)
        )
        return Counter(dict(rows.all()))


async def until(
    check: Callable[[Counter[str]], bool], stack: Stack, within: float, what: str
) -> None:
    """Wait until the jobs' counts by status pass `check`; a timeout shows the counts."""

    async def done() -> bool:
        return check(await statuses(stack))

    try:
        await eventually(done, within=within, what=what, every=0.2)
    except AssertionError as timeout:
        raise AssertionError(f"{timeout}: {await statuses(stack)}") from None


def kill(worker: subprocess.Popen[bytes]) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def written_results(log: Path) -> Counter[str]:
    """How many times each job's result was written, from the workers' own log lines."""
    written: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("message") == "feedback written":
                written[record["job_id"]] += 1
    return written
