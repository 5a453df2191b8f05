"""Recommendations of items and of people for one member, cached, with reasons.

Items fuse four sources, each normalised to its best candidate and then weighted:
- collaborative: the member's history through the item-to-item model;
- content: a profile vector (time-decayed, type-weighted mean of the vectors of what they did,
  plus their profile's own vector), searched in the index with every exclusion in the filter;
- interests and ongoing practices, for members with little history: hybrid searches with the
  profile's and the practices' words;
- popularity, recent and time-decayed, as the last resort.
The fused list is then diversified by maximal marginal relevance over the items' vectors.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.catalog.people import profile_text
from ai_backend.db.models import Event, Practice, TagList, User
from ai_backend.errors import ServiceUnavailable, UnknownUser
from ai_backend.infra.keywords import KeywordEncoder
from ai_backend.infra.vector_index import (
    Mode,
    SearchRequest,
    StoredPoint,
    VectorHit,
    VectorIndex,
)
from ai_backend.recommend.cache import ANSWERS, Lookup, RecommendationCache
from ai_backend.recommend.history import (
    NEGATIVE,
    History,
    HistoryStore,
    action_weight,
)
from ai_backend.recommend.reasons import Phrases, ReasonLocale, reason_locale
from ai_backend.recommend.refresh import ModelRefresher
from ai_backend.recommend.schemas import CacheState, Reason, Recommendation, Target

logger = logging.getLogger(__name__)
# Members with fewer positive actions than this also get interest- and practice-based picks.
FEW_ACTIONS = 5
PROFILE_ITEMS = 30  # history items averaged into the profile vector
REFERENCE_SECONDS = 300.0
REFERENCE_ENTRIES = 10_000
SOURCE_DEPTH = 50  # candidates each source brings
# How much each source counts once normalised to its own best candidate.
SOURCE_WEIGHTS = {
    "collaborative": 1.0,
    "content": 0.35,
    "interest": 0.6,
    "practice": 0.6,
    "tags": 0.4,
    "popular": 0.1,
}


# Search candidates below this share of their search's range are noise; word searches need
# more, as Chinese text is matched by single characters.
MIN_SHARE = {"content": 0.2, "interest": 0.25, "practice": 0.25, "tags": 0.25}
# The collaborative signal is trusted as the community grows: members / (members + this).
COMMUNITY_PRIOR = 50
# Actions the collaborative model knows of a member at which it carries half the ranking.
KNOWN_ACTIONS = 10
# Below this weight, the content, interest and tag sources are not searched at all.
MIN_OTHERS = 0.2


async def _member(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise UnknownUser(user_id)
    return user


@dataclass(frozen=True)
class RecommendRequest:
    user_id: str
    target: Target = "items"
    limit: int = 10
    kinds: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # The language of the reasons; None: the member's profile decides.
    locale: ReasonLocale | None = None

    @classmethod
    def normalised(
        cls,
        user_id: str,
        target: Target,
        limit: int,
        kinds: Sequence[str],
        exclude: Sequence[str],
        locale: ReasonLocale | None = None,
    ) -> RecommendRequest:
        """One form per meaning: kinds and exclusions as sorted sets."""
        return cls(
            user_id,
            target,
            limit,
            tuple(sorted(set(kinds))),
            tuple(sorted(set(exclude))),
            locale,
        )

    def phrases(self, user: User) -> Phrases:
        return Phrases(self.locale or reason_locale(user.locale))

    def cache_key(self) -> str:
        # A locale left to the profile is part of the profile: a profile change invalidates.
        raw = json.dumps(
            [self.target, self.limit, sorted(self.kinds), sorted(self.exclude), self.locale],
            sort_keys=True,
        )
        return f"{self.target}:{hashlib.sha256(raw.encode()).hexdigest()[:20]}"


# A source's reasons are shown when it brought at least this share of the strongest one.
REASON_SHARE = 0.25
# "Similar to X" only when X shares a tag or the category with the item and its vector is at
# least this close. multilingual-e5's cosines between catalogue entries bunch at 0.80-0.90
# whatever their topic (demo catalogue: median 0.83 across categories, 0.84 within), so the
# cosine alone cannot say "similar"; above 0.88 it keeps a third of same-category pairs.
SIMILAR_TO_MIN = 0.88


@dataclass
class Candidate:
    key: str
    scores: dict[str, float] = field(default_factory=dict)
    # Each reason with the source that gave it.
    reasons: list[tuple[str, Reason]] = field(default_factory=list)
    # Searches that found it (with the practice behind a practice search); their reasons are
    # worked out from the item's payload once it is among the few to show.
    origins: list[tuple[str, Practice | None]] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(SOURCE_WEIGHTS[s] * v for s, v in self.scores.items())

    def shown_reasons(self) -> list[Reason]:
        """Reasons of the sources that carried the candidate, strongest source first."""
        weight = {s: SOURCE_WEIGHTS[s] * v for s, v in self.scores.items()}
        strongest = max(weight.values(), default=0.0)
        kept = [
            (weight.get(source, 0.0), reason)
            for source, reason in self.reasons
            if weight.get(source, 0.0) >= REASON_SHARE * strongest
        ]
        return [reason for _, reason in sorted(kept, key=lambda pair: -pair[0])]


def _normalised(
    pairs: Sequence[tuple[str, float]], *, spread: bool = False
) -> list[tuple[str, float]]:
    """Scores as shares of the best one; with `spread`, of the range from worst to best.

    Similarity scores of one search bunch together (cosines of 0.5 to 0.6), so a search's
    candidates are spread over their range before they are weighed against other sources.
    """
    if not pairs:
        return []
    if spread:
        low, high = min(s for _, s in pairs), max(s for _, s in pairs)
        if high - low <= 1e-9:
            return [(key, 1.0) for key, _ in pairs]
        return [(key, (score - low) / (high - low)) for key, score in pairs]
    best = max(score for _, score in pairs)
    if best <= 0:
        return [(key, 0.0) for key, _ in pairs]
    return [(key, max(score, 0.0) / best) for key, score in pairs]


def _weights(history: History, half_life_days: float) -> dict[str, float]:
    """Type weight times a decay over the time before the member's latest action."""
    positive = history.positive
    if not positive:
        return {}
    latest = max(a.occurred_at for a in positive).timestamp()
    weights: dict[str, float] = {}
    for action in positive:
        age = latest - action.occurred_at.timestamp()
        weight = action_weight(action.type, age, half_life_days)
        weights[action.item_id] = weights.get(action.item_id, 0.0) + weight
    return weights


