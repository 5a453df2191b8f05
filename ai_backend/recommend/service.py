"""Recommendations of items and of people for one member, cached, with reasons.

The cache answers first (`cache.py`; fresh entries even before routing, `fastpath.py`). On a
miss, items come from `items.py` (sources, fusion, diversity, reasons) and people from
`people.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.errors import ServiceUnavailable
from ai_backend.history import repository as histories
from ai_backend.infra.embedder import Embedder
from ai_backend.infra.keywords import KeywordEncoder
from ai_backend.infra.vector_index import VectorIndex
from ai_backend.recommend import repository
from ai_backend.recommend.cache import ANSWERS, Lookup, RecommendationCache
from ai_backend.recommend.items import Ask, ItemRanker
from ai_backend.recommend.partners import PartnerFinder
from ai_backend.recommend.people import PeopleRanker
from ai_backend.recommend.refresh import ModelRefresher
from ai_backend.recommend.request import RecommendRequest, envelope
from ai_backend.recommend.schemas import CacheState, Recommendation


class Recommender:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        items: VectorIndex,
        people: VectorIndex,
        keywords: KeywordEncoder,
        cache: RecommendationCache,
        models: ModelRefresher,
        half_life_days: float,
        diversity: float,
        embedder: Embedder,
        related_passages: float = 0.88,
        rebuilding: Callable[[], bool] = lambda: False,
    ) -> None:
        self.sessions = sessions
        self.cache = cache
        self.models = models
        self.items = ItemRanker(
            items=items,
            people=people,
            keywords=keywords,
            half_life_days=half_life_days,
            diversity=diversity,
            related_passages=related_passages,
        )
        self.people = PeopleRanker(sessions=sessions, people=people, keywords=keywords)
        self.partners = PartnerFinder(
            sessions=sessions, items=items, embedder=embedder, people=self.people
        )
        # Whether this process is refilling an index: answers may lack items, so not cached.
        self.rebuilding = rebuilding

    async def forget(self, user_id: str, owned: Sequence[str]) -> None:
        """Erase every cached answer for or naming the member or their items; retrain the
        collaborative model in the background when it knows one of their items."""
        try:
            await self.cache.erase(user_id, owned)
        except RedisError as exc:
            raise ServiceUnavailable(
                f"cannot reach Redis to erase cached answers ({type(exc).__name__}); "
                "retry the request (it is idempotent)"
            ) from exc
        if not self.models.model.index.keys().isdisjoint(owned):
            self.models.retrain_soon()

    # -- the cached front door --------------------------------------------------------------

    async def recommend(self, request: RecommendRequest) -> bytes:
        """The response body as JSON bytes: a cached body is served without re-encoding."""
        key = request.cache_key()
        lookup = await self.cache.lookup(request.user_id, key)
        if lookup.entry is not None:
            if lookup.stale:
                self.cache.refresh_in_background(
                    request.user_id, key, lambda: self._compute_and_store(request, lookup)
                )
            state: CacheState = "stale" if lookup.stale else "hit"
            ANSWERS.labels(state).inc()
            return envelope(state, False, lookup.entry.body)
        body, degraded, mentions = await self._compute(request)
        if not degraded:
            await self.cache.store(request.user_id, key, lookup, body, mentions)
        degraded = degraded or lookup.version is None
        ANSWERS.labels("degraded" if degraded else "miss").inc()
        return envelope("miss", degraded, body)

    async def _compute_and_store(self, request: RecommendRequest, lookup: Lookup) -> None:
        body, degraded, mentions = await self._compute(request)
        if not degraded:
            await self.cache.store(request.user_id, request.cache_key(), lookup, body, mentions)

    async def _compute(self, request: RecommendRequest) -> tuple[bytes, bool, set[str]]:
        """The response body, whether it was degraded, and every id it names."""
        rebuilding = self.rebuilding()
        if request.target == "people":
            results, degraded = await self.people.rank(request)
        else:
            results, degraded = await self.recommend_items(request)
        degraded = degraded or rebuilding
        body = json.dumps(
            {
                "items": [r.model_dump() for r in results],
                "generated_at": datetime.now(UTC).isoformat(),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        mentions = {r.id for r in results}
        mentions.update(reason.ref for r in results for reason in r.reasons if reason.ref)
        return body[1:-1], degraded, mentions

    async def recommend_items(self, request: RecommendRequest) -> tuple[list[Recommendation], bool]:
        async with self.sessions() as session:
            user = await repository.member(session, request.user_id)
            history = await histories.history(session, request.user_id)
            practices = await histories.active_practices(session, request.user_id)
        ask = Ask(
            user=user,
            history=history,
            practices=practices,
            limit=request.limit,
            kinds=frozenset(request.kinds),
            exclude=frozenset(request.exclude),
            phrases=request.phrases(user),
        )
        return await self.items.rank(ask, self.models.model)
