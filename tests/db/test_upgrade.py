"""Upgrades keep the data: a database holding rows of the previous schema is migrated to the
head, and every row keeps its meaning."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from ai_backend.db import migrate

# The schema before DaoDao's privacy and status rules.
BEFORE_PRIVACY = "e41b7d09a3c6"


@pytest.fixture
async def scratch_url(database_url: str, unique: str) -> AsyncIterator[str]:
    """A database of its own on the same server, dropped afterwards."""
    name = f"upgrade_{unique}"
    admin = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    await admin.dispose()


async def _run(url: str, *statements: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))
    await engine.dispose()


async def _rows(conn: AsyncConnection, query: str) -> dict[str, tuple[object, ...]]:
    return {row[0]: tuple(row[1:]) for row in (await conn.execute(text(query))).all()}


async def test_privacy_migration_keeps_every_row(scratch_url: str) -> None:
    config = migrate.alembic_config(scratch_url)
    await asyncio.to_thread(command.upgrade, config, BEFORE_PRIVACY)
    await _run(
        scratch_url,
        "INSERT INTO users (id, display_name) VALUES ('u1', 'Mei'), ('u2', 'Kai')",
        # The old schema: privacy public, private or hidden; a practice item only when public
        # or hidden (the service wrote one for every practice, with the practice's privacy).
        "INSERT INTO practices (id, owner_id, title, duration_days, status, privacy) VALUES"
        " ('p-pub', 'u1', '每天素描', 21, 'active', 'public'),"
        " ('p-draft', 'u1', '草稿', 7, 'draft', 'public'),"
        " ('p-priv', 'u1', '私人日記', 30, 'active', 'private'),"
        " ('p-hid', 'u2', 'Moderated', 14, 'active', 'hidden')",
        "INSERT INTO items (id, kind, title, owner_id, practice_id, visibility, fingerprint,"
        " indexed_hash) VALUES"
        " ('practice:p-pub', 'practice', '每天素描', 'u1', 'p-pub', 'public', 'a:b', 'a:b'),"
        " ('practice:p-draft', 'practice', '草稿', 'u1', 'p-draft', 'public', 'c:d', 'c:d'),"
        " ('practice:p-hid', 'practice', 'Moderated', 'u2', 'p-hid', 'hidden', 'e:f', NULL),"
        " ('book-1', 'book', 'A book', NULL, NULL, 'public', 'g:h', 'g:h')",
        "INSERT INTO checkins (id, practice_id, user_id, checkin_date, note) VALUES"
        " ('c1', 'p-pub', 'u1', '2026-11-01', '畫了左手'),"
        " ('c2', 'p-pub', 'u1', '2026-11-02', '畫了右手'),"
        " ('c3', 'p-pub', 'u2', '2026-11-02', '別人的筆記'),"
        " ('c4', 'p-priv', 'u1', '2026-11-02', '只給自己看')",
        "INSERT INTO events (id, user_id, item_id, type, occurred_at) VALUES"
        " ('e1', 'u2', 'practice:p-pub', 'like', '2026-11-03T00:00:00Z')",
    )

    await asyncio.to_thread(migrate.upgrade, scratch_url)

    engine = create_async_engine(scratch_url)
    async with engine.connect() as conn:
        practices = await _rows(conn, "SELECT id, privacy, status, template_id FROM practices")
        items = await _rows(
            conn,
            "SELECT id, visibility, status, duration_days, notes, fingerprint, indexed_hash"
            " FROM items",
        )
        checkins = await _rows(conn, "SELECT id, image_urls FROM checkins")
        events = await _rows(conn, "SELECT id, item_id FROM events")
        default = await conn.scalar(
            text(
                "SELECT column_default FROM information_schema.columns"
                " WHERE table_name = 'practices' AND column_name = 'privacy'"
            )
        )
    await engine.dispose()

    assert practices == {
        "p-pub": ("public", "active", None),
        "p-draft": ("public", "draft", None),
        "p-priv": ("private", "active", None),
        # Nobody else saw a hidden practice; nobody does now.
        "p-hid": ("private", "active", None),
    }
    assert "private" in str(default)
    # The public practice keeps its item, now with its status, length and the owner's notes,
    # newest first (another member's note is not the owner's to share), and is pending.
    assert items["practice:p-pub"] == ("public", "active", 21, "畫了右手\n畫了左手", "", "a:b")
    # A public draft leaves the index at the next sync: private, and still held until then.
    assert items["practice:p-draft"] == ("private", "draft", 7, "", "", "c:d")
    # The moderator's hidden stays.
    assert items["practice:p-hid"][:2] == ("hidden", "active")
    # Other items are untouched.
    assert items["book-1"] == ("public", None, None, "", "g:h", "g:h")
    assert checkins == {cid: ([],) for cid in ("c1", "c2", "c3", "c4")}
    assert events == {"e1": ("practice:p-pub",)}
