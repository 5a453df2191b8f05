"""The SQL of recommendations: the member asking, and the members like them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ai_backend.db.models import Event, Practice, TagList, User
from ai_backend.domain import SHOWN_STATUSES, fields_of
from ai_backend.errors import UnknownUser
from ai_backend.history.actions import NEGATIVE

# Members found by a shared interest, tag or field; and by shared items.
OVERLAPPING = 200
CO_LEARNERS = 50
TEMPLATE_PARTNERS = 100


async def member(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise UnknownUser(user_id)
    return user


async def discoverable(session: AsyncSession, user_ids: list[str]) -> dict[str, User]:
    """Those of these members who may be suggested to others."""
    query = select(User).where(User.id.in_(user_ids), User.discoverable.is_(True))
    return {u.id: u for u in await session.scalars(query)}


async def followed(session: AsyncSession, user_id: str) -> set[str]:
    """The members this member follows."""
    query = select(Event.target_user_id).where(Event.user_id == user_id, Event.type == "follow")
    return {t for t in await session.scalars(query) if t is not None}


async def overlapping_people(session: AsyncSession, user: User, excluded: set[str]) -> list[str]:
    """Discoverable members who share an interest, a tag or the professional field."""
    conditions: list[ColumnElement[bool]] = []
    if user.interests:
        conditions.append(User.interests.op("&&")(literal(user.interests, TagList)))
    if user.tags:
        conditions.append(User.tags.op("&&")(literal(user.tags, TagList)))
    if fields := fields_of(user):
        conditions.append(func.lower(User.professional_field).in_([f.lower() for f in fields]))
        conditions.append(User.professional_fields.op("&&")(literal(fields, TagList)))
    if not conditions:
        return []
    query = (
        select(User.id)
        .where(or_(*conditions), User.discoverable.is_(True), User.id.not_in(excluded))
        .limit(OVERLAPPING)
    )
    return list((await session.scalars(query)).all())


async def co_learners(session: AsyncSession, user_id: str, excluded: set[str]) -> dict[str, float]:
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
        .limit(CO_LEARNERS)
    )
    return {row[0]: float(row[1]) for row in await session.execute(query)}


async def practice_tags(session: AsyncSession, user_ids: list[str]) -> dict[str, list[str]]:
    """The tags of each member's ongoing practices, public or not, in lower case."""
    tags: dict[str, list[str]] = {}
    for practice in await _ongoing(session, user_ids):
        tags.setdefault(practice.owner_id, []).extend(t.casefold() for t in practice.tags)
    return tags


async def public_practices(session: AsyncSession, user_ids: list[str]) -> dict[str, list[Practice]]:
    """Each member's ongoing practices that others may see (public or delayed: their titles
    and tags are shown; never a practice not started yet)."""
    found: dict[str, list[Practice]] = {}
    for practice in await _ongoing(session, user_ids, public=True):
        found.setdefault(practice.owner_id, []).append(practice)
    return found


async def _ongoing(
    session: AsyncSession, user_ids: list[str], *, public: bool = False
) -> list[Practice]:
    if not user_ids:
        return []
    query = select(Practice).where(
        Practice.owner_id.in_(user_ids), Practice.status.in_(("active", "not_started"))
    )
    if public:
        query = query.where(
            Practice.privacy.in_(("public", "delayed")), Practice.status == "active"
        )
    return list((await session.scalars(query)).all())


async def template_practices(
    session: AsyncSession, practice: Practice, excluded: set[str]
) -> list[Practice]:
    """Others' practices made from the same template that others may see, newest first."""
    if practice.template_id is None:
        return []
    query = (
        select(Practice)
        .where(
            Practice.template_id == practice.template_id,
            Practice.id != practice.id,
            Practice.owner_id.not_in(excluded),
            Practice.privacy.in_(("public", "delayed")),
            Practice.status.in_(SHOWN_STATUSES),
        )
        .order_by(Practice.updated_at.desc())
        .limit(TEMPLATE_PARTNERS)
    )
    return list((await session.scalars(query)).all())
