"""Private servers for tests that stop, restart or kill them, or need other settings:
PostgreSQL, Valkey, the API, workers.

Each test that takes the `stack` fixture (in conftest.py) or opens `open_stack` or
`private_servers` gets its own, so that killing and restarting them cannot disturb the rest of
the suite. This is the one place private servers are started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
class Servers:
    postgres: EmbeddedPostgres
    valkey: EmbeddedValkey
    database_url: str
    redis_url: str


@contextlib.contextmanager
def private_servers(root: Path) -> Iterator[Servers]:
    """A PostgreSQL (migrated) and a Valkey of the test's own under `root`, stopped at the end
    (stopping one the test already stopped is fine)."""
    postgres = EmbeddedPostgres(root / "pg")
    valkey = EmbeddedValkey(root / "valkey", free_port())
    try:
        database_url, redis_url = postgres.start(), valkey.start()
        # In a thread of its own: the migration runs its own event loop, and the caller may be
        # inside one.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(upgrade, database_url).result()
        yield Servers(postgres, valkey, database_url, redis_url)
    finally:
        valkey.stop()
        postgres.stop()


@dataclass
class Stack:
    app: FastAPI
    client: httpx.AsyncClient
    valkey: EmbeddedValkey
    postgres: EmbeddedPostgres
    env: dict[str, str]
    log: Path


# Short leases and quick sweeps, so that a worker's recovery fits in a test.
FEEDBACK_TUNING: dict[str, Any] = {
    "feedback_lease_seconds": 8,
    "feedback_sweep_seconds": 1.0,
    "feedback_resend_seconds": 4,
}


@contextlib.asynccontextmanager
async def open_stack(
    tmp_path: Path, embedder: Embedder, *, after_index_sync: bool = False, **settings: Any
) -> AsyncIterator[Stack]:
    """The API on private servers, started (and, with `after_index_sync`, past its start-up
    index sync), with a client; `settings` override the test defaults."""
    with private_servers(tmp_path) as servers:
        tuned = {**FEEDBACK_TUNING, **settings}
        data = tmp_path / "data"
        env = {
            "DATABASE_URL": servers.database_url,
            "REDIS_URL": servers.redis_url,
            "DATA_DIR": str(data),
            "FEEDBACK_LEASE_SECONDS": str(tuned["feedback_lease_seconds"]),
            "LOG_FORMAT": "json",
        }
        app = create_app(
            make_settings(data, servers.database_url, servers.redis_url, **tuned),
            embedder=embedder,
        )
        async with app.router.lifespan_context(app):
            if after_index_sync:
                await app.state.index_sync
            transport = TimedASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield Stack(
                    app, client, servers.valkey, servers.postgres, env, tmp_path / "workers.log"
                )


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
