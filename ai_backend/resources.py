"""The long-lived clients one API process holds, built once in the lifespan."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from celery import Celery
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ai_backend.config import Settings
from ai_backend.db.session import make_engine, make_session_factory
from ai_backend.infra.cache import make_redis
from ai_backend.infra.embedder import Embedder
from ai_backend.infra.queue import make_celery
from ai_backend.infra.vector_index import EdgeVectorIndex, ServerVectorIndex, VectorIndex

logger = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 2.0


class MissingServerError(RuntimeError):
    """The API was started without the servers it needs."""


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    index: VectorIndex
    embedder: Embedder
    celery: Celery
    jwt_key: str

    @classmethod
    async def open(cls, settings: Settings, *, embedder: Embedder | None = None) -> Resources:
        if settings.database_url is None or settings.redis_url is None:
            raise MissingServerError(
                "DATABASE_URL and REDIS_URL must be set for the API process; "
                "`make run` (daodao-ai run) starts embedded servers and sets them for you"
            )
        if embedder is None:
            embedder = await asyncio.to_thread(
                Embedder, settings.embedding_model, batch_size=settings.embedding_batch_size
            )
        if settings.qdrant_url:
            api_key = (
                settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
            )
            index: VectorIndex = await ServerVectorIndex.connect(
                settings.qdrant_url,
                collection=settings.qdrant_collection,
                dimension=embedder.dimension,
                api_key=api_key,
            )
        else:
            index = EdgeVectorIndex(settings.vector_dir, embedder.dimension)
        engine = make_engine(str(settings.database_url))
        redis_url = str(settings.redis_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            redis=make_redis(redis_url, max_connections=settings.redis_max_connections),
            index=index,
            embedder=embedder,
            celery=make_celery(settings, redis_url),
            jwt_key=settings.jwt_key(),
        )

    async def close(self) -> None:
        await self.index.close()
        await self.redis.aclose()
        await self.engine.dispose()

    async def readiness(self) -> dict[str, str]:
        """Ask every dependency to answer; report 'ok' or why not, per part."""
        checks = {
            "postgres": self._check_postgres(),
            "redis": self._check_redis(),
            "vector_index": self.index.count(),
            "embedding_model": asyncio.to_thread(self.embedder.answers),
        }
        names = list(checks)
        outcomes = await asyncio.gather(
            *(asyncio.wait_for(c, CHECK_TIMEOUT_SECONDS) for c in checks.values()),
            return_exceptions=True,
        )
        report: dict[str, str] = {}
        for name, outcome in zip(names, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                reason = type(outcome).__name__
                detail = str(outcome).splitlines()[0][:200] if str(outcome) else ""
                report[name] = f"error: {reason}{': ' + detail if detail else ''}"
            else:
                report[name] = "ok"
        return report

    async def _check_postgres(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def _check_redis(self) -> None:
        await self.redis.ping()
