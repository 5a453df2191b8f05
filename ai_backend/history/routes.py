"""Learning history in (scope `write`): check-ins on practices and events on items."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from ai_backend.deps import ReadPrincipal, UnitOfWorkDep, WritePrincipal, provided
from ai_backend.domain import ID_PATTERN
from ai_backend.errors import Invalid
from ai_backend.history.schemas import (
    MAX_STATE_ITEMS,
    CheckinWrite,
    EventBatch,
    EventsResult,
    ReactionState,
)
from ai_backend.history.service import HistoryService
from ai_backend.schemas import EntityId, WriteResult, listed

checkins = APIRouter(prefix="/v1", tags=["catalogue"])
events = APIRouter(prefix="/v1", tags=["recommendations"])
HistoryDep = Annotated[HistoryService, provided("history")]
ID_RE = re.compile(ID_PATTERN)


@checkins.post(
    "/practices/{practice_id}/checkins",
    response_model=WriteResult,
    responses={201: {"model": WriteResult}},
)
async def post_checkin(
    practice_id: Annotated[EntityId, Path(description="the main backend's id")],
    checkin: CheckinWrite,
    _: WritePrincipal,
    history: HistoryDep,
    uow: UnitOfWorkDep,
    response: Response,
) -> WriteResult:
    """Record a check-in (idempotent by its id); it counts as learning history at once."""
    result = await history.write_checkin(uow, practice_id, checkin)
    if result.status == "created":
        response.status_code = status.HTTP_201_CREATED
    return result


@checkins.delete(
    "/practices/{practice_id}/checkins/{checkin_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def delete_checkin(
    practice_id: Annotated[EntityId, Path(description="the main backend's id")],
    checkin_id: Annotated[EntityId, Path(description="the check-in's id")],
    _: WritePrincipal,
    history: HistoryDep,
    uow: UnitOfWorkDep,
) -> None:
    """Delete a check-in (idempotent): it leaves the member's history, the practice's
    searchable notes and every feedback prompt from now on. Feedback written about it goes
    with it."""
    await history.delete_checkin(uow, practice_id, checkin_id)


@events.post("/events", response_model=EventsResult)
async def post_events(
    batch: EventBatch, _: WritePrincipal, history: HistoryDep, uow: UnitOfWorkDep
) -> EventsResult:
    """Record up to 1,000 learning-history events, idempotently by event id.

    The batch is all or nothing: an unknown user or item rejects it with 422 and stores nothing.
    `dislike` and `hide` exclude the item for that member from the next response on, and a
    dislike pushes down items like it. `follow` names `target_user_id`, every other type
    `item_id`. `DELETE /v1/events/{id}` takes an event back.
    """
    return await history.write_events(uow, batch)


@events.delete(
    "/events/{event_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_event(
    event_id: Annotated[EntityId, Path(description="the event's id")],
    _: WritePrincipal,
    history: HistoryDep,
    uow: UnitOfWorkDep,
    user_id: Annotated[
        EntityId | None,
        Query(description="retract it only if it is this member's (as the gateway does)"),
    ] = None,
) -> None:
    """Retract an event (an un-like, an unfollow; idempotent): it stops counting at once."""
    await history.retract_event(uow, event_id, user_id=user_id)


@events.get("/users/{user_id}/reactions", response_model=ReactionState)
async def reactions(
    user_id: Annotated[EntityId, Path(description="the main backend's id")],
    _: ReadPrincipal,
    history: HistoryDep,
    uow: UnitOfWorkDep,
    item_ids: Annotated[
        list[str],
        Query(description=f"the items, comma-separated or repeated; at most {MAX_STATE_ITEMS}"),
    ],
) -> ReactionState:
    """The member's own reactions on each item: which of 加油, 啟發, 共鳴, 好奇, like, bookmark
    and the rest they have given, with the event ids that retract them."""
    ids = listed(item_ids)
    if not ids:
        raise Invalid("item_ids: name at least one item")
    if len(ids) > MAX_STATE_ITEMS:
        raise Invalid(f"item_ids: at most {MAX_STATE_ITEMS} items (got {len(ids)})")
    if bad := [i for i in ids if not ID_RE.match(i)]:
        raise Invalid(f"item_ids: {bad[0]!r} is not an id (letters, digits and ._:- only)")
    return await history.reactions(uow, user_id, ids)