def _top_tags(weights: dict[str, float], seen: dict[str, StoredPoint], count: int = 8) -> list[str]:
    """The tags of what a member did, by the weight of the actions behind them."""
    totals: dict[str, float] = {}
    for key, point in seen.items():
        for tag in point.payload.get("tags") or []:
            totals[tag] = totals.get(tag, 0.0) + weights.get(key, 0.0)
    return sorted(totals, key=lambda t: (-totals[t], t))[:count]


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def mmr(
    ranked: list[tuple[str, float]], vectors: dict[str, np.ndarray], limit: int, diversity: float
) -> list[tuple[str, float]]:
    """Maximal marginal relevance: trade a little score for items unlike those already picked."""
    if diversity <= 0 or len(ranked) <= 1:
        return ranked[:limit]
    best = ranked[0][1] or 1.0
    relevance = np.array([score / best for _, score in ranked], np.float32)
    matrix = np.stack([_unit(vectors[key]) for key, _ in ranked])
    # The highest similarity of each candidate to anything picked so far.
    closest = np.zeros(len(ranked), np.float32)
    open_ = np.ones(len(ranked), bool)
    chosen: list[tuple[str, float]] = []
    while open_.any() and len(chosen) < limit:
        value = np.where(open_, (1 - diversity) * relevance - diversity * closest, -np.inf)
        pick = int(np.argmax(value))
        open_[pick] = False
        chosen.append(ranked[pick])
        closest = np.maximum(closest, matrix @ matrix[pick])
    return chosen


