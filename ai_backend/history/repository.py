"""The history's SQL: events and check-ins written, and a member's history read back. Each
function works in the session it is given; the unit of work around it commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ai_backend.db.models import Checkin, Item, Practice
from ai_backend.db.models import Event as EventRow
from ai_backend.history.actions import Action, History, actions_query


async def insert_events(session: AsyncSession, events: Iterable[dict[str, Any]]) -> list[str]:
    """Insert events, ignoring ids already stored; the member of each one inserted."""
    statement = (
        insert(EventRow)
        .values(list(events))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(EventRow.user_id)
    )
    return list((await session.scalars(statement)).all())


# Events that are a member's standing reaction to an item (views and check-ins are history,
# not a state a card shows).
STATE_TYPES = (
    *("like", "bookmark", "complete", "dislike", "hide"),
    *("cheer", "inspired", "resonate", "curious", "comment", "copy"),
)


async def delete_event(
    session: AsyncSession, event_id: str, *, user_id: str | None = None
) -> str | None:
    """Delete an event (only if it is `user_id`'s, when given); the member whose it was."""
    statement = delete(EventRow).where(EventRow.id == event_id)
    if user_id is not None:
        statement = statement.where(EventRow.user_id == user_id)
    return await session.scalar(statement.returning(EventRow.user_id))


async def events_on(
    session: AsyncSession, user_id: str, item_ids: Sequence[str]
) -> dict[str, list[EventRow]]:
    """The member's standing events on each of these items, newest first."""
    query = (
        select(EventRow)
        .where(
            EventRow.user_id == user_id,
            EventRow.item_id.in_(item_ids),
            EventRow.type.in_(STATE_TYPES),
        )
        .order_by(EventRow.occurred_at.desc(), EventRow.id)
    )
    found: dict[str, list[EventRow]] = {}
    for event in await session.scalars(query):
        found.setdefault(str(event.item_id), []).append(event)
    return found


async def delete_checkin(session: AsyncSession, practice_id: str, checkin_id: str) -> str | None:
    """Delete the check-in if it is the practice's; the member whose it was."""
    return await session.scalar(
        delete(Checkin)
        .where(Checkin.id == checkin_id, Checkin.practice_id == practice_id)
        .returning(Checkin.user_id)
    )


async def history(session: AsyncSession, user_id: str, *, limit: int = 2000) -> History:
    """The member's latest actions (newest first) and all items they must not see again."""
    actions = actions_query(user_id)
    rows = (
        await session.execute(
            select(actions.c.item_id, actions.c.type, actions.c.occurred_at)
            .order_by(actions.c.occurred_at.desc())
            .limit(limit)
        )
    ).all()
    done = [Action(r[0], r[1], r[2]) for r in rows]
    excluded = {a.item_id for a in done}
    if len(rows) == limit:
        # Beyond the ranking window, older items are still excluded, seen or not.
        older = await session.scalars(
            select(EventRow.item_id)
            .where(EventRow.user_id == user_id, EventRow.item_id.is_not(None))
            .distinct()
        )
        excluded.update(i for i in older if i is not None)
    owned = await session.scalars(select(Item.id).where(Item.owner_id == user_id))
    excluded.update(owned)
    return History(actions=done, excluded=frozenset(excluded))


async def active_practices(session: AsyncSession, user_id: str) -> list[Practice]:
    query = (
        select(Practice)
        .where(Practice.owner_id == user_id, Practice.status.in_(("active", "not_started")))
        .order_by(Practice.updated_at.desc())
        .limit(3)
    )
    return list((await session.scalars(query)).all())
