"""Keeps the collaborative model current, on a schedule, in the background.

Embedded mode (Qdrant Edge): the API process trains the model itself, in a thread.
Server mode (QDRANT_URL set): a Celery worker trains it (task `recommend.train`) and publishes
it in Redis; every API process loads each new version it sees.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from celery import Celery
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import Item
from ai_backend.errors import ServiceUnavailable
from ai_backend.history.actions import actions_query
from ai_backend.infra.background import BackgroundLoop
from ai_backend.infra.queue import enqueue
from ai_backend.recommend.model import CollaborativeModel, Interaction, fit

logger = logging.getLogger(__name__)
MODEL_KEY = "reco:model"
MODEL_ID_KEY = "reco:model:id"
TRAIN_LOCK_KEY = "reco:model:training"
TRAIN_TASK = "recommend.train"
POLL_SECONDS = 5.0


async def load_interactions(sessions: async_sessionmaker[AsyncSession]) -> list[Interaction]:
    """Every action on a public item: what the model learns from."""
    actions = actions_query()
    query = select(
        actions.c.user_id, actions.c.item_id, actions.c.type, actions.c.occurred_at, Item.kind
    ).join(Item, (Item.id == actions.c.item_id) & (Item.visibility == "public"))
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return [Interaction(r[0], r[1], r[2], r[3], r[4]) for r in rows]


class Trainer:
    """Loads interactions and fits a model; the worker and the embedded API both use it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_items: int,
        l2: float,
        half_life_days: float,
    ) -> None:
        self.sessions = sessions
        self.max_items = max_items
        self.l2 = l2
        self.half_life_days = half_life_days

    async def train(self) -> CollaborativeModel:
        rows = await load_interactions(self.sessions)
        return await asyncio.to_thread(
            fit,
            rows,
            max_items=self.max_items,
            l2=self.l2,
            half_life_days=self.half_life_days,
        )


async def publish(redis: Redis, model: CollaborativeModel) -> str:
    """Store a trained model for API processes to load."""
    model_id = str(time.time_ns())
    raw = await asyncio.to_thread(model.to_bytes)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(MODEL_KEY, raw)
        pipe.set(MODEL_ID_KEY, model_id)
        await pipe.execute()
    return model_id


class ModelRefresher(BackgroundLoop):
    def __init__(
        self,
        trainer: Trainer,
        *,
        redis: Redis,
        celery: Celery | None,
        interval: float,
        on_new_model: Callable[[], None] | None = None,
    ) -> None:
        self.trainer = trainer
        self.redis = redis
        # None: train here (embedded mode); otherwise ask a worker.
        self.celery = celery
        self.interval = interval
        self.on_new_model = on_new_model
        self.model = CollaborativeModel.empty()
        self._loaded_id: str | None = None
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()

    async def _loop(self) -> None:
        next_training = 0.0
        while True:
            try:
                if time.monotonic() >= next_training:
                    next_training = time.monotonic() + self.interval
                    await self.refresh(wait=False)
                if self.celery is not None:
                    await self._load_published()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("collaborative model refresh failed; keeping the last one")
            await asyncio.sleep(POLL_SECONDS if self.celery is not None else self.interval)

    async def refresh(self, *, wait: bool, within: float = 600.0) -> CollaborativeModel:
        """Train now (embedded) or ask a worker to (server); with `wait`, until it is loaded."""
        if self.celery is None:
            async with self._lock:
                self._install(await self.trainer.train())
            return self.model
        before = self._loaded_id
        if await self.redis.set(TRAIN_LOCK_KEY, "1", nx=True, ex=int(within)):
            await enqueue(self.celery, TRAIN_TASK)
        if not wait:
            return self.model
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if await self._load_published() and self._loaded_id != before:
                return self.model
            await asyncio.sleep(0.2)
        raise ServiceUnavailable("no worker published a model in time", retry_after=30)

    async def close(self) -> None:
        for task in [*self._pending]:
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        await super().close()

    def retrain_soon(self) -> None:
        """Train again now, in the background, without waiting for the schedule."""
        task = asyncio.create_task(self._retrain())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _retrain(self) -> None:
        try:
            await self.refresh(wait=False)
        except Exception:
            logger.exception("collaborative model retraining failed; keeping the last one")

    async def _load_published(self) -> bool:
        raw_id = await self.redis.get(MODEL_ID_KEY)
        model_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
        if model_id is None or model_id == self._loaded_id:
            return model_id is not None
        raw = await self.redis.get(MODEL_KEY)
        if raw is None:
            return False
        blob = raw if isinstance(raw, bytes) else str(raw).encode()
        self._install(await asyncio.to_thread(CollaborativeModel.from_bytes, blob))
        self._loaded_id = model_id
        return True

    def _install(self, model: CollaborativeModel) -> None:
        self.model = model
        logger.info(
            "collaborative model loaded",
            extra={"items": len(model.item_ids), "users": model.users, "took_ms": model.took_ms},
        )
        if self.on_new_model is not None:
            self.on_new_model()
