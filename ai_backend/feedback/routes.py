"""Feedback requests (scope `write`) and job status (scope `read`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from sse_starlette import EventSourceResponse

from ai_backend import openapi
from ai_backend.deps import (
    PageLimit,
    ReadPrincipal,
    UnitOfWorkDep,
    WritePrincipal,
    provided,
)
from ai_backend.feedback.events import StatusWatch, follow
from ai_backend.feedback.schemas import Accepted, FeedbackJobList, FeedbackJobView, FeedbackRequest
from ai_backend.feedback.service import FeedbackService, view
from ai_backend.schemas import EntityId

router = APIRouter(prefix="/v1", tags=["feedback"])
FeedbackDep = Annotated[FeedbackService, provided("feedback")]
JOB_ID = "$response.body#/job_id"
ACCEPTED = openapi.responses(
    Accepted,
    (200, 202),
    FeedbackJob=openapi.to("/v1/feedback/{job_id}", "get", job_id=JOB_ID),
    FeedbackEvents=openapi.to("/v1/feedback/{job_id}/events", "get", job_id=JOB_ID),
)
ACCEPTED[200]["description"] = "the job this request already made"
# A stream reads the ledger at least this often, announcement or not.
POLL_SECONDS = 2.0
# A comment line this often keeps proxies from closing a quiet stream.
PING_SECONDS = 15
PracticeId = Annotated[EntityId, Path(description="the main backend's practice id")]


@router.post(
    "/practices/{practice_id}/feedback",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ACCEPTED,
)
async def request_feedback(
    practice_id: PracticeId,
    body: FeedbackRequest,
    _: WritePrincipal,
    feedback: FeedbackDep,
    uow: UnitOfWorkDep,
    response: Response,
) -> Accepted:
    """Ask for AI feedback on a practice; it is written in the background.

    Poll `status_url`, or follow it as server-sent events at `status_url + "/events"`. The same
    idempotency key (or, without one, the same practice, kind and latest check-in) returns the
    existing job with 200 and starts no second generation.
    """
    job, created = await feedback.request(uow, practice_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return Accepted(job_id=job.id, status=job.status, status_url=f"/v1/feedback/{job.id}")


@router.get("/feedback/{job_id}", response_model=FeedbackJobView)
async def feedback_status(
    job_id: Annotated[uuid.UUID, Path()], _: ReadPrincipal, feedback: FeedbackDep
) -> FeedbackJobView:
    """A job's status, attempts, timings, model, prompt version, token counts, and result."""
    return view(await feedback.get(job_id))


@router.get(
    "/feedback/{job_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "one event per status change, named after the status, each carrying "
            "the job as `GET /v1/feedback/{job_id}` returns it; the stream ends with "
            "`succeeded` or `failed`",
        }
    },
)
async def feedback_events(
    job_id: Annotated[uuid.UUID, Path()],
    _: ReadPrincipal,
    feedback: FeedbackDep,
    watch: Annotated[StatusWatch, provided("status_watch")],
) -> EventSourceResponse:
    """Follow a job as server-sent events instead of polling its status."""
    await feedback.get(job_id)  # 404 before the stream starts
    events = follow(feedback, watch, job_id, poll_seconds=POLL_SECONDS)
    return EventSourceResponse(events, ping=PING_SECONDS)


@router.get("/practices/{practice_id}/feedback", response_model=FeedbackJobList)
async def practice_feedback(
    practice_id: PracticeId,
    _: ReadPrincipal,
    feedback: FeedbackDep,
    limit: PageLimit = 20,
) -> FeedbackJobList:
    """A practice's feedback jobs, newest first."""
    return FeedbackJobList(
        jobs=[view(j) for j in await feedback.for_practice(practice_id, limit=limit)]
    )
