"""Load `catalog.json` into an empty database, in one transaction."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from ai_backend.db import practice_items
from ai_backend.db.models import Checkin, Event, Item, Practice, User

CATALOG = Path(__file__).with_name("catalog.json")
# Histories are dated from a fixed day, so two loads of the demo give identical rows.
HISTORY_START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def read_catalog(path: Path = CATALOG) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _practice_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            **raw,
            "start_date": date.fromisoformat(raw["start_date"]),
            "end_date": date.fromisoformat(raw["end_date"]),
        }
        for raw in data["practices"]
    ]


def _checkin_rows(data: dict[str, Any], owners: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"c-{practice_id}-{day}",
            "practice_id": practice_id,
            "user_id": owners[practice_id],
            "checkin_date": date.fromisoformat(day),
            "mood": mood,
            "note": note,
        }
        for practice_id, day, mood, note in data["checkins"]
    ]


def _event_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for user_id, history in data["history"].items():
        for event_type, item_ids in history.items():
            for offset, item_id in enumerate(item_ids):
                rows.append(
                    {
                        "id": f"e-{user_id}-{event_type}-{item_id}",
                        "user_id": user_id,
                        "item_id": item_id,
                        "type": event_type,
                        "occurred_at": HISTORY_START + timedelta(days=offset, hours=len(rows)),
                    }
                )
    return rows


async def load_catalog(conn: AsyncConnection, data: dict[str, Any]) -> dict[str, int]:
    practices = _practice_rows(data)
    owners = {p["id"]: p["owner_id"] for p in practices}
    batches: list[tuple[Any, list[dict[str, Any]]]] = [
        (User, data["users"]),
        (Practice, practices),
        (Item, data["items"]),
        (Checkin, _checkin_rows(data, owners)),
    ]
    counts: dict[str, int] = {}
    for model, rows in batches:
        await conn.execute(insert(model), rows)
        counts[model.__tablename__] = counts.get(model.__tablename__, 0) + len(rows)
    # Each practice's item, as the service derives it: searchable only if others may see it.
    counts["items"] += len(await practice_items.refresh(conn, list(owners)))
    events = _event_rows(data)
    await conn.execute(insert(Event), events)
    counts["events"] = len(events)
    return counts


async def load_demo_if_empty(database_url: str) -> str:
    """Load the demo set unless the database already holds users; say what happened."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            existing = await conn.scalar(select(func.count()).select_from(User))
            if existing:
                return f"database already has {existing} users; demo data not loaded again"
            counts = await load_catalog(conn, read_catalog())
    finally:
        await engine.dispose()
    summary = ", ".join(f"{n} {table}" for table, n in counts.items())
    return f"loaded demo data: {summary}"