def _related(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two items share a tag or their category: what makes "similar to" readable. (Public
    practices all have the category "practice", which says nothing of their topic.)"""
    category = a.get("category")
    if category and category == b.get("category") and a.get("kind") != "practice":
        return True
    return bool(_overlap(a.get("tags") or [], b.get("tags") or []))


def _overlap(a: Sequence[str], b: Sequence[str]) -> list[str]:
    other = {t.casefold() for t in b}
    return [t for t in a if t.casefold() in other]


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
        rebuilding: Callable[[], bool] = lambda: False,
    ) -> None:
        self.sessions = sessions
        self.history = HistoryStore(sessions)
        self.items = items
        self.people = people
        self.keywords = keywords
        self.cache = cache
        self.models = models
        self.half_life_days = half_life_days
        self.diversity = diversity
        # Whether this process is refilling an index: answers may lack items, so not cached.
        self.rebuilding = rebuilding
        # The best score a set of words reaches in the catalogue changes slowly: kept a while.
        self._references: dict[tuple[Any, ...], tuple[float, float]] = {}

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
            results, degraded = await self.recommend_people(request)
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

    # -- items ------------------------------------------------------------------------------

    async def recommend_items(self, request: RecommendRequest) -> tuple[list[Recommendation], bool]:
        async with self.sessions() as session:
            user = await _member(session, request.user_id)
            history = await self.history.history(session, request.user_id)
            practices = await self.history.active_practices(session, request.user_id)
        excluded = history.excluded | set(request.exclude)
        excluded_keys = sorted(excluded)
        weights = _weights(history, self.half_life_days)
        candidates: dict[str, Candidate] = {}
        degraded = False

        def add(
            source: str, shares: Sequence[tuple[str, float]], *, scale: float = 1.0
        ) -> dict[str, Candidate]:
            touched = {}
            floor = MIN_SHARE.get(source, 0.0)
            for key, share in shares:
                if key in excluded or share < floor:
                    continue
                score = share * scale
                candidate = candidates.setdefault(key, Candidate(key))
                candidate.scores[source] = max(candidate.scores.get(source, 0.0), score)
                touched[key] = candidate
            return touched

        model = self.models.model
        kinds = set(request.kinds)
        kind_of = model.kind_of

        # Collaborative. The more the model knows of this member, the less the other sources
        # count: they are for members with little history, and a small community.
        rows, scores = model.score(weights)
        trust = model.users / (model.users + COMMUNITY_PRIOR)
        others = 1.0 - trust * len(rows) / (len(rows) + KNOWN_ACTIONS)
        if rows:
            order = np.argsort(-scores)
            picked: list[tuple[str, float]] = []
            for position in order:
                item = model.item_ids[int(position)]
                if scores[position] <= 0 or len(picked) >= SOURCE_DEPTH:
                    break
                if item in excluded or (kinds and kind_of.get(item) not in kinds):
                    continue
                picked.append((item, float(scores[position])))
            for key in add("collaborative", _normalised(picked), scale=trust):
                # The item it came from is looked up for the chosen few only.
                reason = Reason(code="collaborative", detail="")
                candidates[key].reasons.append(("collaborative", reason))

        # Content: the profile vector, with exclusions inside the search.
        where = {"kind": sorted(kinds)} if kinds else None
        searches: list[tuple[str, SearchRequest, SearchRequest | None, Any]] = []
        # When the collaborative model knows the member well, the other sources could hardly
        # move the ranking: their searches are skipped (ongoing practices still count).
        profiled = others >= MIN_OTHERS
        top_history = sorted(weights, key=lambda i: -weights[i])[:PROFILE_ITEMS] if profiled else []
        try:
            seen = await self.items.fetch(top_history)
            own = await self.people.fetch([request.user_id])
        except Exception:
            logger.exception("vector index unavailable for recommendations")
            seen, own, degraded = {}, {}, True
        profile_vector = self._profile_vector(weights, seen, own.get(request.user_id))
        if profiled and profile_vector is not None:
            searches.append(
                (
                    "content",
                    SearchRequest(
                        mode="semantic",
                        limit=SOURCE_DEPTH,
                        dense=profile_vector.tolist(),
                        where=where,
                        exclude=excluded_keys,
                        payload_fields=(),
                    ),
                    None,
                    None,
                )
            )
        # Interests and ongoing practices: what members with little history have said.
        # Their words are matched by BM25; a match counts by its share of the best match in the
        # whole catalogue (often the practice's own item), asked for without the exclusions.
        worded: list[tuple[str, str, Practice | None]] = []
        if profiled and len(weights) < FEW_ACTIONS:
            words = " ".join([*user.interests, *user.tags, user.professional_field or ""])
            worded.append(("interest", words, None))
        if profiled and (tags := _top_tags(weights, seen)):
            worded.append(("tags", " ".join(tags), None))
        worded.extend(("practice", " ".join([p.title, *p.tags]), p) for p in practices)
        for source, words, practice in worded:
            sparse = self.keywords.query(words) if words.strip() else None
            if sparse is None or not sparse.indices:
                continue
            matches = SearchRequest(
                mode="keyword",
                limit=20 if source == "practice" else SOURCE_DEPTH,
                sparse=sparse,
                where=where,
                exclude=excluded_keys,
                payload_fields=(),
            )
            top = SearchRequest(
                mode="keyword", limit=1, sparse=sparse, where=where, payload_fields=()
            )
            searches.append((source, matches, top, practice))
        results = await asyncio.gather(
            *(self._search_with_reference(r, b) for _, r, b, _ in searches),
            return_exceptions=True,
        )
        for (source, _, best, practice), result in zip(searches, results, strict=True):
            if isinstance(result, BaseException):
                logger.warning("recommendation source %s failed: %s", source, result)
                degraded = True
                continue
            hits, reference = result
            pairs = [(hit.key, hit.score) for hit in hits]
            if best is None:
                shares = _normalised(pairs, spread=True)
            else:
                shares = [(key, score / reference) for key, score in pairs if reference > 0]
            touched = add(source, shares, scale=others)
            for candidate in touched.values():
                candidate.origins.append((source, practice))

        # Popular: the last resort, and a tie-breaker.
        popular: list[tuple[str, float]] = []
        for item, score, kind in zip(
            model.popular_ids, model.popular_scores, model.popular_kinds, strict=True
        ):
            if len(popular) >= max(request.limit * 3, 30):
                break
            if item not in excluded and (not kinds or kind in kinds):
                popular.append((item, score))
        for key in add("popular", _normalised(popular)):
            candidates[key].reasons.append(("popular", Reason(code="popular", detail="")))

        ranked = sorted(candidates.values(), key=lambda c: (-c.score, c.key))
        pool = ranked[: max(request.limit * 4, 40)]
        try:
            points = await self.items.fetch([c.key for c in pool])
        except Exception:
            logger.exception("vector index unavailable for recommendations")
            return [], True
        # Only items the index holds are public; the kind filter applies to every source.
        pool = [
            c
            for c in pool
            if c.key in points and (not kinds or points[c.key].payload.get("kind") in kinds)
        ]
        vectors = {c.key: np.asarray(points[c.key].vector, np.float32) for c in pool}
        chosen = mmr([(c.key, c.score) for c in pool], vectors, request.limit, self.diversity)
        by_key = {c.key: c for c in pool}
        sources = model.strongest_sources(rows, weights, [k for k, _ in chosen])
        for key, _ in chosen:
            for _, reason in by_key[key].reasons:
                if reason.code == "collaborative" and key in sources:
                    reason.ref = sources[key]
        missing_titles = {
            r.ref
            for key, _ in chosen
            for _, r in by_key[key].reasons
            if r.ref and r.ref not in seen and r.code in ("collaborative", "similar_to")
        }
        if missing_titles:
            seen = {**seen, **await self.items.fetch(sorted(missing_titles))}
        phrases = request.phrases(user)
        for key, _ in chosen:
            candidate = by_key[key]
            for source, practice in candidate.origins:
                candidate.reasons.extend(
                    (source, r)
                    for r in self._item_reasons(
                        source, points[key].payload, user, practice, phrases
                    )
                )
        return [
            self._item_result(by_key[key], score, points[key], seen, phrases)
            for key, score in chosen
        ], degraded

    async def _search_with_reference(
        self, request: SearchRequest, best: SearchRequest | None
    ) -> tuple[list[VectorHit], float]:
        """A search's hits, and the best score the query reaches anywhere (with `best`)."""
        if best is None:
            return await self.items.search(request), 0.0
        hits = await self.items.search(request)
        key = (tuple(best.sparse.indices) if best.sparse else (), repr(best.where))
        known = self._references.get(key)
        if known is None or known[1] < time.monotonic():
            top = await self.items.search(best)
            reference = max([h.score for h in top] + [0.0])
            self._references[key] = (reference, time.monotonic() + REFERENCE_SECONDS)
            while len(self._references) > REFERENCE_ENTRIES:
                self._references.pop(next(iter(self._references)))
        else:
            reference = known[0]
        return hits, max([reference] + [h.score for h in hits])

    def _profile_vector(
        self,
        weights: dict[str, float],
        seen: dict[str, StoredPoint],
        own: StoredPoint | None,
    ) -> np.ndarray | None:
        parts = [weights[k] * _unit(np.asarray(p.vector, np.float32)) for k, p in seen.items()]
        vector = np.sum(parts, axis=0) if parts else None
        if own is not None:
            profile = _unit(np.asarray(own.vector, np.float32))
            # The profile counts like one strong action, so history soon outweighs it.
            scale = max(weights.values(), default=1.0) if parts else 1.0
            vector = profile * scale if vector is None else vector + profile * scale
        return None if vector is None else _unit(vector)

    def _words_search(
        self,
        words: str,
        dense: Sequence[float] | None,
        where: dict[str, Any] | None,
        excluded: Set[str],
        *,
        limit: int = SOURCE_DEPTH,
    ) -> SearchRequest | None:
        sparse = self.keywords.query(words) if words.strip() else None
        if sparse is not None and not sparse.indices:
            sparse = None
        if sparse is None and dense is None:
            return None
        mode: Mode = "semantic"
        if sparse is not None:
            mode = "keyword" if dense is None else "hybrid"
        return SearchRequest(
            mode=mode,
            limit=limit,
            dense=dense,
            sparse=sparse,
            where=where,
            exclude=sorted(excluded),
        )

    def _item_reasons(
        self,
        source: str,
        payload: dict[str, Any],
        user: User,
        practice: Practice | None,
        phrases: Phrases,
    ) -> list[Reason]:
        tags = payload.get("tags") or []
        if source == "practice" and practice is not None:
            detail = phrases.say("fits_practice", title=practice.title)
            return [Reason(code="ongoing_practice", detail=detail, ref=practice.id)]
        reasons = []
        if shared := _overlap(tags, user.interests):
            detail = phrases.say("your_interests", names=shared)
            reasons.append(Reason(code="interest", detail=detail))
        if shared := _overlap(tags, user.tags):
            reasons.append(Reason(code="tag_match", detail=phrases.say("your_tags", names=shared)))
        field_name = user.professional_field or ""
        text = f"{payload.get('title', '')} {' '.join(tags)} {payload.get('category')}"
        if field_name and field_name.casefold() in text.casefold():
            detail = phrases.say("your_field", field=field_name)
            reasons.append(Reason(code="professional_field", detail=detail))
        if source == "content":
            reasons.append(Reason(code="similar_to", detail=""))
        elif source == "tags" and not reasons:
            detail = phrases.say("shares_learned_tags")
            reasons.append(Reason(code="tag_match", detail=detail))
        elif not reasons:
            reasons.append(Reason(code="interest", detail=phrases.say("close_to_profile")))
        return reasons

    def _item_result(
        self,
        candidate: Candidate,
        score: float,
        point: StoredPoint,
        seen: dict[str, StoredPoint],
        phrases: Phrases,
    ) -> Recommendation:
        reasons: list[Reason] = []
        codes: set[str] = set()
        for reason in candidate.shown_reasons():
            if reason.code in codes:
                continue
            if reason.code == "similar_to":
                similar = self._similar_to(point, seen, phrases)
                if similar is None:
                    continue
                reason = similar
            elif reason.code == "collaborative":
                title = seen[reason.ref].payload.get("title") if reason.ref in seen else None
                if title is None:
                    continue
                detail = phrases.say("went_on_to", title=str(title))
                reason = Reason(code="collaborative", detail=detail, ref=reason.ref)
            elif reason.code == "popular":
                reason = Reason(code="popular", detail=phrases.say("popular"))
            codes.add(reason.code)
            reasons.append(reason)
        if not reasons:
            reasons.append(Reason(code="popular", detail=phrases.say("popular")))
        return Recommendation(
            id=candidate.key,
            kind=str(point.payload.get("kind", "other")),
            title=str(point.payload.get("title", "")),
            score=round(score, 6),
            reasons=reasons,
        )

    @staticmethod
    def _similar_to(
        candidate: StoredPoint, seen: dict[str, StoredPoint], phrases: Phrases
    ) -> Reason | None:
        """The closest thing the member did, when it is close enough to say so: it shares a
        tag or the category with the item, and their vectors are near."""
        unit = _unit(np.asarray(candidate.vector, np.float32))
        closeness = {
            key: float(unit @ _unit(np.asarray(point.vector, np.float32)))
            for key, point in seen.items()
            if _related(candidate.payload, point.payload)
        }
        if not closeness:
            return None
        key = max(closeness, key=closeness.__getitem__)
        if closeness[key] < SIMILAR_TO_MIN:
            return None
        title = str(seen[key].payload.get("title", key))
        return Reason(code="similar_to", detail=phrases.say("similar_to", title=title), ref=key)

    # -- people -----------------------------------------------------------------------------

    async def recommend_people(
        self, request: RecommendRequest
    ) -> tuple[list[Recommendation], bool]:
        degraded = False
        async with self.sessions() as session:
            user = await _member(session, request.user_id)
            phrases = request.phrases(user)
            excluded = {request.user_id, *request.exclude}
            overlap = await self._overlapping_people(session, user, excluded)
            shared_items = await self._co_learners(session, user.id, excluded)
            practice_tags = await self._practice_tags(session, [user.id])
        semantic: list[VectorHit] = []
        text = profile_text(user)
        if text:
            try:
                own = await self.people.fetch([user.id])
                search = self._words_search(
                    text,
                    own[user.id].vector if user.id in own else None,
                    {"discoverable": "yes"},
                    excluded,
                    limit=50,
                )
                if search is not None:
                    semantic = await self.people.search(search)
            except Exception:
                logger.exception("people index unavailable")
                degraded = True
        scores: dict[str, dict[str, float]] = {}
        for key, value in _normalised([(h.key, h.score) for h in semantic]):
            scores.setdefault(key, {})["profile"] = value
        for key, value in _normalised(list(shared_items.items())):
            scores.setdefault(key, {})["collaborative"] = value
        for key in overlap:
            scores.setdefault(key, {})
        if not scores:
            return [], degraded
        async with self.sessions() as session:
            people = {
                u.id: u
                for u in await session.scalars(
                    select(User).where(User.id.in_(scores), User.discoverable.is_(True))
                )
            }
            their_practices = await self._active_practices(session, list(people))
        mine = set(practice_tags.get(user.id, [])) | {t.casefold() for t in user.interests}
        results = []
        for key, parts in scores.items():
            other = people.get(key)
            if other is None:
                continue
            reasons: list[Reason] = []
            score = 0.5 * parts.get("profile", 0.0) + 0.4 * parts.get("collaborative", 0.0)
            if shared := _overlap(other.interests, user.interests):
                score += 0.3 * min(len(shared), 3) / 3
                detail = phrases.say("shares_interests", names=shared)
                reasons.append(Reason(code="interest", detail=detail))
            if shared := _overlap(other.tags, user.tags):
                score += 0.1 * min(len(shared), 3) / 3
                reasons.append(
                    Reason(code="tag_match", detail=phrases.say("shares_tags", names=shared))
                )
            if (
                user.professional_field
                and other.professional_field
                and user.professional_field.casefold() == other.professional_field.casefold()
            ):
                score += 0.2
                detail = phrases.say("same_field", field=other.professional_field)
                reasons.append(Reason(code="professional_field", detail=detail))
            for practice in their_practices.get(key, []):
                if {t.casefold() for t in practice.tags} & mine:
                    score += 0.2
                    detail = phrases.say("is_practising", title=practice.title)
                    reasons.append(Reason(code="ongoing_practice", detail=detail, ref=practice.id))
                    break
            if key in shared_items:
                count = int(shared_items[key])
                detail = phrases.say("same_items", count=count)
                reasons.append(Reason(code="collaborative", detail=detail))
            if "profile" in parts and not reasons:
                reasons.append(Reason(code="interest", detail=phrases.say("close_profile")))
            if not reasons:
                continue
            results.append(
                Recommendation(
                    id=key,
                    kind="person",
                    title=other.display_name,
                    score=round(score, 6),
                    reasons=reasons,
                )
            )
        results.sort(key=lambda r: (-r.score, r.id))
        return results[: request.limit], degraded

    async def _overlapping_people(
        self, session: AsyncSession, user: User, excluded: set[str]
    ) -> list[str]:
        conditions: list[ColumnElement[bool]] = []
        if user.interests:
            conditions.append(User.interests.op("&&")(literal(user.interests, TagList)))
        if user.tags:
            conditions.append(User.tags.op("&&")(literal(user.tags, TagList)))
        if user.professional_field:
            conditions.append(
                func.lower(User.professional_field) == user.professional_field.lower()
            )
        if not conditions:
            return []
        query = (
            select(User.id)
            .where(or_(*conditions), User.discoverable.is_(True), User.id.not_in(excluded))
            .limit(200)
        )
        return list((await session.scalars(query)).all())

    async def _co_learners(
        self, session: AsyncSession, user_id: str, excluded: set[str]
    ) -> dict[str, float]:
        """Members who acted on the same items, by how many they share."""
        mine = (
            select(Event.item_id)
            .where(Event.user_id == user_id, Event.type.not_in(NEGATIVE))
            .distinct()
            .subquery()
        )
        shared = func.count(func.distinct(Event.item_id))
        query = (
            select(Event.user_id, shared)
            .join(mine, mine.c.item_id == Event.item_id)
            .join(User, User.id == Event.user_id)
            .where(
                Event.type.not_in(NEGATIVE),
                Event.user_id.not_in(excluded),
                User.discoverable.is_(True),
            )
            .group_by(Event.user_id)
            .order_by(shared.desc())
            .limit(50)
        )
        return {row[0]: float(row[1]) for row in await session.execute(query)}

    async def _practice_tags(
        self, session: AsyncSession, user_ids: list[str]
    ) -> dict[str, list[str]]:
        tags: dict[str, list[str]] = {}
        for practice in await self._flat_practices(session, user_ids):
            tags.setdefault(practice.owner_id, []).extend(t.casefold() for t in practice.tags)
        return tags

    async def _active_practices(
        self, session: AsyncSession, user_ids: list[str]
    ) -> dict[str, list[Practice]]:
        found: dict[str, list[Practice]] = {}
        for practice in await self._flat_practices(session, user_ids, public=True):
            found.setdefault(practice.owner_id, []).append(practice)
        return found

    @staticmethod
    async def _flat_practices(
        session: AsyncSession, user_ids: list[str], *, public: bool = False
    ) -> list[Practice]:
        if not user_ids:
            return []
        query = select(Practice).where(
            Practice.owner_id.in_(user_ids), Practice.status.in_(("active", "not_started"))
        )
        if public:
            query = query.where(Practice.privacy == "public")
        return list((await session.scalars(query)).all())


def envelope(cache: CacheState, degraded: bool, body: bytes) -> bytes:
    head = b'{"cache":"' + cache.encode() + b'","degraded":' + (b"true" if degraded else b"false")
    return head + b"," + body + b"}"
