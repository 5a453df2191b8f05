"""What one worker process keeps between tasks: database sessions, Redis, the LLM (loaded
once) and an HTTP client for callbacks."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.config import Settings, get_settings
from ai_backend.db.session import make_engine, make_session_factory
from ai_backend.feedback.llm import LLMProvider, LocalProvider, OpenAIProvider
from ai_backend.feedback.local_models import ModelFileError, model_path
from ai_backend.infra.cache import make_redis
from worker import runtime

logger = logging.getLogger(__name__)


@dataclass
class WorkerState:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    provider: LLMProvider
    # For result callbacks: no redirects followed, every phase bounded by the timeout.
    http: httpx.AsyncClient


_state: WorkerState | None = None


def make_provider(settings: Settings) -> LLMProvider:
    """`LLM_BASE_URL` set: that OpenAI-compatible server; otherwise the bundled local model."""
    if settings.llm_base_url is not None:
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return OpenAIProvider(
            str(settings.llm_base_url), model=settings.llm_model or "default", api_key=key
        )
    path = model_path(settings.llm_local_model, settings.model_dir)
    return LocalProvider(path, threads=settings.llm_thread_count)


def prepare_model(settings: Settings) -> None:
    """Make the local model's file ready (joined and verified), unless a server is used."""
    if settings.llm_base_url is not None:
        return
    try:
        path = model_path(settings.llm_local_model, settings.model_dir)
    except ModelFileError as exc:
        raise SystemExit(f"the worker cannot start: {exc}") from exc
    logger.info("local model ready", extra={"model": settings.llm_local_model, "path": str(path)})


def warm_up() -> None:
    """Load the local model in this process in the background, so the first job does not wait
    for it (a job that comes sooner waits on the provider's lock)."""
    state = runtime.run(worker_state())
    if isinstance(state.provider, LocalProvider):
        threading.Thread(target=state.provider.load, name="llm-load", daemon=True).start()


async def worker_state() -> WorkerState:
    """Built on first use in each worker process (after the fork), then reused."""
    global _state
    if _state is None:
        settings = get_settings()
        if settings.database_url is None or settings.redis_url is None:
            raise RuntimeError("the worker needs DATABASE_URL and REDIS_URL")
        engine = make_engine(settings.database_url)
        _state = WorkerState(
            settings,
            make_session_factory(engine),
            make_redis(settings.redis_url, max_connections=4),
            make_provider(settings),
            httpx.AsyncClient(
                timeout=settings.callback_timeout_seconds,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=8),
            ),
        )
    return _state
