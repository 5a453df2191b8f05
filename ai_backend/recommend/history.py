"""Learning history: events written idempotently, and read back per member for ranking.

A member's history is their events plus their check-ins, each check-in counting as a `checkin`
event on the practice's item.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, Subquery, cast, literal, select, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import Checkin, Item, Practice, User
from ai_backend.db.models import Event as EventRow
from ai_backend.domain import practice_item_id
from ai_backend.errors import Invalid
from ai_backend.recommend.schemas import Event, EventBatch, EventsResult

NEGATIVE = frozenset({"dislike", "hide"})
# How much each kind of action says about a member's taste.
TYPE_WEIGHTS = {
    "view": 1.0,
    "like": 2.0,
    "bookmark": 2.0,
    "complete": 3.0,
    "checkin": 2.0,
}
SECONDS_PER_DAY = 86_400.0
# Names listed in an error message before "and N more".
SHOWN = 5


def action_weight(type_: str, age_seconds: float, half_life_days: float) -> float:
    """What one action says about a member's taste: its type's weight, decayed over its age
    before the newest action considered. Older actions count less but never less than half:
    on MovieLens a plain 30-day half-life cost a fifth of NDCG@10 (0.30 against 0.376), this
    floor nothing. Training (`model.py`) and ranking (`service.py`) both weigh with this."""
    recency = 0.5 + 0.5 * math.pow(0.5, age_seconds / SECONDS_PER_DAY / half_life_days)
    return TYPE_WEIGHTS[type_] * recency


class UnknownReference(Invalid):
    code = "unknown_reference"


@dataclass(frozen=True, slots=True)
class Action:
    item_id: str
    type: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class History:
    """What a member did, newest first, and everything they must not be shown again."""

    actions: list[Action]
    excluded: frozenset[str]

    @property
    def positive(self) -> list[Action]:
        return [a for a in self.actions if a.type not in NEGATIVE]


def _listing(label: str, ids: Sequence[str]) -> str:
    shown = ", ".join(f"'{i}'" for i in sorted(ids)[:SHOWN])
    more = len(ids) - SHOWN
    return f"{label}: {shown}" + (f" and {more} more" if more > 0 else "")


def actions_query(user_id: str | None = None) -> Subquery:
    """Events and check-ins as one relation of (user_id, item_id, type, occurred_at)."""
    events = select(EventRow.user_id, EventRow.item_id, EventRow.type, EventRow.occurred_at)
    checkins = select(
        Checkin.user_id,
        literal(practice_item_id("")).concat(Checkin.practice_id),
        literal("checkin"),
        cast(Checkin.checkin_date, DateTime(timezone=True)),
    )
    if user_id is not None:
        events = events.where(EventRow.user_id == user_id)
        checkins = checkins.where(Checkin.user_id == user_id)
    return union_all(events, checkins).subquery("actions")


class HistoryStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def write(self, batch: EventBatch) -> tuple[EventsResult, set[str]]:
        """Store new events in one transaction; return the result and the members affected.

        Every event is checked before anything is written: an unknown member or item rejects
        the whole batch, so a retry after fixing it cannot half-apply.
        """
        first: dict[str, Event] = {}
        for event in batch.events:
            first.setdefault(event.id, event)
        users = {e.user_id for e in first.values()}
        items = {e.item_id for e in first.values()}
        async with self.sessions() as session:
            known_users = set(
                (await session.scalars(select(User.id).where(User.id.in_(users)))).all()
            )
            known_items = set(
                (await session.scalars(select(Item.id).where(Item.id.in_(items)))).all()
            )
            problems = []
            if missing := users - known_users:
                problems.append(_listing("unknown user_id", list(missing)))
            if missing := items - known_items:
                problems.append(_listing("unknown item_id", list(missing)))
            if problems:
                raise UnknownReference(
                    "; ".join(problems) + ". Upsert users and items first; nothing was stored."
                )
            statement = (
                insert(EventRow)
                .values([e.model_dump() for e in first.values()])
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(EventRow.user_id)
            )
            created = list((await session.scalars(statement)).all())
            await session.commit()
        result = EventsResult(
            received=len(batch.events),
            created=len(created),
            duplicates=len(batch.events) - len(created),
        )
        return result, set(created)

    async def history(self, session: AsyncSession, user_id: str, *, limit: int = 2000) -> History:
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
                select(EventRow.item_id).where(EventRow.user_id == user_id).distinct()
            )
            excluded.update(older)
        owned = await session.scalars(select(Item.id).where(Item.owner_id == user_id))
        excluded.update(owned)
        return History(actions=done, excluded=frozenset(excluded))

    async def active_practices(self, session: AsyncSession, user_id: str) -> list[Practice]:
        query = (
            select(Practice)
            .where(Practice.owner_id == user_id, Practice.status.in_(("active", "not_started")))
            .order_by(Practice.updated_at.desc())
            .limit(3)
        )
        return list((await session.scalars(query)).all())
