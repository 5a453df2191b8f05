"""People for one member: those whose profile reads close to theirs (a hybrid search of the
people index), who learned from the same items, or who share an interest, a tag or the field;
scored by what they share, each with the reasons a member reads."""

from __future__ import annotations

import logging
from collections.abc import Sequence, Set
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import Practice, User
from ai_backend.domain import fields_of, profile_text
from ai_backend.infra.keywords import KeywordEncoder
from ai_backend.infra.vector_index import Mode, SearchRequest, VectorHit, VectorIndex
from ai_backend.recommend import repository
from ai_backend.recommend.explain import overlap
from ai_backend.recommend.fusion import normalised
from ai_backend.recommend.reasons import Phrases
from ai_backend.recommend.request import RecommendRequest
from ai_backend.recommend.schemas import Reason, Recommendation

logger = logging.getLogger(__name__)
PROFILE_DEPTH = 50  # people the profile search brings


@dataclass(frozen=True)
class Circle:
    """What is known of the members around one member: how close each one's profile reads, and
    how many items each shares with them; the member's own practice tags and interests."""

    user: User
    scores: dict[str, dict[str, float]]
    shared_items: dict[str, float]
    mine: set[str]


class PeopleRanker:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        people: VectorIndex,
        keywords: KeywordEncoder,
    ) -> None:
        self.sessions = sessions
        self.people = people
        self.keywords = keywords

    async def rank(self, request: RecommendRequest) -> tuple[list[Recommendation], bool]:
        """The member's people, best first; and whether the people index failed."""
        async with self.sessions() as session:
            user = await repository.member(session, request.user_id)
            # Members they already follow are found already.
            followed = await repository.followed(session, user.id)
            excluded = {request.user_id, *request.exclude, *followed}
            overlapping = await repository.overlapping_people(session, user, excluded)
            shared_items = await repository.co_learners(session, user.id, excluded)
            own_tags = await repository.practice_tags(session, [user.id])
        semantic, degraded = await self.close_profiles(user, excluded)
        scores: dict[str, dict[str, float]] = {}
        for key, value in normalised([(h.key, h.score) for h in semantic]):
            scores.setdefault(key, {})["profile"] = value
        for key, value in normalised(list(shared_items.items())):
            scores.setdefault(key, {})["collaborative"] = value
        for key in overlapping:
            scores.setdefault(key, {})
        if not scores:
            return [], degraded
        async with self.sessions() as session:
            people = await repository.discoverable(session, list(scores))
            practices = await repository.public_practices(session, list(people))
        mine = set(own_tags.get(user.id, [])) | {t.casefold() for t in user.interests}
        circle = Circle(user, scores, shared_items, mine)
        phrases = request.phrases(user)
        results = [
            found
            for key, other in people.items()
            if (found := _suggest(circle, other, practices.get(key, []), phrases)) is not None
        ]
        results.sort(key=lambda r: (-r.score, r.id))
        return results[: request.limit], degraded

    async def close_profiles(self, user: User, excluded: Set[str]) -> tuple[list[VectorHit], bool]:
        """The discoverable members whose profiles read closest to this one's."""
        text = profile_text(user)
        if not text:
            return [], False
        try:
            own = await self.people.fetch([user.id])
            dense = own[user.id].vector if user.id in own else None
            search = self._profile_search(text, dense, excluded)
            return ([] if search is None else await self.people.search(search)), False
        except Exception:
            logger.exception("people index unavailable")
            return [], True

    def _profile_search(
        self, words: str, dense: Sequence[float] | None, excluded: Set[str]
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
            limit=PROFILE_DEPTH,
            dense=dense,
            sparse=sparse,
            where={"discoverable": "yes"},
            exclude=sorted(excluded),
        )


def _suggest(
    circle: Circle, other: User, practices: list[Practice], phrases: Phrases
) -> Recommendation | None:
    """Another member as a suggestion, scored by what they share; None when nothing can be said
    of why."""
    user, parts = circle.user, circle.scores[other.id]
    reasons: list[Reason] = []
    score = 0.5 * parts.get("profile", 0.0) + 0.4 * parts.get("collaborative", 0.0)
    if shared := overlap(other.interests, user.interests):
        score += 0.3 * min(len(shared), 3) / 3
        reasons.append(
            Reason(code="interest", detail=phrases.say("shares_interests", names=shared))
        )
    if shared := overlap(other.tags, user.tags):
        score += 0.1 * min(len(shared), 3) / 3
        reasons.append(Reason(code="tag_match", detail=phrases.say("shares_tags", names=shared)))
    theirs = {f.casefold(): f for f in fields_of(other)}
    if same := [theirs[f.casefold()] for f in fields_of(user) if f.casefold() in theirs]:
        score += 0.2
        detail = phrases.say("same_field", field=same[0])
        reasons.append(Reason(code="professional_field", detail=detail))
    if user.location and other.location and user.location.casefold() == other.location.casefold():
        score += 0.1
        detail = phrases.say("same_place", field=other.location)
        reasons.append(Reason(code="location", detail=detail))
    for practice in practices:
        if {t.casefold() for t in practice.tags} & circle.mine:
            score += 0.2
            detail = phrases.say("is_practising", title=practice.title)
            reasons.append(Reason(code="ongoing_practice", detail=detail, ref=practice.id))
            break
    if other.id in circle.shared_items:
        detail = phrases.say("same_items", count=int(circle.shared_items[other.id]))
        reasons.append(Reason(code="collaborative", detail=detail))
    if "profile" in parts and not reasons:
        reasons.append(Reason(code="interest", detail=phrases.say("close_profile")))
    if not reasons:
        return None
    return Recommendation(
        id=other.id, kind="person", title=other.display_name, score=round(score, 6), reasons=reasons
    )
