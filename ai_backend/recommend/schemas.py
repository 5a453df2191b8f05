"""Learning-history events in, recommendations out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, Strict, field_validator

from ai_backend.domain import MAX_BATCH_ITEMS, MAX_PAGE, EventType, ItemKind
from ai_backend.recommend.reasons import ReasonLocale
from ai_backend.schemas import EntityId, RequestBody

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


# Learning history begins here; anything later than a day from now is a clock gone wrong
# (one event in year 9999 would decay the rest of a member's history to nothing).
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)


class Event(RequestBody):
    id: EntityId
    user_id: EntityId
    item_id: EntityId
    type: EventType
    occurred_at: AwareDatetime = Field(
        description="ISO 8601 with a time zone, from 2000-01-01 to a day from now"
    )

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        latest = datetime.now(UTC) + CLOCK_SKEW
        if not EARLIEST_EVENT <= value <= latest:
            raise ValueError(
                f"must be between {EARLIEST_EVENT:%Y-%m-%d} and a day from now "
                f"({latest:%Y-%m-%dT%H:%MZ}); check the sender's clock and time zone"
            )
        return value


class EventBatch(RequestBody):
    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_BATCH_ITEMS)]


class EventsResult(BaseModel):
    received: int = Field(description="events in the request")
    created: int = Field(description="events stored by this request")
    duplicates: int = Field(description="events already stored under the same id (ignored)")


class RecommendQuery(RequestBody):
    """What `POST /v1/recommend` takes; the GET route takes the same as query parameters."""

    user_id: EntityId
    target: Target = "items"
    limit: Annotated[int, Strict(), Field(ge=1, le=MAX_PAGE)] = 10
    kind: Annotated[
        list[ItemKind] | None,
        Field(max_length=8, description="only these item kinds (target=items only)"),
    ] = None
    exclude_ids: Annotated[list[EntityId], Field(max_length=MAX_EXCLUDE)] = []
    locale: ReasonLocale | None = Field(
        default=None, description="the language of the reasons (default: the member's locale)"
    )


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
