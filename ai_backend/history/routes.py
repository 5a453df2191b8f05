"""Learning history in (scope `write`): check-ins on practices and events on items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from ai_backend.deps import UnitOfWorkDep, WritePrincipal, provided
from ai_backend.history.schemas import CheckinWrite, EventBatch, EventsResult
from ai_backend.history.service import HistoryService
from ai_backend.schemas import EntityId, WriteResult

checkins = APIRouter(prefix="/v1", tags=["catalogue"])
events = APIRouter(prefix="/v1", tags=["recommendations"])
HistoryDep = Annotated[HistoryService, provided("history")]


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
    `dislike` and `hide` exclude the item for that member for good, from the next response on.
    """
    return await history.write_events(uow, batch)
