"""Where item candidates come from, for one member:

- collaborative: their history through the item-to-item model;
- content: a profile vector (the time-decayed, type-weighted mean of the vectors of what they
  did, plus their profile's own vector), searched with every exclusion in the filter;
- interest, tags and practice, for members with little history: keyword searches with the
  profile's words, the tags of what they did, and each ongoing practice's title and tags;
- popular: recent and time-decayed, the last resort and a tie-breaker.

The more the collaborative model knows of a member, the less the others count: they are for
members with little history, and for a small community.
"""

from __future__ import annotations

import time
from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_backend.db.models import Practice, User
from ai_backend.domain import fields_of
from ai_backend.history.actions import History, action_weight
from ai_backend.infra.keywords import KeywordEncoder
from ai_backend.infra.vector_index import SearchRequest, StoredPoint, VectorHit, VectorIndex
from ai_backend.recommend.diversity import unit
from ai_backend.recommend.fusion import normalised
from ai_backend.recommend.model import CollaborativeModel

# Members with fewer positive actions than this also get interest-based picks.
FEW_ACTIONS = 5
PROFILE_ITEMS = 30  # history items averaged into the profile vector
SOURCE_DEPTH = 50  # candidates each source brings
PRACTICE_DEPTH = 20  # candidates each ongoing practice brings
# The collaborative signal is trusted as the community grows: members / (members + this).
COMMUNITY_PRIOR = 50
# Actions the collaborative model knows of a member at which it carries half the ranking.
KNOWN_ACTIONS = 10
# Below this weight, the content, interest and tag sources are not searched at all.
MIN_OTHERS = 0.2
# How long the best score a set of words reaches in the catalogue is kept, and for how many.
REFERENCE_SECONDS = 300.0
REFERENCE_ENTRIES = 10_000


def member_weights(history: History, half_life_days: float) -> dict[str, float]:
    """Each item's weight in a member's taste: the weights of their actions on it, decayed over
    the time before their latest action."""
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


def profile_history(weights: dict[str, float]) -> list[str]:
    """The items whose vectors make the profile vector: the heaviest in the member's taste."""
    return sorted(weights, key=lambda i: -weights[i])[:PROFILE_ITEMS]


def top_tags(weights: dict[str, float], seen: dict[str, StoredPoint], count: int = 8) -> list[str]:
    """The tags of what a member did, by the weight of the actions behind them."""
    totals: dict[str, float] = {}
    for key, point in seen.items():
        for tag in point.payload.get("tags") or []:
            totals[tag] = totals.get(tag, 0.0) + weights.get(key, 0.0)
    return sorted(totals, key=lambda t: (-totals[t], t))[:count]


def profile_vector(
    weights: dict[str, float], seen: dict[str, StoredPoint], own: StoredPoint | None
) -> np.ndarray | None:
    """The weighted mean direction of what the member did, with their profile's own vector."""
    parts = [weights[k] * unit(np.asarray(p.vector, np.float32)) for k, p in seen.items()]
    vector = np.sum(parts, axis=0) if parts else None
    if own is not None:
        profile = unit(np.asarray(own.vector, np.float32))
        # The profile counts like one strong action, so history soon outweighs it.
        scale = max(weights.values(), default=1.0) if parts else 1.0
        vector = profile * scale if vector is None else vector + profile * scale
    return None if vector is None else unit(vector)


@dataclass(frozen=True)
class Trust:
    """How much the collaborative source counts, and how much all the others do."""

    collaborative: float
    others: float

    @classmethod
    def of(cls, model: CollaborativeModel, known: int) -> Trust:
        """For a member of whose actions the model knows `known`."""
        trust = model.users / (model.users + COMMUNITY_PRIOR)
        return cls(trust, 1.0 - trust * known / (known + KNOWN_ACTIONS))

    @property
    def profiled(self) -> bool:
        """Whether the other sources could still move the ranking: when the model knows the
        member well they could hardly, and their searches are skipped (ongoing practices
        still count)."""
        return self.others >= MIN_OTHERS


def collaborative(
    model: CollaborativeModel,
    rows: Sequence[int],
    scores: np.ndarray,
    excluded: Set[str],
    kinds: Set[str],
) -> list[tuple[str, float]]:
    """The model's best items for the member, as shares of its best one."""
    if not rows:
        return []
    picked: list[tuple[str, float]] = []
    for position in np.argsort(-scores):
        item = model.item_ids[int(position)]
        if scores[position] <= 0 or len(picked) >= SOURCE_DEPTH:
            break
        if item in excluded or (kinds and model.kind_of.get(item) not in kinds):
            continue
        picked.append((item, float(scores[position])))
    return normalised(picked)


