"""Response shapes for health and diagnostics."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, str]


class WhoAmI(BaseModel):
    subject: str
    scopes: list[str]


class WorkerPing(BaseModel):
    task_id: str
    worker: str
    request_id: str | None
    round_trip_ms: float
