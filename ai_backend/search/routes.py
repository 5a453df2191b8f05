"""`GET /v1/search` and `GET /v1/items/{id}/similar` (scope `read`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any, Literal, cast, get_args

from fastapi import APIRouter, Depends, Path, Query

from ai_backend.deps import PageLimit, ReadPrincipal, provided
from ai_backend.domain import Cost, ItemKind, ItemLevel, ResourceType
from ai_backend.errors import Invalid
from ai_backend.infra.vector_index import AllOf, Range
from ai_backend.schemas import EntityId, Language, listed
from ai_backend.search.schemas import FacetField, SearchPage, SimilarPage, Sort
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
FACETS: tuple[str, ...] = get_args(FacetField)
# The statuses a listed practice can have: a filter on any other would always find nothing.
ShownStatus = Literal["active", "completed"]


def search_filters(
    kind: Annotated[list[ItemKind] | None, Query()] = None,
    tags: Annotated[list[Tag] | None, Query(max_length=20)] = None,
    tags_mode: Annotated[
        Literal["any", "all"], Query(description="any: one of the tags; all: every one")
    ] = "any",
    category: Annotated[str | None, Query(max_length=100)] = None,
    subcategory: Annotated[str | None, Query(max_length=100)] = None,
    level: Annotated[list[ItemLevel] | None, Query()] = None,
    language: Annotated[list[Language] | None, Query()] = None,
    resource_type: Annotated[list[ResourceType] | None, Query()] = None,
    cost: Annotated[list[Cost] | None, Query()] = None,
    status: Annotated[
        list[ShownStatus] | None,
        Query(description="a practice's status: only active and completed ones are ever listed"),
    ] = None,
    duration_days: Annotated[
        str | None,
        Query(description="a practice's length in days: 21, 7-30, 7- or -30", max_length=20),
    ] = None,
) -> dict[str, Any]:
    """The filters of a search or a browse, as the index takes them."""
    filters: dict[str, Any] = {}
    listed: dict[str, Sequence[str] | None] = {"kind": kind, "level": level, "language": language}
    listed |= {"resource_type": resource_type, "cost": cost, "status": status}
    for name, value in listed.items():
        if value:
            filters[name] = list(dict.fromkeys(value))
    if tags:
        unique_tags = tuple(dict.fromkeys(tags))
        filters["tags"] = AllOf(unique_tags) if tags_mode == "all" else list(unique_tags)
    for name, text in (("category", category), ("subcategory", subcategory)):
        if text:
            filters[name] = text
    if duration_days is not None:
        filters["duration_days"] = _duration(duration_days)
    return filters


@router.get("/search", response_model=SearchPage)
async def search(
    _: ReadPrincipal,
    service: SearchDep,
    filters: Annotated[dict[str, Any], Depends(search_filters)],
    q: Annotated[
        str | None,
        Query(
            description="what to look for, 1-500 characters; leave out to browse", max_length=2000
        ),
    ] = None,
    mode: Literal["hybrid", "semantic", "keyword"] = "hybrid",
    sort: Annotated[
        Sort | None, Query(description="relevance (the default with q) or updated (without)")
    ] = None,
    facets: Annotated[
        list[str] | None,
        Query(description=f"fields to count values of, comma-separated: {', '.join(FACETS)}"),
    ] = None,
    limit: PageLimit = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_DEPTH - 1)] = 0,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SearchPage:
    """Hybrid keyword + vector search over public items, or without `q` a browse of them by
    their latest change (DaoDao's 靈感 page), with filters inside the search and facet counts
    under the same filters."""
    query = None if q is None else _clean(q)
    if query is None and not filters:
        raise Invalid(
            "q: send q to search, or at least one filter (kind, tags, status, ...) to browse"
        )
    if sort == "relevance" and query is None:
        raise Invalid("sort: relevance needs q; browse sorts by updated or created")
    params = SearchParams(
        query=query,
        mode=mode,
        limit=limit,
        offset=offset,
        filters=filters,
        sort=sort or ("relevance" if query else "updated"),
        facets=_facet_fields(facets or []),
    )
    if cursor is not None:
        if offset:
            raise BadCursor("cursor: send either offset or cursor, not both")
        params = replace(params, offset=decode_cursor(params, cursor))
    return await service.search(params)


def _clean(q: str) -> str:
    query = " ".join(q.split())
    if not query:
        raise Invalid("q: must not be empty or only white space; leave it out to browse")
    if len(query) > 500:
        raise Invalid(f"q: at most 500 characters after trimming (got {len(query)})")
    return query


def _duration(text: str) -> Range:
    """`21`, `7-30`, `7-` or `-30`: days, 1 to 90."""
    low, dash, high = text.strip().partition("-")
    try:
        bounds = [int(part) if part.strip() else None for part in (low, high)]
    except ValueError:
        bounds = []
    if (
        len(bounds) != 2
        or bounds == [None, None]
        or any(b is not None and not 1 <= b <= 90 for b in bounds)
    ):
        raise Invalid(
            f"duration_days: '{text}' is not a day count or a range of them, such as 21, 7-30, "
            "7- or -30 (days from 1 to 90)"
        )
    gte, lte = bounds if dash else (bounds[0], bounds[0])
    if gte is not None and lte is not None and gte > lte:
        raise Invalid(f"duration_days: the range '{text}' ends before it starts")
    return Range(gte=gte, lte=lte)


def _facet_fields(values: list[str]) -> tuple[FacetField, ...]:
    names = listed(values)
    unknown = [n for n in names if n not in FACETS]
    if unknown:
        raise Invalid(
            f"facets: unknown field {', '.join(repr(n) for n in unknown)}; "
            f"fields that can be counted: {', '.join(FACETS)}"
        )
    return tuple(dict.fromkeys(cast(FacetField, n) for n in names))


@router.get("/items/{item_id}/similar", response_model=SimilarPage)
async def similar(
    item_id: Annotated[EntityId, Path()],
    _: ReadPrincipal,
    service: SearchDep,
    limit: PageLimit = 10,
) -> SimilarPage:
    """Public items closest in meaning to this one."""
    return await service.similar(item_id, limit=limit)
