"""The catalogue's SQL: items, users and practices. Each function works in the session it is
given and flushes; the unit of work around it commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ai_backend.catalog.schemas import ItemWrite
from ai_backend.db.models import Checkin, Item, Practice, User
from ai_backend.db.points import RowView, fingerprint
from ai_backend.db.rows import known_ids, status_of, upsert_rows
from ai_backend.domain import WriteStatus

ITEM_FIELDS = tuple(ItemWrite.model_fields)


async def known_users(session: AsyncSession, ids: set[str]) -> set[str]:
    return await known_ids(session, User, ids)


async def write_item_rows(
    session: AsyncSession, rows: list[dict[str, Any]]
) -> dict[str, WriteStatus]:
    """Upsert validated item rows whose owners exist; return each id's status."""
    if not rows:
        return {}
    found = await session.scalars(select(Item).where(Item.id.in_([r["id"] for r in rows])))
    existing = {item.id: item for item in found}
    statuses: dict[str, WriteStatus] = {}
    changed = []
    now = await session.scalar(select(func.now()))
    for row in rows:
        old = existing.get(row["id"])
        status = status_of(old, row, [*ITEM_FIELDS, "practice_id"])
        statuses[row["id"]] = status
        if status != "unchanged":
            row.update(created_at=old.created_at if old else now, updated_at=now)
            row["fingerprint"] = fingerprint(RowView(row))
            changed.append(row)
    await upsert_rows(session, Item, changed)
    return statuses


async def delete_items(session: AsyncSession, ids: Sequence[str]) -> list[str]:
    """Delete the items of `ids`; the ids that were there."""
    deleted = await session.scalars(delete(Item).where(Item.id.in_(ids)).returning(Item.id))
    return list(deleted.all())


async def items_owned_by(session: AsyncSession, user_id: str) -> list[str]:
    return list((await session.scalars(select(Item.id).where(Item.owner_id == user_id))).all())


async def delete_user(session: AsyncSession, user_id: str) -> bool:
    """Delete a member; their practices, check-ins, items, events and feedback go by cascade."""
    gone = await session.scalar(delete(User).where(User.id == user_id).returning(User.id))
    return gone is not None


async def delete_practice(session: AsyncSession, practice_id: str) -> str | None:
    """Delete a practice (its check-ins and its item go by cascade); its owner, if it was there."""
    return await session.scalar(
        delete(Practice).where(Practice.id == practice_id).returning(Practice.owner_id)
    )


async def practices_with_tally(
    session: AsyncSession, user_id: str, *, limit: int
) -> list[tuple[Practice, int | None, date | None]]:
    """A member's practices, newest first, each with its check-in count and latest date."""
    tally = (
        select(
            Checkin.practice_id,
            func.count().label("checkins"),
            func.max(Checkin.checkin_date).label("last_checkin"),
        )
        .group_by(Checkin.practice_id)
        .subquery()
    )
    query = (
        select(Practice, tally.c.checkins, tally.c.last_checkin)
        .outerjoin(tally, tally.c.practice_id == Practice.id)
        .where(Practice.owner_id == user_id)
        .order_by(Practice.created_at.desc(), Practice.id)
        .limit(limit)
    )
    return [(p, n, last) for p, n, last in (await session.execute(query)).all()]
