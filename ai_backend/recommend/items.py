"""Items for one member: candidates from every source (`sources`), fused (`fusion`),
diversified (`diversity`), and explained (`explain`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_backend.db.models import Practice, User
from ai_backend.history.actions import History
from ai_backend.infra.keywords import KeywordEncoder
from ai_backend.infra.vector_index import SearchRequest, StoredPoint, VectorIndex
from ai_backend.recommend.diversity import mmr
from ai_backend.recommend.explain import item_result, search_reasons
from ai_backend.recommend.fusion import Candidate, Pool
from ai_backend.recommend.model import CollaborativeModel
from ai_backend.recommend.reasons import Phrases
from ai_backend.recommend.schemas import Recommendation
from ai_backend.recommend.sources import (
    ReferenceScores,
    Search,
    Trust,
    collaborative,
    content_search,
    member_weights,
    popular,
    profile_history,
    profile_vector,
    word_searches,
    worded_sources,
)

logger = logging.getLogger(__name__)
# The latest dislikes whose alike neighbours are pushed down, how many neighbours each has, and
# how far down: the nearest ten to a quarter of their score, the next ten to 0.6.
DISLIKES = 10
NEIGHBOURS = 20
NEAREST = 10
NEAREST_DAMPING = 0.25
NEAR_DAMPING = 0.6
# A neighbour is alike when its cosine is within this share of (1 - the related level) of the
# nearest neighbour's: 0.03 for e5, whose neighbours on MovieLens lie 0.01 apart (median, first
# to tenth) and an unlike topic 0.05 below.
ALIKE_MARGIN = 0.25


@dataclass(frozen=True)
class Ask:
    """One member's request for items, with what they did and said."""

    user: User
    history: History
    practices: Sequence[Practice]
    limit: int
    kinds: frozenset[str]
    exclude: frozenset[str]
    phrases: Phrases


