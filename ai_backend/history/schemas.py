"""What a member's learning history takes in: check-ins and events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    Field,
    field_validator,
    model_validator,
)

from ai_backend.domain import (
    CHECKIN_NOTE_MAX,
    MAX_BATCH_ITEMS,
    MAX_PAGE,
    MEMBER_EVENTS,
    EventType,
    Mood,
)
from ai_backend.schemas import EntityId, RequestBody, Tags

# Photos a check-in may carry, as DaoDao allows.
MAX_IMAGES = 3


class CheckinWrite(RequestBody):
    """An 打卡 on a practice: a date, an optional mood and an optional short note."""

    id: EntityId
    user_id: EntityId
    date: date
    mood: Mood | None = None
    note: Annotated[str, Field(max_length=CHECKIN_NOTE_MAX)] | None = None
    tags: Tags = []
    image_urls: Annotated[
        list[AnyHttpUrl], Field(max_length=MAX_IMAGES, description="at most 3 image URLs")
    ] = []

    @field_validator("image_urls")
    @classmethod
    def _short_urls(cls, urls: list[AnyHttpUrl]) -> list[AnyHttpUrl]:
        for position, url in enumerate(urls):
            if len(str(url)) > 2048:
                raise ValueError(f"image_urls[{position}] must be at most 2048 characters")
        return urls


# Learning history begins here; anything later than a day from now is a clock gone wrong
# (one event in year 9999 would decay the rest of a member's history to nothing).
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)


class Event(RequestBody):
    id: EntityId
    user_id: EntityId
    type: EventType
    item_id: EntityId | None = Field(
        default=None, description="the item, for every type but follow"
    )
    target_user_id: EntityId | None = Field(
        default=None, description="the member followed, for a follow only"
    )
    occurred_at: AwareDatetime = Field(
        description="ISO 8601 with a time zone, from 2000-01-01 to a day from now"
    )

    @model_validator(mode="after")
    def _one_target(self) -> Event:
        if self.type in MEMBER_EVENTS:
            if self.target_user_id is None or self.item_id is not None:
                raise ValueError(f"a {self.type} names target_user_id (a member), not item_id")
            if self.target_user_id == self.user_id:
                raise ValueError("target_user_id: a member cannot follow themself")
        elif self.item_id is None or self.target_user_id is not None:
            raise ValueError(f"a {self.type} names item_id (an item), not target_user_id")
        return self

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


class Reaction(BaseModel):
    id: str = Field(description="the event's id: DELETE /v1/events/{id} retracts it")
    type: EventType
    occurred_at: datetime


class ItemReactions(BaseModel):
    item_id: str
    reactions: list[Reaction] = Field(description="the member's events on the item, newest first")


class ReactionState(BaseModel):
    """What a member has done to each item asked about (views and check-ins aside)."""

    user_id: str
    items: list[ItemReactions]


# Items one state request may ask about.
MAX_STATE_ITEMS = MAX_PAGE
