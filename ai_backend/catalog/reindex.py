"""Full index rebuilds as background jobs whose progress any API process can report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Literal

from pydantic import BaseModel
from redis.asyncio import Redis

from ai_backend.catalog.indexing import Indexer
from ai_backend.catalog.people import PeopleIndexer
from ai_backend.errors import Conflict, NotFound, ServiceUnavailable

logger = logging.getLogger(__name__)
KEY = "reindex:v1:{job_id}"
RUNNING_KEY = "reindex:v1:running"
TTL_SECONDS = 7 * 86_400
# The "running" claim expires unless progress refreshes it, so a crashed process frees it.
CLAIM_SECONDS = 120
REPORT_SECONDS = 0.5


class ReindexStatus(BaseModel):
    job_id: str
    status: Literal["running", "succeeded", "failed"]
    done: int
    total: int
    started_at: float
    finished_at: float | None = None
    error: str | None = None


class ReindexJobs:
    """One rebuild at a time; state lives in Redis so a poll may reach any API process."""

    def __init__(self, indexer: Indexer, people: PeopleIndexer, redis: Redis) -> None:
        self.indexer = indexer
        self.people = people
        self.redis = redis
        self._tasks: set[asyncio.Task[None]] = set()

    async def _save(self, state: ReindexStatus) -> None:
        await self.redis.set(
            KEY.format(job_id=state.job_id), state.model_dump_json(), ex=TTL_SECONDS
        )
        if state.status == "running":
            await self.redis.expire(RUNNING_KEY, CLAIM_SECONDS)

    async def start(self) -> ReindexStatus:
        job_id = uuid.uuid4().hex
        try:
            claimed = await self.redis.set(RUNNING_KEY, job_id, nx=True, ex=CLAIM_SECONDS)
        except Exception as exc:
            raise ServiceUnavailable(
                f"cannot record reindex progress: Redis is unreachable ({exc})"
            ) from exc
        if not claimed:
            running = await self.redis.get(RUNNING_KEY)
            holder = running.decode() if isinstance(running, bytes) else running
            raise Conflict("a reindex is already running", details={"job_id": holder})
        state = ReindexStatus(
            job_id=job_id,
            status="running",
            done=0,
            total=await self.indexer.pending(),
            started_at=time.time(),
        )
        await self._save(state)
        task = asyncio.create_task(self._run(state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return state

    async def _run(self, state: ReindexStatus) -> None:
        def progress(done: int, total: int) -> None:
            state.done, state.total = done, total

        finished = asyncio.Event()
        reporter = asyncio.create_task(self._report(state, finished))
        try:
            await self.indexer.rebuild(progress=progress)
            await self.people.rebuild()
            state.status = "succeeded"
        except Exception as exc:
            logger.exception("reindex failed")
            state.status, state.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            # The reporter stops before the final state is written, so that a late progress
            # save can never overwrite it.
            finished.set()
            await reporter
            state.finished_at = time.time()
            await self._save(state)
            await self.redis.delete(RUNNING_KEY)

    async def _report(self, state: ReindexStatus, finished: asyncio.Event) -> None:
        """Save the running job's progress every REPORT_SECONDS until it finishes."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), REPORT_SECONDS)
            if finished.is_set():
                return
            try:
                await self._save(state.model_copy())
            except Exception as exc:  # Redis away: the next round tries again
                logger.warning("cannot save reindex progress: %s", exc)

    async def get(self, job_id: str) -> ReindexStatus:
        raw = await self.redis.get(KEY.format(job_id=job_id))
        if raw is None:
            raise NotFound(f"no reindex job '{job_id}'")
        return ReindexStatus.model_validate_json(raw)

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
