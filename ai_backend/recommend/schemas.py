"""Learning-history events in, recommendations out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, Strict

from ai_backend.catalog.schemas import EntityId
from ai_backend.domain import MAX_BATCH_ITEMS, MAX_PAGE, EventType, ItemKind

Target = Literal["items", "people"]
ReasonCode = Literal[
    "similar_to",
    "collaborative",
    "tag_match",
    "interest",
    "professional_field",
    "ongoing_practice",
    "popular",
]
CacheState = Literal["hit", "miss", "stale"]
MAX_EXCLUDE = 500


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: EntityId
    user_id: EntityId
    item_id: EntityId
    type: EventType
    occurred_at: AwareDatetime = Field(description="ISO 8601 with a time zone")


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_BATCH_ITEMS)]


class EventsResult(BaseModel):
    received: int = Field(description="events in the request")
    created: int = Field(description="events stored by this request")
    duplicates: int = Field(description="events already stored under the same id (ignored)")


class RecommendQuery(BaseModel):
    """What `POST /v1/recommend` takes; the GET route takes the same as query parameters."""

    model_config = ConfigDict(extra="forbid")

    user_id: EntityId
    target: Target = "items"
    limit: Annotated[int, Strict(), Field(ge=1, le=MAX_PAGE)] = 10
    kind: Annotated[
        list[ItemKind] | None,
        Field(max_length=8, description="only these item kinds (target=items only)"),
    ] = None
    exclude_ids: Annotated[list[EntityId], Field(max_length=MAX_EXCLUDE)] = []


class Reason(BaseModel):
    code: ReasonCode
    detail: str
    # The item or member the reason points at, when there is one.
    ref: str | None = None


class Recommendation(BaseModel):
    id: str
    kind: str = Field(description="the item's kind, or 'person'")
    title: str = Field(description="the item's title, or the member's display name")
    score: float
    reasons: list[Reason]


class RecommendationPage(BaseModel):
    cache: CacheState
    degraded: bool = Field(description="true when computed without the cache or a source")
    items: list[Recommendation]
    generated_at: datetime


class ModelState(BaseModel):
    trained_at: datetime | None
    items: int = Field(description="items the collaborative model covers")
    users: int
    interactions: int
    took_ms: int | None
