"""Catalogue writes: PostgreSQL first (one transaction), then the derived vector index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from ai_backend.catalog import repository as rows
from ai_backend.catalog.indexing import Indexer
from ai_backend.catalog.people import PeopleIndexer
from ai_backend.catalog.schemas import (
    BatchResult,
    ItemBatchEntry,
    ItemWrite,
    PracticeRead,
    PracticeWrite,
    UserWrite,
)
from ai_backend.db import practice_items
from ai_backend.db.models import Item, Practice, User
from ai_backend.db.rows import status_of, upsert_rows
from ai_backend.db.uow import UnitOfWork
from ai_backend.domain import WriteStatus, practice_item_id
from ai_backend.errors import NotFound, UnknownOwner, UnknownUser
from ai_backend.events import Events, ProfilesChanged, UserErased
from ai_backend.schemas import WriteResult

# What PracticeRead takes straight from a practice row; the rest is the check-in tally.
PRACTICE_COLUMNS = tuple(set(PracticeRead.model_fields) - {"checkins", "last_checkin"})


def _item_row(item_id: str, item: ItemWrite, **extra: Any) -> dict[str, Any]:
    row = item.model_dump(mode="json")
    row.update(id=item_id, **extra)
    return row


class CatalogService:
    """Writes for items, users and practices. Each call works in the caller's unit of work; the
    index syncs and the events it causes run once that commits."""

    def __init__(self, indexer: Indexer, people: PeopleIndexer, events: Events) -> None:
        self.indexer = indexer
        self.people = people
        self.events = events

    def _sync_items(self, uow: UnitOfWork, ids: Sequence[str]) -> None:
        if ids:
            uow.after_commit(lambda: self.indexer.sync(list(ids)))

    def _profiles_changed(self, uow: UnitOfWork, user_ids: Sequence[str]) -> None:
        uow.after_commit(lambda: self.events.publish(ProfilesChanged(tuple(user_ids))))

    async def write_items(self, uow: UnitOfWork, raw_entries: Sequence[Any]) -> BatchResult:
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

        owners = {e.owner_id for _, e in valid.values() if e.owner_id}
        unknown = owners - await rows.known_users(uow.session, owners)
        written = []
        for position, entry in valid.values():
            if entry.owner_id in unknown:
                results[position] = WriteResult(
                    id=entry.id,
                    status="failed",
                    error=f"owner_id: '{entry.owner_id}' is not a known user; "
                    "upsert the user first",
                )
            else:
                written.append(_item_row(entry.id, entry, practice_id=None))
        statuses = await rows.write_item_rows(uow.session, written)
        for position, entry in valid.values():
            if entry.id in statuses:
                results[position] = WriteResult(id=entry.id, status=statuses[entry.id])
        self._sync_items(uow, [i for i, s in statuses.items() if s != "unchanged"])
        final = [r for r in results if r is not None]
        counts: dict[WriteStatus, int] = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
        for result in final:
            counts[result.status] += 1
        return BatchResult(results=final, counts=counts)

    async def write_item(self, uow: UnitOfWork, item_id: str, item: ItemWrite) -> WriteResult:
        batch = await self.write_items(uow, [{**item.model_dump(mode="json"), "id": item_id}])
        result = batch.results[0]
        if result.status == "failed":
            raise UnknownOwner(result.error or "owner_id is not a known user")
        return result

    async def get_item(self, uow: UnitOfWork, item_id: str) -> Item:
        item = await uow.session.get(Item, item_id)
        # Only public items are visible through the API, whatever the caller's scope.
        if item is None or item.visibility != "public":
            raise NotFound(f"no public item with id '{item_id}'")
        return item

    async def delete_items(self, uow: UnitOfWork, ids: Sequence[str]) -> int:
        deleted = await rows.delete_items(uow.session, ids)
        uow.after_commit(lambda: self.indexer.withdraw(deleted))
        return len(deleted)

    async def write_user(self, uow: UnitOfWork, user_id: str, user: UserWrite) -> WriteResult:
        row = {**user.model_dump(mode="json"), "id": user_id}
        existing = await uow.session.get(User, user_id)
        status = status_of(existing, row, list(UserWrite.model_fields))
        if status != "unchanged":
            await upsert_rows(uow.session, User, [row])
            uow.after_commit(lambda: self.people.sync([user_id]))
            self._profiles_changed(uow, [user_id])
        return WriteResult(id=user_id, status=status)

    async def delete_user(self, uow: UnitOfWork, user_id: str) -> bool:
        """Erase a member: their rows, vectors and every cached answer that is theirs or names
        them or their items.

        The rows go by cascade: practices, check-ins (theirs and others' on their practices),
        owned items and the events on them, events, and feedback jobs with their results.
        Cached copies are erased before the rows and again once they are gone, so a failure
        part-way leaves the rows in place for a retry (the call is idempotent), and an answer
        computed while the rows were going is caught by the second pass.
        """
        owned = await rows.items_owned_by(uow.session, user_id)
        await self._erased(user_id, owned)
        gone = await rows.delete_user(uow.session, user_id)
        uow.after_commit(lambda: self.indexer.withdraw(owned))
        uow.after_commit(lambda: self.people.index.delete([user_id]))
        uow.after_commit(lambda: self._erased(user_id, owned))
        return gone

    async def _erased(self, user_id: str, owned: Sequence[str]) -> None:
        """Everything derived from the member outside PostgreSQL goes (`UserErased`)."""
        await self.events.publish(UserErased(user_id, tuple(owned)))

    async def practices_of(
        self, uow: UnitOfWork, user_id: str, *, limit: int
    ) -> list[PracticeRead]:
        """A member's practices, newest first, each with its check-in count and latest date."""
        if not await rows.known_users(uow.session, {user_id}):
            raise UnknownUser(user_id)
        found = await rows.practices_with_tally(uow.session, user_id, limit=limit)
        return [
            PracticeRead.model_validate(
                {
                    **{column: getattr(practice, column) for column in PRACTICE_COLUMNS},
                    "checkins": checkins or 0,
                    "last_checkin": last_checkin,
                }
            )
            for practice, checkins, last_checkin in found
        ]

    async def write_practice(
        self, uow: UnitOfWork, practice_id: str, practice: PracticeWrite
    ) -> WriteResult:
        row = {**practice.model_dump(mode="json"), "id": practice_id}
        for key in ("start_date", "end_date"):
            row[key] = getattr(practice, key)
        if not await rows.known_users(uow.session, {practice.owner_id}):
            raise UnknownOwner(
                f"owner_id: '{practice.owner_id}' is not a known user; upsert the user first"
            )
        existing = await uow.session.get(Practice, practice_id)
        status = status_of(existing, row, list(PracticeWrite.model_fields))
        if status != "unchanged":
            await upsert_rows(uow.session, Practice, [row])
            # Its item follows: searchable while DaoDao would show it, with the notes others
            # may read (`db/practice_items.py`).
            await practice_items.refresh(uow.session, [practice_id])
            self._profiles_changed(uow, [practice.owner_id])
        self._sync_items(uow, [practice_item_id(practice_id)])
        return WriteResult(id=practice_id, status=status)

    async def delete_practice(self, uow: UnitOfWork, practice_id: str) -> bool:
        owner = await rows.delete_practice(uow.session, practice_id)
        uow.after_commit(lambda: self.indexer.withdraw([practice_item_id(practice_id)]))
        if owner is not None:
            self._profiles_changed(uow, [owner])
        return owner is not None


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "item"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
