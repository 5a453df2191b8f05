"""Feedback requests and the jobs that answer them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints, field_validator

from ai_backend.domain import FeedbackKind, FeedbackStatus
from ai_backend.schemas import RequestBody

Locale = Literal["zh-TW", "en"]
IdempotencyKey = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,200}$", strip_whitespace=True)
]


class FeedbackRequest(RequestBody):
    kind: FeedbackKind
    locale: Locale = "zh-TW"
    idempotency_key: IdempotencyKey | None = Field(
        default=None,
        description="the same key returns the same job; without one, the practice, kind and "
        "latest check-in make the key",
    )
    callback_url: AnyHttpUrl | None = Field(
        default=None, description="an http(s) URL that receives the result, signed"
    )

    @field_validator("callback_url")
    @classmethod
    def _callback_url(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and len(str(value)) > 2048:
            raise ValueError("must be at most 2048 characters")
        return value


class Accepted(BaseModel):
    job_id: uuid.UUID
    status: FeedbackStatus
    status_url: str


class Callback(BaseModel):
    url: str
    status: Literal["pending", "delivered", "failed"] | None
    attempts: int
    delivered_at: datetime | None
    error: str | None


class FeedbackJobView(BaseModel):
    job_id: uuid.UUID
    practice_id: str
    kind: FeedbackKind
    locale: str
    status: FeedbackStatus
    attempts: int
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    model: str | None
    prompt_version: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    result: dict[str, Any] | None
    source: Literal["model", "template"] | None = Field(
        description="who wrote the result: the model, or the hand-written template stored when "
        "no generation passed the checks"
    )
    failed_checks: list[str] = Field(
        description="the checks that rejected generations failed (empty when the first passed)"
    )
    error: str | None
    callback: Callback | None


class FeedbackJobList(BaseModel):
    jobs: list[FeedbackJobView]
