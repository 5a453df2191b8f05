"""Keep the vector index derived from PostgreSQL: it can be rebuilt from the rows at any time."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import Item
from ai_backend.infra.embedder import Embedder
from ai_backend.infra.vector_index import VectorIndex, VectorPoint

logger = logging.getLogger(__name__)
BATCH = 256


def item_text(item: Item) -> str:
    """The text a vector stands for: title, tags and description."""
    tags = " ".join(f"#{t}" for t in item.tags)
    return f"{item.title}\n{tags}\n{item.description}".strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def item_payload(item: Item) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "level": item.level,
        "language": item.language,
        "category": item.category,
        "tags": list(item.tags),
        "owner_id": item.owner_id,
    }


async def index_items(items: Sequence[Item], *, index: VectorIndex, embedder: Embedder) -> None:
    texts = [item_text(i) for i in items]
    vectors = await embedder.aencode(texts)
    await index.upsert(
        [
            VectorPoint(key=item.id, vector=vector.tolist(), payload=item_payload(item))
            for item, vector in zip(items, vectors, strict=True)
        ]
    )
    for item, text in zip(items, texts, strict=True):
        item.content_hash = content_hash(text)


async def sync_index(
    sessions: async_sessionmaker[AsyncSession], *, index: VectorIndex, embedder: Embedder
) -> int:
    """Index every public item when the index and the table disagree; return how many."""
    public = Item.visibility == "public"
    async with sessions() as session:
        expected = await session.scalar(select(func.count()).select_from(Item).where(public))
        if expected == await index.count():
            return 0
        logger.info("vector index out of step with %s public items; rebuilding", expected)
        indexed = 0
        offset = 0
        while True:
            batch = (
                await session.scalars(
                    select(Item).where(public).order_by(Item.id).offset(offset).limit(BATCH)
                )
            ).all()
            if not batch:
                break
            await index_items(batch, index=index, embedder=embedder)
            await session.commit()
            indexed += len(batch)
            offset += BATCH
            logger.info("indexed %s/%s items", indexed, expected)
        return indexed