def popular(
    model: CollaborativeModel, excluded: Set[str], kinds: Set[str], count: int
) -> list[tuple[str, float]]:
    """The community's recent favourites, as shares of the first."""
    picked: list[tuple[str, float]] = []
    for item, score, kind in zip(
        model.popular_ids, model.popular_scores, model.popular_kinds, strict=True
    ):
        if len(picked) >= count:
            break
        if item not in excluded and (not kinds or kind in kinds):
            picked.append((item, score))
    return normalised(picked)


@dataclass(frozen=True)
class Search:
    """One search source: its request, and for a word search the request of the best score the
    words reach in the whole catalogue, against which its hits are measured."""

    source: str
    request: SearchRequest
    best: SearchRequest | None = None
    practice: Practice | None = None


def content_search(vector: np.ndarray, where: dict[str, Any] | None, excluded: list[str]) -> Search:
    request = SearchRequest(
        mode="semantic",
        limit=SOURCE_DEPTH,
        dense=vector.tolist(),
        where=where,
        exclude=excluded,
        payload_fields=(),
    )
    return Search("content", request)


def worded_sources(
    user: User,
    weights: dict[str, float],
    seen: dict[str, StoredPoint],
    practices: Sequence[Practice],
    *,
    profiled: bool,
) -> list[tuple[str, str, Practice | None]]:
    """The word sources with their words: interests for members with little history, the tags
    of what they did, and each ongoing practice."""
    worded: list[tuple[str, str, Practice | None]] = []
    if profiled and len(weights) < FEW_ACTIONS:
        words = " ".join([*user.interests, *user.tags, *fields_of(user)])
        worded.append(("interest", words, None))
    if profiled and (tags := top_tags(weights, seen)):
        worded.append(("tags", " ".join(tags), None))
    worded.extend(("practice", " ".join([p.title, *p.tags]), p) for p in practices)
    return worded


def word_searches(
    keywords: KeywordEncoder,
    worded: Sequence[tuple[str, str, Practice | None]],
    where: dict[str, Any] | None,
    excluded: list[str],
) -> list[Search]:
    """Keyword searches for the word sources. A match counts by its share of the best match in
    the whole catalogue (often the practice's own item), asked for without the exclusions."""
    searches = []
    for source, words, practice in worded:
        sparse = keywords.query(words) if words.strip() else None
        if sparse is None or not sparse.indices:
            continue
        matches = SearchRequest(
            mode="keyword",
            limit=PRACTICE_DEPTH if source == "practice" else SOURCE_DEPTH,
            sparse=sparse,
            where=where,
            exclude=excluded,
            payload_fields=(),
        )
        top = SearchRequest(mode="keyword", limit=1, sparse=sparse, where=where, payload_fields=())
        searches.append(Search(source, matches, top, practice))
    return searches


class ReferenceScores:
    """Runs searches against the item index, remembering for a while the best score each set of
    words reaches in the catalogue: it changes slowly."""

    def __init__(self, index: VectorIndex) -> None:
        self.index = index
        self._known: dict[tuple[Any, ...], tuple[float, float]] = {}

    async def shares(self, search: Search) -> list[tuple[str, float]]:
        """The search's hits as shares: of their own range for the content search, of the best
        score the words reach anywhere for a word search."""
        hits = await self.index.search(search.request)
        pairs = [(hit.key, hit.score) for hit in hits]
        if search.best is None:
            return normalised(pairs, spread=True)
        reference = max([await self._reference(search.best)] + [h.score for h in hits])
        return [(key, score / reference) for key, score in pairs if reference > 0]

    async def _reference(self, best: SearchRequest) -> float:
        key = (tuple(best.sparse.indices) if best.sparse else (), repr(best.where))
        known = self._known.get(key)
        if known is not None and known[1] >= time.monotonic():
            return known[0]
        top: list[VectorHit] = await self.index.search(best)
        reference = max([h.score for h in top] + [0.0])
        self._known[key] = (reference, time.monotonic() + REFERENCE_SECONDS)
        while len(self._known) > REFERENCE_ENTRIES:
            self._known.pop(next(iter(self._known)))
        return reference
