"""Search requests and results."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ai_backend.domain import ItemKind

MatchedMode = Literal["semantic", "keyword"]
MatchedField = Literal["title", "tags", "description", "notes"]
Sort = Literal["relevance", "updated", "created"]
# Fields whose values a search can count (`facets=`), each a filter of the same name.
FacetField = Literal[
    "kind",
    "tags",
    "category",
    "subcategory",
    "level",
    "language",
    "resource_type",
    "cost",
    "status",
]


class SearchHit(BaseModel):
    id: str
    kind: ItemKind
    title: str
    snippet: str
    score: float = Field(description="relevance; 0 when browsing without q")
    matched: list[MatchedMode]
    matched_fields: list[MatchedField] = Field(
        default=[], description="the fields that share a word with q: a practice's notes too"
    )
    tags: list[str]
    url: str | None
    image_url: str | None = None
    category: str | None = None
    subcategory: str | None = None
    level: str | None = None
    resource_type: str | None = None
    cost: str | None = None
    status: str | None = Field(default=None, description="a practice's status")
    duration_days: int | None = Field(default=None, description="a practice's length")
    updated_at: datetime | None = None


class FacetCount(BaseModel):
    value: str
    count: int


class SearchPage(BaseModel):
    query: str | None = Field(description="q as searched; null when browsing")
    mode: Literal["hybrid", "semantic", "keyword"]
    sort: Sort
    hits: list[SearchHit]
    offset: int
    next_cursor: str | None
    facets: dict[FacetField, list[FacetCount]] | None = Field(
        default=None,
        description="for each field asked for in `facets`, its commonest values and how many "
        "items under the same filters hold each",
    )
    degraded: bool = Field(
        default=False,
        description="true while the index is being rebuilt: some items may be missing",
    )


class SimilarPage(BaseModel):
    id: str
    hits: list[SearchHit]
    degraded: bool = Field(
        default=False,
        description="true while the index is being rebuilt: some items may be missing",
    )
