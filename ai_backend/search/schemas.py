"""Search requests and results."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

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


class SimilarPage(BaseModel):
    id: str
    hits: list[SearchHit]
