"""Fusing candidate sources: each source's scores as shares of its own best, weighted by how
much the source counts, summed per item; and the reasons each source gives for an item."""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, field

from ai_backend.db.models import Practice
from ai_backend.recommend.schemas import Reason

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
# A source's reasons are shown when it brought at least this share of the strongest one.
REASON_SHARE = 0.25


@dataclass
class Candidate:
    key: str
    scores: dict[str, float] = field(default_factory=dict)
    # Each reason with the source that gave it.
    reasons: list[tuple[str, Reason]] = field(default_factory=list)
    # Searches that found it (with the practice behind a practice search); their reasons are
    # worked out from the item's payload once it is among the few to show.
    origins: list[tuple[str, Practice | None]] = field(default_factory=list)
    # Below 1 when the member disliked something like it.
    damping: float = 1.0

    @property
    def score(self) -> float:
        return self.damping * sum(SOURCE_WEIGHTS[s] * v for s, v in self.scores.items())

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


class Pool:
    """The candidates of one member's list, gathered source by source."""

    def __init__(self, excluded: Set[str]) -> None:
        self.excluded = excluded
        self.candidates: dict[str, Candidate] = {}

    def add(
        self, source: str, shares: Sequence[tuple[str, float]], *, scale: float = 1.0
    ) -> dict[str, Candidate]:
        """Score what `source` found (shares of its best, times `scale`), leaving out excluded
        items and the source's noise; return the candidates it touched."""
        touched = {}
        floor = MIN_SHARE.get(source, 0.0)
        for key, share in shares:
            if key in self.excluded or share < floor:
                continue
            candidate = self.candidates.setdefault(key, Candidate(key))
            candidate.scores[source] = max(candidate.scores.get(source, 0.0), share * scale)
            touched[key] = candidate
        return touched

    def add_with_reason(
        self, source: str, shares: Sequence[tuple[str, float]], *, scale: float = 1.0
    ) -> None:
        """`add`, each candidate touched giving the source's own reason (its detail is worded
        once the candidate is among the few shown)."""
        for candidate in self.add(source, shares, scale=scale).values():
            candidate.reasons.append((source, Reason(code=source, detail="")))

    def best(self, count: int) -> list[Candidate]:
        return sorted(self.candidates.values(), key=lambda c: (-c.score, c.key))[:count]


def normalised(
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
