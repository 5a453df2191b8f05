"""The schema matches the models, and its constraints guard the data model's rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from ai_backend.db import migrate
from ai_backend.db.models import Checkin, Event, Item, Practice, User
from ai_backend.demo.loader import load_catalog, read_catalog

DAY = date(2026, 11, 1)
MOMENT = datetime(2026, 11, 1, tzinfo=UTC)


def test_alembic_check_is_clean(database_url: str) -> None:
    # Raises when the models have drifted from the migrations.
    migrate.check(database_url)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[AsyncConnection]:
    """A connection whose work is rolled back, so tests leave no rows behind."""
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()
    await engine.dispose()


async def rejected(conn: AsyncConnection, statement: object) -> bool:
    savepoint = await conn.begin_nested()
    try:
        await conn.execute(statement)  # type: ignore[call-overload]
    except IntegrityError:
        await savepoint.rollback()
        return True
    await savepoint.rollback()
    return False


async def test_constraints_reject_invalid_rows(conn: AsyncConnection, unique: str) -> None:
    user = f"u-{unique}"
    await conn.execute(insert(User).values(id=user, display_name="Test"))
    practice = {"id": f"p-{unique}", "owner_id": user, "title": "t", "duration_days": 30}
    assert await rejected(conn, insert(Practice).values({**practice, "duration_days": 91}))
    assert await rejected(conn, insert(Practice).values({**practice, "status": "paused"}))
    await conn.execute(insert(Practice).values(practice))
    checkin = {
        "id": f"c-{unique}",
        "practice_id": practice["id"],
        "user_id": user,
        "checkin_date": DAY,
    }
    assert await rejected(conn, insert(Checkin).values({**checkin, "mood": "ecstatic"}))
    assert await rejected(conn, insert(Checkin).values({**checkin, "note": "字" * 301}))
    await conn.execute(insert(Checkin).values({**checkin, "note": "字" * 300, "mood": "good"}))
    assert await rejected(conn, insert(Item).values(id=f"i-{unique}", kind="podcast", title="x"))
    await conn.execute(insert(Item).values(id=f"i-{unique}", kind="book", title="x"))
    event = {"id": f"e-{unique}", "user_id": user, "item_id": f"i-{unique}", "occurred_at": MOMENT}
    assert await rejected(conn, insert(Event).values({**event, "type": "share"}))


async def test_deleting_a_user_cascades(conn: AsyncConnection, unique: str) -> None:
    user = f"u-{unique}"
    await conn.execute(insert(User).values(id=user, display_name="Gone"))
    await conn.execute(
        insert(Practice).values(id=f"p-{unique}", owner_id=user, title="t", duration_days=7)
    )
    await conn.execute(
        insert(Item).values(
            id=f"i-{unique}", kind="practice", title="t", owner_id=user, practice_id=f"p-{unique}"
        )
    )
    await conn.execute(
        insert(Event).values(
            id=f"e-{unique}", user_id=user, item_id=f"i-{unique}", type="like", occurred_at=MOMENT
        )
    )
    await conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": user})
    for model in (Practice, Item, Event):
        left = (await conn.execute(select(model).where(model.id.like(f"%{unique}")))).all()
        assert left == [], model.__tablename__


async def test_demo_catalogue_loads_and_is_consistent(conn: AsyncConnection) -> None:
    data = read_catalog()
    assert 150 <= len(data["items"]) <= 300
    languages = {item["language"] for item in data["items"]}
    assert {"zh-TW", "en"} <= languages
    counts = await load_catalog(conn, data)
    # Every practice has an item; only those others may see are public.
    assert counts["items"] == len(data["items"]) + len(data["practices"])
    assert counts["events"] > 0
    assert counts["checkins"] > 0
    private = await conn.scalar(
        select(Item.visibility).where(Item.id == "practice:p-german-listen")
    )
    assert private == "private", "a private practice is never searchable"
    public = await conn.scalar(select(Item.visibility).where(Item.id == "practice:p-react-30"))
    assert public == "public"
    # A practice's item belongs to the practice's owner, so it is never recommended to them.
    unowned = await conn.scalar(
        select(Item.id).where(Item.practice_id.is_not(None), Item.owner_id.is_(None))
    )
    assert unowned is None


async def test_second_upgrade_is_a_no_op(database_url: str) -> None:
    # Start-up always runs `upgrade head`; on a migrated database it must change nothing.
    await asyncio.to_thread(migrate.upgrade, database_url)
    head = ScriptDirectory.from_config(migrate.alembic_config(database_url)).get_current_head()
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        current = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    await engine.dispose()
    assert current == head
