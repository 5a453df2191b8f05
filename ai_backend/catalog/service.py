"""Catalogue writes: PostgreSQL first (one transaction), then the derived vector index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ai_backend.catalog.indexing import Indexer, fingerprint
from ai_backend.catalog.people import PeopleIndexer
from ai_backend.catalog.schemas import (
    BatchResult,
    CheckinWrite,
    ItemBatchEntry,
    ItemWrite,
    PracticeRead,
    PracticeWrite,
    UserWrite,
    WriteResult,
    WriteStatus,
)
from ai_backend.db.models import Checkin, Item, Practice, User
from ai_backend.domain import practice_item_id
from ai_backend.errors import Conflict, DomainError, NotFound, UnknownUser
from ai_backend.events import Events, ProfilesChanged, UserErased

ITEM_FIELDS = tuple(ItemWrite.model_fields)
# What PracticeRead takes straight from a practice row; the rest is the check-in tally.
PRACTICE_COLUMNS = tuple(set(PracticeRead.model_fields) - {"checkins", "last_checkin"})


class UnknownOwner(DomainError):
    status_code = 422
    code = "unknown_owner"


def _item_row(item_id: str, item: ItemWrite, **extra: Any) -> dict[str, Any]:
    row = item.model_dump(mode="json")
    row.update(id=item_id, **extra)
    return row


def _status(existing: Any, row: dict[str, Any], fields: Sequence[str]) -> WriteStatus:
    if existing is None:
        return "created"
    same = all(getattr(existing, f) == row[f] for f in fields)
    return "unchanged" if same else "updated"


async def _known_users(session: AsyncSession, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    return set((await session.scalars(select(User.id).where(User.id.in_(ids)))).all())


async def _upsert_rows(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = insert(model).values(rows)
    columns: dict[str, Any] = {c: statement.excluded[c] for c in rows[0] if c != "id"}
    columns["updated_at"] = func.now()
    await session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=columns))


async def _write_item_rows(
    session: AsyncSession, rows: list[dict[str, Any]]
) -> dict[str, WriteStatus]:
    """Upsert validated item rows whose owners exist; return each id's status."""
    existing = {
        item.id: item
        for item in (
            await session.scalars(select(Item).where(Item.id.in_([r["id"] for r in rows])))
        )
    }
    statuses: dict[str, WriteStatus] = {}
    changed = []
    for row in rows:
        status = _status(existing.get(row["id"]), row, [*ITEM_FIELDS, "practice_id"])
        statuses[row["id"]] = status
        if status != "unchanged":
            row["fingerprint"] = fingerprint(_Row(row))
            changed.append(row)
    await _upsert_rows(session, Item, changed)
    return statuses