class ItemRanker:
    def __init__(
        self,
        *,
        items: VectorIndex,
        people: VectorIndex,
        keywords: KeywordEncoder,
        half_life_days: float,
        diversity: float,
        related_passages: float = 0.88,
    ) -> None:
        self.items = items
        self.people = people
        self.keywords = keywords
        self.half_life_days = half_life_days
        self.diversity = diversity
        self.related_passages = related_passages
        self.references = ReferenceScores(items)

    async def rank(self, ask: Ask, model: CollaborativeModel) -> tuple[list[Recommendation], bool]:
        """The member's items, best first, with their reasons; and whether a source failed."""
        excluded = ask.history.excluded | ask.exclude
        kinds = set(ask.kinds)
        weights = member_weights(ask.history, self.half_life_days)
        pool = Pool(excluded)
        rows, scores = model.score(weights)
        trust = Trust.of(model, len(rows))
        picked = collaborative(model, rows, scores, excluded, kinds)
        pool.add_with_reason("collaborative", picked, scale=trust.collaborative)
        history = profile_history(weights) if trust.profiled else []
        seen, own, degraded = await self._known_points(history, ask.user.id)
        searches = self._searches(ask, weights, seen, own, trust, sorted(excluded))
        if not await self._search_into(pool, searches, scale=trust.others):
            degraded = True
        pool.add_with_reason("popular", popular(model, excluded, kinds, max(ask.limit * 3, 30)))
        if not await self._push_down_disliked(pool, ask.history):
            degraded = True
        try:
            chosen, points = await self._choose(pool, ask.limit, kinds)
        except Exception:
            logger.exception("vector index unavailable for recommendations")
            return [], True
        by_key = {key: pool.candidates[key] for key, _ in chosen}
        sources = model.strongest_sources(rows, weights, list(by_key))
        seen = await self._explain(by_key, points, seen, sources, ask)
        results = [
            item_result(by_key[key], score, points[key], seen, ask.phrases) for key, score in chosen
        ]
        return results, degraded

    async def _known_points(
        self, history: list[str], user_id: str
    ) -> tuple[dict[str, StoredPoint], StoredPoint | None, bool]:
        """The stored points of the member's heaviest items and of their profile."""
        try:
            seen = await self.items.fetch(history)
            own = await self.people.fetch([user_id])
        except Exception:
            logger.exception("vector index unavailable for recommendations")
            return {}, None, True
        return seen, own.get(user_id), False

    def _searches(
        self,
        ask: Ask,
        weights: dict[str, float],
        seen: dict[str, StoredPoint],
        own: StoredPoint | None,
        trust: Trust,
        excluded: list[str],
    ) -> list[Search]:
        where: dict[str, Any] | None = {"kind": sorted(ask.kinds)} if ask.kinds else None
        searches = []
        vector = profile_vector(weights, seen, own)
        if trust.profiled and vector is not None:
            searches.append(content_search(vector, where, excluded))
        worded = worded_sources(ask.user, weights, seen, ask.practices, profiled=trust.profiled)
        searches.extend(word_searches(self.keywords, worded, where, excluded))
        return searches

    async def _search_into(self, pool: Pool, searches: list[Search], *, scale: float) -> bool:
        """Add every search's hits to the pool; False when one of them failed."""
        results = await asyncio.gather(
            *(self.references.shares(s) for s in searches), return_exceptions=True
        )
        complete = True
        for search, result in zip(searches, results, strict=True):
            if isinstance(result, BaseException):
                logger.warning("recommendation source %s failed: %s", search.source, result)
                complete = False
                continue
            for candidate in pool.add(search.source, result, scale=scale).values():
                candidate.origins.append((search.source, search.practice))
        return complete

    async def _push_down_disliked(self, pool: Pool, history: History) -> bool:
        """Damp the candidates nearest in meaning to what the member disliked lately, if they
        are alike (a small catalogue has unlike nearest neighbours): a 👎 says "less like this",
        not only "not this one". False when the index failed."""
        disliked = list(dict.fromkeys(a.item_id for a in history.actions if a.type == "dislike"))
        if not disliked:
            return True
        try:
            points = await self.items.fetch(disliked[:DISLIKES])
            searches = [
                SearchRequest(
                    mode="semantic",
                    limit=NEIGHBOURS,
                    dense=list(point.vector),
                    exclude=[key],
                    payload_fields=(),
                )
                for key, point in points.items()
            ]
            found = await asyncio.gather(*(self.items.search(s) for s in searches))
        except Exception:
            logger.exception("vector index unavailable for a member's dislikes")
            return False
        margin = ALIKE_MARGIN * (1.0 - self.related_passages)
        for hits in found:
            # Alike: related at all, and nearly as close as the nearest one.
            floor = max([self.related_passages] + [h.score - margin for h in hits[:1]])
            for rank, hit in enumerate(hits):
                candidate = pool.candidates.get(hit.key)
                if candidate is not None and hit.score >= floor:
                    damping = NEAREST_DAMPING if rank < NEAREST else NEAR_DAMPING
                    candidate.damping = min(candidate.damping, damping)
        return True

    async def _choose(
        self, pool: Pool, limit: int, kinds: set[str]
    ) -> tuple[list[tuple[str, float]], dict[str, StoredPoint]]:
        """The `limit` items to show, diversified, with their stored points. Only items the
        index holds are public; the kind filter applies to every source."""
        best = pool.best(max(limit * 4, 40))
        points = await self.items.fetch([c.key for c in best])
        shown = [
            c
            for c in best
            if c.key in points and (not kinds or points[c.key].payload.get("kind") in kinds)
        ]
        vectors = {c.key: np.asarray(points[c.key].vector, np.float32) for c in shown}
        ranked = [(c.key, c.score) for c in shown]
        return mmr(ranked, vectors, limit, self.diversity), points

    async def _explain(
        self,
        chosen: dict[str, Candidate],
        points: dict[str, StoredPoint],
        seen: dict[str, StoredPoint],
        sources: dict[str, str],
        ask: Ask,
    ) -> dict[str, StoredPoint]:
        """Give the chosen candidates their search reasons and the item each collaborative
        reason came from; return `seen` with every item a reason names."""
        for key, candidate in chosen.items():
            for _, reason in candidate.reasons:
                if reason.code == "collaborative" and key in sources:
                    reason.ref = sources[key]
        missing = {
            r.ref
            for candidate in chosen.values()
            for _, r in candidate.reasons
            if r.ref and r.ref not in seen and r.code in ("collaborative", "similar_to")
        }
        if missing:
            seen = {**seen, **await self.items.fetch(sorted(missing))}
        for key, candidate in chosen.items():
            for source, practice in candidate.origins:
                reasons = search_reasons(
                    source, points[key].payload, ask.user, practice, ask.phrases
                )
                candidate.reasons.extend((source, r) for r in reasons)
        return seen
