"""Load `catalog.json` into an empty database, in one transaction."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from ai_backend.db.models import Checkin, Event, Item, Practice, User
from ai_backend.domain import practice_item_id

CATALOG = Path(__file__).with_name("catalog.json")
# Histories are dated from a fixed day, so two loads of the demo give identical rows.
HISTORY_START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def read_catalog(path: Path = CATALOG) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _practice_rows(data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    practices, items = [], []
    for raw in data["practices"]:
        row = {
            **raw,
            "start_date": date.fromisoformat(raw["start_date"]),
            "end_date": date.fromisoformat(raw["end_date"]),
        }
        practices.append(row)
        if raw["privacy"] == "public":
            # A public practice is searchable and recommendable as an item of its own.
            items.append(
                {
                    "id": practice_item_id(raw["id"]),
                    "kind": "practice",
                    "title": raw["title"],
                    "description": raw["practice_action"],
                    "tags": raw["tags"],
                    "category": "practice",
                    "level": "all",
                    "language": "en" if raw["title"].isascii() else "zh-TW",
                    "url": None,
                    "owner_id": raw["owner_id"],
                    "practice_id": raw["id"],
                    "visibility": "public",
                }
            )
    return practices, items


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
    practices, practice_items = _practice_rows(data)
    owners = {p["id"]: p["owner_id"] for p in practices}
    batches: list[tuple[Any, list[dict[str, Any]]]] = [
        (User, data["users"]),
        (Practice, practices),
        # Separate statements: an executemany takes its columns from the first row, and
        # practice items carry columns (owner_id, practice_id) the catalogue's items leave out.
        (Item, data["items"]),
        (Item, practice_items),
        (Checkin, _checkin_rows(data, owners)),
        (Event, _event_rows(data)),
    ]
    counts: dict[str, int] = {}
    for model, rows in batches:
        await conn.execute(insert(model), rows)
        counts[model.__tablename__] = counts.get(model.__tablename__, 0) + len(rows)
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