class _Row:
    """Attribute access over a row dict, so fingerprint() reads rows and ORM objects alike."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


class CatalogService:
    """Writes for items, users and practices; each call is one transaction, then an index sync."""

    def __init__(self, indexer: Indexer, people: PeopleIndexer, events: Events) -> None:
        self.indexer = indexer
        self.people = people
        self.sessions = indexer.sessions
        self.events = events

    async def _profiles_changed(self, user_ids: Sequence[str]) -> None:
        await self.events.publish(ProfilesChanged(tuple(user_ids)))

    async def write_items(self, raw_entries: Sequence[Any]) -> BatchResult:
        """Validate each entry alone; the last entry for an id wins; a failure sinks itself only."""
        results: list[WriteResult | None] = [None] * len(raw_entries)
        valid: dict[str, tuple[int, ItemBatchEntry]] = {}
        for position, raw in enumerate(raw_entries):
            try:
                entry = ItemBatchEntry.model_validate(raw)
            except ValidationError as exc:
                ident = raw.get("id") if isinstance(raw, dict) else None
                results[position] = WriteResult(
                    id=str(ident or f"#{position}"), status="failed", error=_explain(exc)
                )
                continue
            if entry.id in valid:
                earlier, _ = valid[entry.id]
                results[earlier] = WriteResult(
                    id=entry.id,
                    status="unchanged",
                    error=f"superseded by entry #{position} with the same id (last one wins)",
                )
            valid[entry.id] = (position, entry)

        async with self.sessions() as session:
            owners = {e.owner_id for _, e in valid.values() if e.owner_id}
            unknown = owners - await _known_users(session, owners)
            rows = []
            for position, entry in valid.values():
                if entry.owner_id in unknown:
                    results[position] = WriteResult(
                        id=entry.id,
                        status="failed",
                        error=f"owner_id: '{entry.owner_id}' is not a known user; "
                        "upsert the user first",
                    )
                else:
                    rows.append(_item_row(entry.id, entry, practice_id=None))
            statuses = await _write_item_rows(session, rows) if rows else {}
            await session.commit()
        for position, entry in valid.values():
            if entry.id in statuses:
                results[position] = WriteResult(id=entry.id, status=statuses[entry.id])
        await self.indexer.sync([i for i, s in statuses.items() if s != "unchanged"])
        final = [r for r in results if r is not None]
        counts: dict[WriteStatus, int] = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
        for result in final:
            counts[result.status] += 1
        return BatchResult(results=final, counts=counts)

    async def write_item(self, item_id: str, item: ItemWrite) -> WriteResult:
        batch = await self.write_items([{**item.model_dump(mode="json"), "id": item_id}])
        result = batch.results[0]
        if result.status == "failed":
            raise UnknownOwner(result.error or "owner_id is not a known user")
        return result

    async def get_item(self, item_id: str) -> Item:
        async with self.sessions() as session:
            item = await session.get(Item, item_id)
        # Only public items are visible through the API, whatever the caller's scope.
        if item is None or item.visibility != "public":
            raise NotFound(f"no public item with id '{item_id}'")
        return item

    async def delete_items(self, ids: Sequence[str]) -> int:
        async with self.sessions() as session:
            deleted = list(
                (
                    await session.scalars(delete(Item).where(Item.id.in_(ids)).returning(Item.id))
                ).all()
            )
            await session.commit()
        await self.indexer.withdraw(deleted)
        return len(deleted)

    async def write_user(self, user_id: str, user: UserWrite) -> WriteResult:
        row = {**user.model_dump(mode="json"), "id": user_id}
        async with self.sessions() as session:
            status = _status(await session.get(User, user_id), row, list(UserWrite.model_fields))
            if status != "unchanged":
                await _upsert_rows(session, User, [row])
            await session.commit()
        if status != "unchanged":
            await self.people.sync([user_id])
            await self._profiles_changed([user_id])
        return WriteResult(id=user_id, status=status)

    async def delete_user(self, user_id: str) -> bool:
        """Erase a member: their rows, vectors and every cached answer that is theirs or names
        them or their items.

        The rows go by cascade: practices, check-ins (theirs and others' on their practices),
        owned items and the events on them, events, and feedback jobs with their results.
        Cached copies are erased before the rows and again after, so a failure part-way leaves
        the rows in place for a retry (the call is idempotent), and an answer computed while
        the rows were going is caught by the second pass.
        """
        async with self.sessions() as session:
            owned = list(
                (await session.scalars(select(Item.id).where(Item.owner_id == user_id))).all()
            )
        await self._erased(user_id, owned)
        async with self.sessions() as session:
            gone = await session.scalar(delete(User).where(User.id == user_id).returning(User.id))
            await session.commit()
        await self.indexer.withdraw(owned)
        await self.people.index.delete([user_id])
        await self._erased(user_id, owned)
        return gone is not None

    async def _erased(self, user_id: str, owned: Sequence[str]) -> None:
        """Everything derived from the member outside PostgreSQL goes (`UserErased`)."""
        await self.events.publish(UserErased(user_id, tuple(owned)))

    async def practices_of(self, user_id: str, *, limit: int) -> list[PracticeRead]:
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
        async with self.sessions() as session:
            if not await _known_users(session, {user_id}):
                raise UnknownUser(user_id)
            rows = (await session.execute(query)).all()
        return [
            PracticeRead.model_validate(
                {
                    **{column: getattr(practice, column) for column in PRACTICE_COLUMNS},
                    "checkins": checkins or 0,
                    "last_checkin": last_checkin,
                }
            )
            for practice, checkins, last_checkin in rows
        ]

    async def write_practice(self, practice_id: str, practice: PracticeWrite) -> WriteResult:
        row = {**practice.model_dump(mode="json"), "id": practice_id}
        for key in ("start_date", "end_date"):
            row[key] = getattr(practice, key)
        async with self.sessions() as session:
            if not await _known_users(session, {practice.owner_id}):
                raise UnknownOwner(
                    f"owner_id: '{practice.owner_id}' is not a known user; upsert the user first"
                )
            status = _status(
                await session.get(Practice, practice_id), row, list(PracticeWrite.model_fields)
            )
            if status != "unchanged":
                await _upsert_rows(session, Practice, [row])
                # A public practice is searchable as an item of its own; privacy follows along.
                item = ItemWrite(
                    kind="practice",
                    title=practice.title,
                    description=practice.practice_action,
                    tags=practice.tags,
                    category="practice",
                    language="en" if practice.title.isascii() else "zh-TW",
                    owner_id=practice.owner_id,
                    visibility=practice.privacy,
                )
                item_id = practice_item_id(practice_id)
                await _write_item_rows(session, [_item_row(item_id, item, practice_id=practice_id)])
            await session.commit()
        await self.indexer.sync([practice_item_id(practice_id)])
        if status != "unchanged":
            await self._profiles_changed([practice.owner_id])
        return WriteResult(id=practice_id, status=status)

    async def write_checkin(self, practice_id: str, checkin: CheckinWrite) -> WriteResult:
        """Upsert a check-in by id; it counts as history for the member at once."""
        row = {
            "id": checkin.id,
            "practice_id": practice_id,
            "user_id": checkin.user_id,
            "checkin_date": checkin.date,
            "mood": checkin.mood,
            "note": checkin.note,
            "tags": checkin.tags,
        }
        async with self.sessions() as session:
            if await session.get(Practice, practice_id) is None:
                raise NotFound(f"no practice with id '{practice_id}'; upsert it first")
            if not await _known_users(session, {checkin.user_id}):
                raise UnknownOwner(
                    f"user_id: '{checkin.user_id}' is not a known user; upsert the user first"
                )
            existing = await session.get(Checkin, checkin.id)
            if existing is not None and existing.practice_id != practice_id:
                raise Conflict(
                    f"check-in '{checkin.id}' belongs to practice '{existing.practice_id}'"
                )
            fields = [k for k in row if k != "id"]
            status = _status(existing, row, fields)
            if status != "unchanged":
                await _upsert_rows(session, Checkin, [row])
            await session.commit()
        if status != "unchanged":
            await self._profiles_changed([checkin.user_id])
        return WriteResult(id=checkin.id, status=status)

    async def delete_practice(self, practice_id: str) -> bool:
        async with self.sessions() as session:
            owner = await session.scalar(
                delete(Practice).where(Practice.id == practice_id).returning(Practice.owner_id)
            )
            await session.commit()
        await self.indexer.withdraw([practice_item_id(practice_id)])
        if owner is not None:
            await self._profiles_changed([owner])
        return owner is not None


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "item"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
