"""Learning-history events in, recommendations out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, Strict

from ai_backend.domain import MAX_PAGE, ItemKind
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
    "location",
    "same_template",
    "similar_practice",
]
CacheState = Literal["hit", "miss", "stale"]
MAX_EXCLUDE = 500


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


class PartnerPage(BaseModel):
    practice_id: str
    partners: list[Recommendation] = Field(
        description="members to practise with, best first: the same template, then close "
        "practices, then close profiles"
    )
    degraded: bool = Field(description="true when a source failed and the list may be short")
