"""Keep the vector index derived from PostgreSQL: it can be rebuilt from the rows at any time.

Each item row carries `fingerprint` (what its point should be) and `indexed_hash` (what the index
holds). A sync walks the rows where they differ: public items are (re)indexed, everything else is
removed from the index. Equal text hashes mean the payload changed but not the text, so the
point's payload and keyword vector (which holds a practice's notes) are rewritten without
embedding again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Table, Update, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import Item, User
from ai_backend.db.points import fingerprint, item_payload, item_text, keyword_text
from ai_backend.db.uow import unit_of_work
from ai_backend.events import Events, ItemsWithdrawn
from ai_backend.infra.embedder import Embedder
from ai_backend.infra.keywords import KeywordEncoder
from ai_backend.infra.vector_index import LAYOUT, VectorIndex, VectorPoint

logger = logging.getLogger(__name__)
Progress = Callable[[int, int], None]

PENDING = or_(
    and_(Item.visibility == "public", Item.indexed_hash.is_distinct_from(Item.fingerprint)),
    and_(Item.visibility != "public", Item.indexed_hash.is_not(None)),
)


# Bumped whenever `item_text` changes what an item's vectors stand for.
ITEM_TEXT = "title-tags-description-v1+notes-keywords"


def index_layout(base: str, text: str, embedder: Embedder, keywords: KeywordEncoder) -> str:
    """What built an index's points: an index built otherwise is rebuilt, never mixed."""
    return f"{base} model={embedder.space} text={text} keywords={keywords.recipe}"


def items_layout(embedder: Embedder, keywords: KeywordEncoder) -> str:
    return index_layout(LAYOUT, ITEM_TEXT, embedder, keywords)


def log_progress(what: str, every: float = 2.0) -> Progress:
    """A progress callback that logs how far a long sync has come, every few seconds."""
    last = 0.0

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= every or done == total:
            last = now
            logger.info(
                "indexing %s: %d of %d", what, done, total, extra={"done": done, "total": total}
            )

    return report


def unindexed(model: type[Item] | type[User]) -> Update:
    """Mark every row of `model` as held by no index (the next sync writes it again)."""
    return update(model).where(model.indexed_hash.is_not(None)).values(indexed_hash=None)


class Refilling:
    """An index derived from rows: `rebuilding` is true while it is being filled again, so that
    answers drawn from it say `degraded` and are not cached."""

    rebuilding = False

    @contextlib.contextmanager
    def refilling(self) -> Iterator[None]:
        self.rebuilding = True
        try:
            yield
        finally:
            self.rebuilding = False


