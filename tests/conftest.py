"""Real servers, started once per test session: PostgreSQL, Valkey, the embedding model.

Set TEST_DATABASE_URL and TEST_REDIS_URL to run against servers you already have; the suite
wipes that database's public schema and that Redis database at the start.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import redis
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ai_backend.app import create_app
from ai_backend.auth import issue_token
from ai_backend.config import Settings
from ai_backend.db.migrate import upgrade
from ai_backend.infra.embedded import EmbeddedPostgres, EmbeddedValkey
from ai_backend.infra.embedder import Embedder

if TYPE_CHECKING:
    from tests.stack import Stack

JWT_SECRET = "test-secret-" + "x" * 60
PROJECT_ROOT = Path(__file__).resolve().parents[1]
ISSUER = "daodao-ai"
# Several llama.cpp processes share the cores here (the session's worker, a test's own workers,
# the OpenAI-compatible server): short OpenMP spins keep them from starving each other. The
# service sets the same for its own workers (see LocalProvider).
os.environ.setdefault("GOMP_SPINCOUNT", "1000")

# pytest keeps the temporary folders of the last three sessions under one root per user and
# deletes older ones when a session starts: a second checkout's run on the same machine (CI's
# clean clone beside a working copy) would delete this one's live servers' folders. Each
# checkout gets a root of its own (short: PostgreSQL's socket path must stay under 108 bytes).
_CHECKOUT = hashlib.sha256(str(PROJECT_ROOT).encode()).hexdigest()[:10]
TEMP_ROOT = Path(tempfile.gettempdir()) / f"daodao-tests-{_CHECKOUT}"
TEMP_ROOT.mkdir(exist_ok=True)
os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", str(TEMP_ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def claims(**overrides: object) -> dict[str, object]:
    """JWT claims this service accepts, changed by `overrides` (None drops a claim)."""
    now = int(time.time())
    base: dict[str, object] = {
        "sub": "t",
        "scope": "read",
        "iat": now,
        "exp": now + 60,
        "iss": ISSUER,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    server = None
    if url is None:
        server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
        url = server.start()
    else:
        import asyncio

        async def wipe() -> None:
            engine = create_async_engine(url)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()

        asyncio.run(wipe())
    upgrade(url)
    yield url
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    server = None
    if url is None:
        server = EmbeddedValkey(tmp_path_factory.mktemp("valkey"), free_port())
        url = server.start()
    redis.Redis.from_url(url).flushdb()
    yield url
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def worker_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker") / "worker.log"


def start_worker(
    env: dict[str, str], log: Path, *, pool: str = "solo", name: str = "test-worker"
) -> subprocess.Popen[bytes]:
    """A real Celery worker in its own process group (so a test can kill all of it).

    It runs the small SmolLM2 unless `env` names another model: the tests of the pipeline's
    durability need many quick jobs, not good answers (`test_feedback_quality.py` runs the
    default model)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.celery_app:app",
                "worker",
                "--pool",
                pool,
                "--loglevel",
                "INFO",
                "--hostname",
                f"{name}@%h",
            ],
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                "JWT_SECRET": "unused-by-the-worker",
                "LLM_LOCAL_MODEL": "smollm2-135m",
                **env,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.fixture(scope="session")
def worker(settings: Settings, worker_log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        "REDIS_URL": str(settings.redis_url),
        "DATABASE_URL": str(settings.database_url),
        "DATA_DIR": str(settings.data_dir),
    }
    process = start_worker(env, worker_log)
    yield process
    process.terminate()
    process.wait(timeout=20)


# ASGITransport has no timeouts of its own: a request that hangs would hang the run. This long
# is far beyond any answer's time, so hitting it is a failure that names the request.
REQUEST_SECONDS = 120


class TimedASGITransport(httpx.ASGITransport):
    """An in-process transport whose requests fail after REQUEST_SECONDS instead of hanging."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        deadline = asyncio.timeout(REQUEST_SECONDS)
        try:
            async with deadline:
                return await super().handle_async_request(request)
        except TimeoutError:
            if not deadline.expired():
                raise  # the app's own, not ours
            raise AssertionError(
                f"{request.method} {request.url} got no answer in {REQUEST_SECONDS} s"
            ) from None


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return Embedder(cache_dir=tmp_path_factory.mktemp("models"))


def make_settings(
    data_dir: Path, database_url: str, redis_url: str, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "redis_url": redis_url,
        "jwt_secret": JWT_SECRET,
        "load_demo_data": False,
        **overrides,
    }
    return Settings.model_validate(values)


@pytest.fixture(scope="session")
def settings(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> Settings:
    return make_settings(tmp_path_factory.mktemp("data"), database_url, redis_url)


@pytest.fixture(scope="session")
async def app(settings: Settings, embedder: Embedder) -> AsyncIterator[FastAPI]:
    application = create_app(settings, embedder=embedder)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = TimedASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(scope="session")
def token() -> Callable[..., str]:
    def mint(*scopes: str, ttl: int = 300, sub: str = "tests") -> str:
        return issue_token(
            JWT_SECRET, scopes=list(scopes), subject=sub, ttl_seconds=ttl, issuer=ISSUER
        )

    return mint


@pytest.fixture
def auth(token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    def headers(*scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(*scopes)}"}

    return headers


@pytest.fixture
async def stack(tmp_path: Path, embedder: Embedder) -> AsyncIterator[Stack]:
    """An API on private PostgreSQL and Valkey servers, for tests that stop or kill them."""
    from tests.stack import open_stack

    async with open_stack(tmp_path, embedder) as opened:
        yield opened


@pytest.fixture
def unique() -> str:
    """A fresh marker (letters only, so every tokenizer keeps it whole) for ids and search terms."""
    return "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:12])
