"""A practice's catalogue item, derived from the practice and its check-ins.

A practice has one item row (`practice:<id>`). The index holds it only while the item is public,
and it is public only while DaoDao would show the practice to others (`domain.practice_listed`):
never a draft, a practice not started, an archived or a private one. It carries the owner's
check-in notes only while others may read them (`domain.notes_shared`): a public practice's at
once, a delayed one's once it is completed. Whoever changes a practice or its check-ins calls
`refresh` in the same transaction, so the item never disagrees with them; a moderator's `hidden`
stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ai_backend.db.models import Checkin, Item, Practice
from ai_backend.db.points import RowView, fingerprint
from ai_backend.db.rows import upsert_rows
from ai_backend.domain import notes_shared, practice_item_id, practice_listed

# The notes an item keeps, newest first: enough for keyword search, not a whole journal.
NOTES_CHARS = 3000
Executor = AsyncSession | AsyncConnection


async def _notes(executor: Executor, practice_ids: Sequence[str]) -> dict[str, str]:
    """Each practice's notes by its owner, newest first, joined and cut to NOTES_CHARS."""
    query = (
        select(Checkin.practice_id, Checkin.note)
        .join(Practice, Practice.id == Checkin.practice_id)
        .where(
            Checkin.practice_id.in_(practice_ids),
            Checkin.user_id == Practice.owner_id,
            func.length(func.trim(func.coalesce(Checkin.note, ""))) > 0,
        )
        .order_by(Checkin.checkin_date.desc(), Checkin.created_at.desc())
    )
    notes: dict[str, list[str]] = {}
    for practice_id, note in (await executor.execute(query)).all():
        notes.setdefault(practice_id, []).append((note or "").strip())
    return {p: "\n".join(n)[:NOTES_CHARS] for p, n in notes.items()}


def item_row(practice: Any, notes: str, old: Any, now: Any) -> dict[str, Any]:
    """The item row of `practice` (a practices row), given its owner's notes and its item row
    as it is (None: none yet)."""
    listed = practice_listed(practice.privacy, practice.status)
    visibility = "public" if listed else "private"
    if old is not None and old.visibility == "hidden":
        visibility = "hidden"
    row = {
        "id": practice_item_id(practice.id),
        "kind": "practice",
        "title": practice.title,
        "description": practice.practice_action,
        "tags": list(practice.tags),
        "category": "practice",
        "level": "all",
        "language": "en" if practice.title.isascii() else "zh-TW",
        "url": None,
        "owner_id": practice.owner_id,
        "practice_id": practice.id,
        "visibility": visibility,
        "status": practice.status,
        "duration_days": practice.duration_days,
        "notes": notes if notes_shared(practice.privacy, practice.status) else "",
        "created_at": old.created_at if old is not None else practice.created_at or now,
        "updated_at": now,
    }
    row["fingerprint"] = fingerprint(RowView(row))
    return row


async def refresh(executor: Executor, practice_ids: Sequence[str]) -> list[str]:
    """Derive the items of these practices again (a practice that is gone has none); return
    the ids of the items written, whose index points are now pending."""
    if not practice_ids:
        return []
    ids = sorted(set(practice_ids))
    practices = await executor.execute(select(Practice.__table__).where(Practice.id.in_(ids)))
    found = list(practices.all())
    if not found:
        return []
    items = await executor.execute(select(Item.__table__).where(Item.practice_id.in_(ids)))
    existing = {row.practice_id: row for row in items.all()}
    notes = await _notes(executor, ids)
    now = await executor.scalar(select(func.now()))
    rows = [item_row(p, notes.get(p.id, ""), existing.get(p.id), now) for p in found]
    await upsert_rows(executor, Item, rows)
    return [row["id"] for row in rows]
