"""Writes to a member's learning history: check-ins and events. Each call works in the caller's
unit of work; the members whose history changed are announced (`ProfilesChanged`) once it
commits, so cached recommendations go stale at once."""

from __future__ import annotations

from collections.abc import Sequence

from ai_backend.db import practice_items
from ai_backend.db.models import Checkin, Item, Practice, User
from ai_backend.db.rows import known_ids, status_of, upsert_rows
from ai_backend.db.uow import UnitOfWork
from ai_backend.errors import Conflict, Invalid, NotFound, UnknownOwner, UnknownUser
from ai_backend.events import Events, ItemsChanged, ProfilesChanged
from ai_backend.history import repository as rows
from ai_backend.history.schemas import (
    CheckinWrite,
    Event,
    EventBatch,
    EventsResult,
    ItemReactions,
    Reaction,
    ReactionState,
)
from ai_backend.schemas import WriteResult

# Names listed in an error message before "and N more".
SHOWN = 5


class UnknownReference(Invalid):
    code = "unknown_reference"


def _listing(label: str, ids: Sequence[str]) -> str:
    shown = ", ".join(f"'{i}'" for i in sorted(ids)[:SHOWN])
    more = len(ids) - SHOWN
    return f"{label}: {shown}" + (f" and {more} more" if more > 0 else "")


class HistoryService:
    def __init__(self, events: Events) -> None:
        self.events = events

    def _changed(self, uow: UnitOfWork, user_ids: Sequence[str]) -> None:
        if user_ids:
            uow.after_commit(lambda: self.events.publish(ProfilesChanged(tuple(user_ids))))

    async def write_events(self, uow: UnitOfWork, batch: EventBatch) -> EventsResult:
        """Store new events, all or nothing.

        Every event is checked before anything is written: an unknown member or item rejects
        the whole batch, so a retry after fixing it cannot half-apply.
        """
        first: dict[str, Event] = {}
        for event in batch.events:
            first.setdefault(event.id, event)
        users = {e.user_id for e in first.values()}
        users |= {e.target_user_id for e in first.values() if e.target_user_id}
        items = {e.item_id for e in first.values() if e.item_id}
        problems = []
        if missing := users - await known_ids(uow.session, User, users):
            problems.append(_listing("unknown user_id", list(missing)))
        if missing := items - await known_ids(uow.session, Item, items):
            problems.append(_listing("unknown item_id", list(missing)))
        if problems:
            raise UnknownReference(
                "; ".join(problems) + ". Upsert users and items first; nothing was stored."
            )
        created = await rows.insert_events(uow.session, (e.model_dump() for e in first.values()))
        self._changed(uow, sorted(set(created)))
        return EventsResult(
            received=len(batch.events),
            created=len(created),
            duplicates=len(batch.events) - len(created),
        )

    async def retract_event(
        self, uow: UnitOfWork, event_id: str, *, user_id: str | None = None
    ) -> None:
        """Take an event back (an un-like, an unfollow): it no longer counts, at once.
        Retracting one that is gone is fine; with `user_id`, only that member's is taken."""
        owner = await rows.delete_event(uow.session, event_id, user_id=user_id)
        if owner is not None:
            self._changed(uow, [owner])

    async def reactions(
        self, uow: UnitOfWork, user_id: str, item_ids: Sequence[str]
    ) -> ReactionState:
        """The member's current events on each of these items, for the cards they see."""
        if not await known_ids(uow.session, User, {user_id}):
            raise UnknownUser(user_id)
        found = await rows.events_on(uow.session, user_id, item_ids)
        return ReactionState(
            user_id=user_id,
            items=[
                ItemReactions(
                    item_id=item_id,
                    reactions=[
                        Reaction(id=e.id, type=e.type, occurred_at=e.occurred_at)
                        for e in found.get(item_id, [])
                    ],
                )
                for item_id in item_ids
            ],
        )

    async def write_checkin(
        self, uow: UnitOfWork, practice_id: str, checkin: CheckinWrite
    ) -> WriteResult:
        """Upsert a check-in by id; it counts as history for the member at once."""
        row = {
            "id": checkin.id,
            "practice_id": practice_id,
            "user_id": checkin.user_id,
            "checkin_date": checkin.date,
            "mood": checkin.mood,
            "note": checkin.note,
            "tags": checkin.tags,
            "image_urls": [str(url) for url in checkin.image_urls],
        }
        session = uow.session
        if await session.get(Practice, practice_id) is None:
            raise NotFound(f"no practice with id '{practice_id}'; upsert it first")
        if not await known_ids(session, User, {checkin.user_id}):
            raise UnknownOwner(
                f"user_id: '{checkin.user_id}' is not a known user; upsert the user first"
            )
        existing = await session.get(Checkin, checkin.id)
        if existing is not None and existing.practice_id != practice_id:
            raise Conflict(f"check-in '{checkin.id}' belongs to practice '{existing.practice_id}'")
        status = status_of(existing, row, [k for k in row if k != "id"])
        if status != "unchanged":
            await upsert_rows(session, Checkin, [row])
            await self._practice_changed(uow, practice_id)
            self._changed(uow, [checkin.user_id])
        return WriteResult(id=checkin.id, status=status)

    async def delete_checkin(self, uow: UnitOfWork, practice_id: str, checkin_id: str) -> None:
        """Remove a check-in from the member's history, from the practice's searchable notes
        and from every prompt after this one. Deleting it twice is fine; deleting it through
        another practice is not."""
        user_id = await rows.delete_checkin(uow.session, practice_id, checkin_id)
        if user_id is None:
            elsewhere = await uow.session.get(Checkin, checkin_id)
            if elsewhere is not None:
                raise Conflict(
                    f"check-in '{checkin_id}' belongs to practice '{elsewhere.practice_id}'"
                )
            return
        await self._practice_changed(uow, practice_id)
        self._changed(uow, [user_id])

    async def _practice_changed(self, uow: UnitOfWork, practice_id: str) -> None:
        """The practice's item takes the check-ins as they are now; the index follows."""
        keys = tuple(await practice_items.refresh(uow.session, [practice_id]))
        if keys:
            uow.after_commit(lambda: self.events.publish(ItemsChanged(keys)))
