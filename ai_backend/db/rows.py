"""Row helpers every feature's repository shares: which ids exist, an upsert by id, and what
an upsert does to a row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ai_backend.domain import WriteStatus


async def known_ids(session: AsyncSession, model: Any, ids: set[str]) -> set[str]:
    """Which of `ids` are rows of `model`."""
    if not ids:
        return set()
    return set((await session.scalars(select(model.id).where(model.id.in_(ids)))).all())


async def upsert_rows(
    session: AsyncSession | AsyncConnection, model: Any, rows: list[dict[str, Any]]
) -> None:
    """Insert `rows`, or update the ones whose id exists (and their `updated_at`, unless the
    rows give it)."""
    if not rows:
        return
    statement = insert(model).values(rows)
    columns: dict[str, Any] = {c: statement.excluded[c] for c in rows[0] if c != "id"}
    columns.setdefault("updated_at", func.now())
    await session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=columns))


def status_of(existing: Any, row: dict[str, Any], fields: Sequence[str]) -> WriteStatus:
    """What writing `row` over `existing` (None: no row yet) does to it."""
    if existing is None:
        return "created"
    same = all(getattr(existing, f) == row[f] for f in fields)
    return "unchanged" if same else "updated"
