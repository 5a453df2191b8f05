"""Why an item is recommended, in words a member reads: worked out for the few items shown,
from the sources that carried each one and what the member said and did."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ai_backend.db.models import Practice, User
from ai_backend.domain import fields_of
from ai_backend.infra.vector_index import StoredPoint
from ai_backend.recommend.diversity import unit
from ai_backend.recommend.fusion import Candidate
from ai_backend.recommend.reasons import Phrases
from ai_backend.recommend.schemas import Reason, Recommendation

# "Similar to X" only when X shares a tag or the category with the item and its vector is at
# least this close. multilingual-e5's cosines between catalogue entries bunch at 0.80-0.90
# whatever their topic (demo catalogue: median 0.83 across categories, 0.84 within), so the
# cosine alone cannot say "similar"; above 0.88 it keeps a third of same-category pairs.
SIMILAR_TO_MIN = 0.88


def overlap(a: Sequence[str], b: Sequence[str]) -> list[str]:
    """The entries of `a` that `b` also has, compared without case."""
    other = {t.casefold() for t in b}
    return [t for t in a if t.casefold() in other]


def related(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two items share a tag or their category: what makes "similar to" readable. (Public
    practices all have the category "practice", which says nothing of their topic.)"""
    category = a.get("category")
    if category and category == b.get("category") and a.get("kind") != "practice":
        return True
    return bool(overlap(a.get("tags") or [], b.get("tags") or []))


def search_reasons(
    source: str, payload: dict[str, Any], user: User, practice: Practice | None, phrases: Phrases
) -> list[Reason]:
    """The reasons a search source gives for the item with `payload`."""
    tags = payload.get("tags") or []
    if source == "practice" and practice is not None:
        detail = phrases.say("fits_practice", title=practice.title)
        return [Reason(code="ongoing_practice", detail=detail, ref=practice.id)]
    reasons = []
    if shared := overlap(tags, user.interests):
        detail = phrases.say("your_interests", names=shared)
        reasons.append(Reason(code="interest", detail=detail))
    if shared := overlap(tags, user.tags):
        reasons.append(Reason(code="tag_match", detail=phrases.say("your_tags", names=shared)))
    text = f"{payload.get('title', '')} {' '.join(tags)} {payload.get('category')}".casefold()
    for field_name in fields_of(user):
        if field_name.casefold() in text:
            detail = phrases.say("your_field", field=field_name)
            reasons.append(Reason(code="professional_field", detail=detail))
            break
    if source == "content":
        reasons.append(Reason(code="similar_to", detail=""))
    elif source == "tags" and not reasons:
        detail = phrases.say("shares_learned_tags")
        reasons.append(Reason(code="tag_match", detail=detail))
    elif not reasons:
        reasons.append(Reason(code="interest", detail=phrases.say("close_to_profile")))
    return reasons


def item_result(
    candidate: Candidate,
    score: float,
    point: StoredPoint,
    seen: dict[str, StoredPoint],
    phrases: Phrases,
) -> Recommendation:
    """The item as shown: its shown reasons worded, one per code, "popular" when none holds."""
    reasons: list[Reason] = []
    codes: set[str] = set()
    for reason in candidate.shown_reasons():
        if reason.code in codes:
            continue
        if reason.code == "similar_to":
            similar = similar_to(point, seen, phrases)
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


def similar_to(
    candidate: StoredPoint, seen: dict[str, StoredPoint], phrases: Phrases
) -> Reason | None:
    """The closest thing the member did, when it is close enough to say so: it shares a
    tag or the category with the item, and their vectors are near."""
    vector = unit(np.asarray(candidate.vector, np.float32))
    closeness = {
        key: float(vector @ unit(np.asarray(point.vector, np.float32)))
        for key, point in seen.items()
        if related(candidate.payload, point.payload)
    }
    if not closeness:
        return None
    key = max(closeness, key=closeness.__getitem__)
    if closeness[key] < SIMILAR_TO_MIN:
        return None
    title = str(seen[key].payload.get("title", key))
    return Reason(code="similar_to", detail=phrases.say("similar_to", title=title), ref=key)
