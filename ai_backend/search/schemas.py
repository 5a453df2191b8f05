"""Search requests and results."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ai_backend.domain import ItemKind

MatchedMode = Literal["semantic", "keyword"]


class SearchHit(BaseModel):
    id: str
    kind: ItemKind
    title: str
    snippet: str
    score: float
    matched: list[MatchedMode]
    tags: list[str]
    url: str | None


class SearchPage(BaseModel):
    query: str
    mode: Literal["hybrid", "semantic", "keyword"]
    hits: list[SearchHit]
    offset: int
    next_cursor: str | None
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
