"""The people index: one point per member with a profile, derived from the users table.

A member's point holds their profile text as a dense vector and a BM25 vector, so people can be
matched on meaning and on shared words (Chinese profiles rely on the second). `indexed_hash` on
the row records what the index holds, so a sync touches only the members whose profile changed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.catalog.indexing import Refilling, index_layout, unindexed
from ai_backend.db.models import User
from ai_backend.db.points import digest
from ai_backend.db.uow import unit_of_work
from ai_backend.domain import fields_of, profile_text
from ai_backend.infra.embedder import Embedder
from ai_backend.infra.keywords import KeywordEncoder
from ai_backend.infra.vector_index import VectorIndex, VectorPoint

# Payload fields that people searches filter on.
PEOPLE_FIELDS = ("discoverable",)
PEOPLE_LAYOUT = "daodao-people-v1"
# Bumped whenever `profile_text` changes what a member's vectors stand for.
PROFILE_TEXT = "interests-fields-position-tags-bio-v2"
BATCH = 256


def people_layout(embedder: Embedder, keywords: KeywordEncoder) -> str:
    return index_layout(PEOPLE_LAYOUT, PROFILE_TEXT, embedder, keywords)


def profile_payload(user: Any) -> dict[str, Any]:
    return {
        "discoverable": "yes" if user.discoverable else "no",
        "display_name": user.display_name,
        "interests": list(user.interests),
        "tags": list(user.tags),
        "professional_field": user.professional_field,
        "professional_fields": fields_of(user),
        "location": user.location,
        "education_stage": user.education_stage,
    }


def profile_fingerprint(user: Any) -> str | None:
    """None when the member has no profile text: such members have no point."""
    text = profile_text(user)
    if not text:
        return None
    return digest(json.dumps([text, profile_payload(user)], sort_keys=True, ensure_ascii=False))


class PeopleIndexer(Refilling):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        index: VectorIndex,
        embedder: Embedder,
        keywords: KeywordEncoder,
    ) -> None:
        self.sessions = sessions
        self.index = index
        self.embedder = embedder
        self.keywords = keywords
        self._lock = asyncio.Lock()

    async def sync(self, ids: Sequence[str] | None = None) -> int:
        """Bring the points of `ids` (or of every member) in step with their rows."""
        done = 0
        after = ""
        while True:
            async with self._lock, unit_of_work(self.sessions) as uow:
                query = select(User).where(User.id > after).order_by(User.id).limit(BATCH)
                if ids is not None:
                    query = query.where(User.id.in_(ids))
                users = list((await uow.session.scalars(query)).all())
                if not users:
                    return done
                done += await self._apply(uow.session, users)
            after = users[-1].id

    async def _apply(self, session: AsyncSession, users: list[User]) -> int:
        wanted = {u.id: profile_fingerprint(u) for u in users}
        changed = [u for u in users if u.indexed_hash != wanted[u.id]]
        fresh = [u for u in changed if wanted[u.id] is not None]
        gone = [u.id for u in changed if wanted[u.id] is None]
        if fresh:
            texts = [profile_text(u) for u in fresh]
            vectors = await self.embedder.aencode_passages(texts)
            await self.index.upsert(
                [
                    VectorPoint(
                        key=u.id,
                        vector=v.tolist(),
                        sparse=self.keywords.document(t),
                        payload=profile_payload(u),
                    )
                    for u, v, t in zip(fresh, vectors, texts, strict=True)
                ]
            )
        await self.index.delete(gone)
        for user in changed:
            await session.execute(
                update(User).where(User.id == user.id).values(indexed_hash=wanted[user.id])
            )
        return len(changed)

    async def resync_if_empty(self) -> int:
        if await self.index.count() > 0:
            return await self.sync()
        async with self._lock, unit_of_work(self.sessions) as uow:
            await uow.session.execute(unindexed(User))
        with self.refilling():
            return await self.sync()

    async def rebuild(self) -> int:
        with self.refilling():
            async with self._lock, unit_of_work(self.sessions) as uow:
                await self.index.clear()
                await uow.session.execute(unindexed(User))
            return await self.sync()