class Indexer(Refilling):
    """Brings the index in step with the item rows, in batches."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        index: VectorIndex,
        embedder: Embedder,
        keywords: KeywordEncoder,
        events: Events,
        batch_size: int = 256,
        optimize_after: float = 3.0,
    ) -> None:
        self.sessions = sessions
        self.events = events
        self.index = index
        self.embedder = embedder
        self.keywords = keywords
        self.batch_size = batch_size
        self.optimize_after = optimize_after
        self._optimizer: asyncio.Task[None] | None = None
        self._wrote = asyncio.Event()
        # One batch at a time, so a rebuild's "clear" never falls inside a batch's
        # upsert-then-mark (which would mark a point indexed that was just deleted).
        self._batch_lock = asyncio.Lock()

    def _written(self) -> None:
        """Note a write; once writes go quiet, build the ANN index for the new segments."""
        self._wrote.set()
        if self._optimizer is None or self._optimizer.done():
            self._optimizer = asyncio.create_task(self._optimize_when_quiet())

    async def _optimize_when_quiet(self) -> None:
        while True:
            self._wrote.clear()
            try:
                await asyncio.wait_for(self._wrote.wait(), self.optimize_after)
            except TimeoutError:
                break  # quiet for long enough
        try:
            await self.index.optimize()
        except Exception:
            logger.exception("index optimisation failed; searches stay exact until the next one")

    @property
    def optimizing(self) -> bool:
        return self._optimizer is not None and not self._optimizer.done()

    async def close(self) -> None:
        if self._optimizer is not None:
            self._optimizer.cancel()
            await asyncio.gather(self._optimizer, return_exceptions=True)

    async def pending(self) -> int:
        async with self.sessions() as session:
            return int(
                await session.scalar(select(func.count()).select_from(Item).where(PENDING)) or 0
            )

    async def resync_if_empty(self) -> int:
        """At start-up: an empty index (new, rebuilt for another model, or lost) means every
        row must go in again. Searches say `degraded` until it is full."""
        if await self.index.count() > 0:
            return await self.sync()
        async with self._batch_lock, unit_of_work(self.sessions) as uow:
            await uow.session.execute(unindexed(Item))
        with self.refilling():
            return await self.sync(progress=log_progress("items"))

    async def sync(
        self, ids: Sequence[str] | None = None, *, progress: Progress | None = None
    ) -> int:
        """Index what is pending (all of it, or only `ids`); return how many rows changed."""
        total = await self.pending() if progress else 0
        done = 0
        after = ""
        while True:
            # One batch, one unit of work: the rows are marked indexed as it commits.
            async with self._batch_lock, unit_of_work(self.sessions) as uow:
                query = select(Item).where(PENDING, Item.id > after).order_by(Item.id)
                if ids is not None:
                    query = query.where(Item.id.in_(ids))
                rows = list((await uow.session.scalars(query.limit(self.batch_size))).all())
                if not rows:
                    return done
                await self._apply(uow.session, rows)
            self._written()
            done += len(rows)
            after = rows[-1].id
            if progress:
                progress(done, max(total, done))

    async def _apply(self, session: AsyncSession, rows: list[Item]) -> None:
        gone = [r for r in rows if r.visibility != "public"]
        public = [r for r in rows if r.visibility == "public"]
        wanted = {r.id: fingerprint(r) for r in public}
        payload_only = [
            r
            for r in public
            if r.indexed_hash and r.indexed_hash.split(":")[0] == wanted[r.id].split(":")[0]
        ]
        fresh = [r for r in public if r not in payload_only]
        stored = await self.index.fetch([r.id for r in payload_only])
        # A point the index lost is embedded again.
        fresh += [r for r in payload_only if r.id not in stored]
        kept = [r for r in payload_only if r.id in stored]
        changed = fresh + kept
        texts = [item_text(r) for r in fresh]
        dense, sparse = await asyncio.gather(
            self._embedded(texts),
            asyncio.to_thread(lambda: [self.keywords.document(keyword_text(r)) for r in changed]),
        )
        vectors = [v.tolist() for v in dense] + [stored[r.id].vector for r in kept]
        await self.index.upsert(
            [
                VectorPoint(key=r.id, vector=v, sparse=s, payload=item_payload(r))
                for r, v, s in zip(changed, vectors, sparse, strict=True)
            ]
        )
        await self.withdraw([r.id for r in gone])
        # Record what the index now holds; a row rewritten meanwhile stays pending.
        if public:
            table = Item.__table__  # Core, for one executemany UPDATE
            assert isinstance(table, Table)
            await session.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"), table.c.fingerprint == bindparam("seen"))
                .values(indexed_hash=bindparam("held"), fingerprint=bindparam("held")),
                [{"row_id": r.id, "seen": r.fingerprint, "held": wanted[r.id]} for r in public],
            )
        if gone:
            await session.execute(
                update(Item).where(Item.id.in_([r.id for r in gone])).values(indexed_hash=None)
            )

    async def _embedded(self, texts: list[str]) -> list[Any]:
        return list(await self.embedder.aencode_passages(texts)) if texts else []

    async def withdraw(self, keys: Sequence[str]) -> None:
        """Remove items from the index and tell whoever holds results that may contain them."""
        if not keys:
            return
        await self.index.delete(keys)
        await self.events.publish(ItemsWithdrawn(tuple(keys)))

    async def rebuild(self, *, progress: Progress | None = None) -> int:
        """Drop every point and index all public items again from PostgreSQL."""
        with self.refilling():
            async with self._batch_lock, unit_of_work(self.sessions) as uow:
                await self.index.clear()
                await uow.session.execute(unindexed(Item))
            indexed = await self.sync(progress=progress)
            await self.index.optimize()
        return indexed
