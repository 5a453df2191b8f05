"""Partners for one practice (DaoDao's 找夥伴): members on a practice made from the same
template first, then members whose practices read close to this one in any language, then
members whose profiles read close to the owner's. Never the owner, a member they follow already,
or one who is not discoverable; only practices others may see are matched; reasons are in the
owner's language."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence, Set
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import Practice, User
from ai_backend.db.points import RowView, item_text
from ai_backend.domain import practice_item_id
from ai_backend.errors import NotFound
from ai_backend.infra.embedder import Embedder
from ai_backend.infra.vector_index import SearchRequest, VectorHit, VectorIndex
from ai_backend.recommend import repository
from ai_backend.recommend.explain import overlap
from ai_backend.recommend.fusion import normalised
from ai_backend.recommend.people import PeopleRanker
from ai_backend.recommend.reasons import Phrases, ReasonLocale, reason_locale
from ai_backend.recommend.schemas import PartnerPage, Reason, Recommendation

logger = logging.getLogger(__name__)
SIMILAR_DEPTH = 60  # practices the meaning search brings
# How much each way of matching counts, in tiers: the same template (3) outweighs any close
# practice (1 to 2), which outweighs any close profile with shared interests (under 1).
TEMPLATE_WEIGHT = 3.0
PRACTICE_WEIGHT = 1.0
PROFILE_WEIGHT = 0.5
INTEREST_WEIGHT = 0.2


@dataclass
class Partner:
    user_id: str
    score: float = 0.0
    reasons: list[Reason] = field(default_factory=list)


class PartnerFinder:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        items: VectorIndex,
        embedder: Embedder,
        people: PeopleRanker,
    ) -> None:
        self.sessions = sessions
        self.items = items
        self.embedder = embedder
        self.people = people

    async def find(
        self,
        practice_id: str,
        *,
        limit: int,
        exclude: Sequence[str] = (),
        locale: ReasonLocale | None = None,
    ) -> PartnerPage:
        async with self.sessions() as session:
            practice = await session.get(Practice, practice_id)
            if practice is None:
                raise NotFound(f"no practice with id '{practice_id}'; upsert it first")
            owner = await repository.member(session, practice.owner_id)
            followed = await repository.followed(session, owner.id)
            excluded = {owner.id, *exclude, *followed}
            same = await repository.template_practices(session, practice, excluded)
        phrases = Phrases(locale or reason_locale(owner.locale))
        (similar, failed), (close, degraded) = await asyncio.gather(
            self._similar_practices(practice, excluded), self.people.close_profiles(owner, excluded)
        )
        found: dict[str, Partner] = {}
        for other in same:
            partner = found.setdefault(other.owner_id, Partner(other.owner_id))
            if partner.score < TEMPLATE_WEIGHT:
                partner.score += TEMPLATE_WEIGHT
                detail = phrases.say("same_template", title=other.title)
                partner.reasons.append(Reason(code="same_template", detail=detail, ref=other.id))
        for hit, share in similar:
            owner_id = str(hit.payload["owner_id"])
            partner = found.setdefault(owner_id, Partner(owner_id))
            if not any(r.code in ("same_template", "similar_practice") for r in partner.reasons):
                partner.score += PRACTICE_WEIGHT * (1.0 + share)
                detail = phrases.say("similar_practice", title=hit.payload.get("title", ""))
                ref = hit.key.removeprefix(practice_item_id(""))
                partner.reasons.append(Reason(code="similar_practice", detail=detail, ref=ref))
        for key, share in normalised([(h.key, h.score) for h in close]):
            found.setdefault(key, Partner(key)).score += PROFILE_WEIGHT * share
        results = await self._explained(owner, found, phrases)
        return PartnerPage(
            practice_id=practice_id, partners=results[:limit], degraded=failed or degraded
        )

    async def _similar_practices(
        self, practice: Practice, excluded: Set[str]
    ) -> tuple[list[tuple[VectorHit, float]], bool]:
        """Others' practices closest in meaning to this one, best first, each with its share of
        the search's range; and whether the index failed."""
        key = practice_item_id(practice.id)
        try:
            stored = await self.items.fetch([key])
            if key in stored:
                vector = list(stored[key].vector)
            else:  # a practice others cannot see is not in the index: its text is embedded
                shown = {"title": practice.title, "tags": practice.tags}
                text = item_text(RowView({**shown, "description": practice.practice_action}))
                vector = (await self.embedder.aencode_passages([text]))[0].tolist()
            request = SearchRequest(
                mode="semantic",
                limit=SIMILAR_DEPTH,
                dense=vector,
                where={"kind": "practice"},
                exclude=[key],
                payload_fields=("owner_id", "title"),
            )
            hits = await self.items.search(request)
        except Exception:
            logger.exception("item index unavailable for partner suggestions")
            return [], True
        # Closeness above the cosine of related passages, as a share of the way to identical.
        floor = self.embedder.related_passages
        shares = [
            (h, (h.score - floor) / (1.0 - floor))
            for h in hits
            if h.payload.get("owner_id") not in excluded and h.score > floor
        ]
        return shares, False

    async def _explained(
        self, owner: User, found: dict[str, Partner], phrases: Phrases
    ) -> list[Recommendation]:
        """The discoverable ones, with the interests they share, best first."""
        async with self.sessions() as session:
            people = await repository.discoverable(session, list(found))
        results = []
        for key, other in people.items():
            partner = found[key]
            if shared := overlap(other.interests, owner.interests):
                partner.score += INTEREST_WEIGHT * min(len(shared), 3) / 3
                detail = phrases.say("shares_interests", names=shared)
                partner.reasons.append(Reason(code="interest", detail=detail))
            if not partner.reasons:
                partner.reasons.append(Reason(code="interest", detail=phrases.say("close_profile")))
            results.append(
                Recommendation(
                    id=key,
                    kind="person",
                    title=other.display_name,
                    score=round(partner.score, 6),
                    reasons=partner.reasons,
                )
            )
        results.sort(key=lambda r: (-r.score, r.id))
        return results
