"""`GET /v1/search` and `GET /v1/items/{id}/similar` (scope `read`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from ai_backend.deps import PageLimit, ReadPrincipal, provided
from ai_backend.domain import ItemKind, ItemLevel
from ai_backend.errors import Invalid
from ai_backend.schemas import EntityId, Language
from ai_backend.search.schemas import SearchPage, SimilarPage
from ai_backend.search.service import (
    MAX_DEPTH,
    BadCursor,
    SearchParams,
    SearchService,
    decode_cursor,
)

router = APIRouter(prefix="/v1", tags=["search"])
SearchDep = Annotated[SearchService, provided("search")]
Tag = Annotated[str, Query(min_length=1, max_length=64)]


@router.get("/search", response_model=SearchPage)
async def search(
    _: ReadPrincipal,
    service: SearchDep,
    q: Annotated[str, Query(description="what to look for, 1-500 characters", max_length=2000)],
    mode: Literal["hybrid", "semantic", "keyword"] = "hybrid",
    kind: Annotated[list[ItemKind] | None, Query()] = None,
    tags: Annotated[list[Tag] | None, Query(max_length=20)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    level: Annotated[list[ItemLevel] | None, Query()] = None,
    language: Annotated[list[Language] | None, Query()] = None,
    limit: PageLimit = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_DEPTH - 1)] = 0,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SearchPage:
    """Hybrid keyword + vector search over public items, with filters inside the search."""
    filters: dict[str, str | list[str]] = {}
    for name, value in (("kind", kind), ("tags", tags), ("level", level), ("language", language)):
        if value:
            filters[name] = list(dict.fromkeys(value))
    if category:
        filters["category"] = category
    params = SearchParams(query=_clean(q), mode=mode, limit=limit, offset=offset, filters=filters)
    if cursor is not None:
        if offset:
            raise BadCursor("cursor: send either offset or cursor, not both")
        params = replace(params, offset=decode_cursor(params, cursor))
    return await service.search(params)


def _clean(q: str) -> str:
    query = " ".join(q.split())
    if not query:
        raise Invalid("q: must not be empty or only white space")
    if len(query) > 500:
        raise Invalid(f"q: at most 500 characters after trimming (got {len(query)})")
    return query


@router.get("/items/{item_id}/similar", response_model=SimilarPage)
async def similar(
    item_id: Annotated[EntityId, Path()],
    _: ReadPrincipal,
    service: SearchDep,
    limit: PageLimit = 10,
) -> SimilarPage:
    """Public items closest in meaning to this one."""
    return await service.similar(item_id, limit=limit)
