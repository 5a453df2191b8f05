"""Search: embed the query (cached, off the event loop), then one hybrid query to the index; or,
without a query, browse the filtered catalogue by its latest change (DaoDao's 靈感 page). Facet
counts come from the index under the same filters."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ai_backend.errors import Invalid, NotFound
from ai_backend.infra.embedder import Embedder
from ai_backend.infra.keywords import KeywordEncoder
from ai_backend.infra.vector_index import (
    BrowseRequest,
    FilterSpec,
    Fusion,
    SearchRequest,
    Sparse,
    VectorHit,
    VectorIndex,
)
from ai_backend.search.schemas import (
    FacetCount,
    FacetField,
    MatchedField,
    SearchHit,
    SearchPage,
    SimilarPage,
    Sort,
)

Mode = Literal["hybrid", "semantic", "keyword"]
SNIPPET_CHARS = 160
MAX_DEPTH = 1000  # offset + limit: deep pages of a relevance ranking are noise
# A query sorted by date sorts its most relevant hits, this many.
SORT_POOL = 200
FACET_VALUES = 20  # the commonest values each facet lists
# The payload field each sort orders by.
ORDER_FIELDS = {"updated": "updated", "created": "created"}
# The payload fields a query can be said to have matched, by the name a hit reports.
FIELD_TEXT: dict[MatchedField, Callable[[dict[str, Any]], str]] = {
    "title": lambda p: p.get("title") or "",
    "tags": lambda p: " ".join(p.get("tags") or []),
    "description": lambda p: p.get("text") or "",
    "notes": lambda p: p.get("notes") or "",
}


class BadCursor(Invalid):
    code = "invalid_cursor"


@dataclass(frozen=True)
class SearchParams:
    query: str | None
    mode: Mode = "hybrid"
    limit: int = 10
    offset: int = 0
    filters: FilterSpec = field(default_factory=dict)
    sort: Sort = "relevance"
    facets: tuple[FacetField, ...] = ()

    def digest(self) -> str:
        """Names the query a cursor belongs to, so it cannot be replayed on another one."""
        where = sorted((k, repr(v)) for k, v in self.filters.items())
        key = json.dumps([self.query, self.mode, self.limit, where, self.sort])
        return hashlib.sha256(key.encode()).hexdigest()[:16]


def encode_cursor(params: SearchParams, offset: int) -> str:
    raw = json.dumps({"o": offset, "q": params.digest()}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(params: SearchParams, cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        offset = int(data["o"])
        belongs = data["q"] == params.digest()
    except (ValueError, KeyError, TypeError) as exc:
        raise BadCursor("cursor: not a cursor this service issued") from exc
    if not belongs:
        raise BadCursor("cursor: issued for a different query, mode, limit or filters")
    if not 0 <= offset < MAX_DEPTH:
        raise BadCursor("cursor: out of range")
    return offset


def snippet(text: str, query: str) -> str:
    """A window of the description around the first query term it contains."""
    if len(text) <= SNIPPET_CHARS:
        return text
    lowered = text.lower()
    hits = [lowered.find(t) for t in query.lower().split() if t and lowered.find(t) >= 0]
    start = max(0, min(hits) - SNIPPET_CHARS // 4) if hits else 0
    window = text[start : start + SNIPPET_CHARS]
    return ("…" if start else "") + window + ("…" if start + SNIPPET_CHARS < len(text) else "")


def to_hit(
    hit: VectorHit, query: str | None, fields: list[MatchedField] | None = None
) -> SearchHit:
    """A hit as the API shows it; browsing (no query) scores nothing."""
    payload: dict[str, Any] = hit.payload
    updated = payload.get("updated")
    return SearchHit(
        id=hit.key,
        kind=payload["kind"],
        title=payload["title"],
        snippet=snippet(payload.get("text") or "", query or ""),
        score=0.0 if query is None else round(hit.score, 6),
        matched=sorted(hit.matched),
        matched_fields=fields or [],
        tags=payload.get("tags") or [],
        url=payload.get("url"),
        image_url=payload.get("image_url"),
        category=payload.get("category"),
        subcategory=payload.get("subcategory"),
        level=payload.get("level"),
        resource_type=payload.get("resource_type"),
        cost=payload.get("cost"),
        status=payload.get("status"),
        duration_days=payload.get("duration_days"),
        updated_at=None if updated is None else datetime.fromtimestamp(updated, UTC),
    )


class SearchService:
    def __init__(
        self,
        *,
        index: VectorIndex,
        embedder: Embedder,
        keywords: KeywordEncoder,
        fusion: Fusion = "dbsf",
        weights: tuple[float, float] = (1.0, 1.0),
        candidates: int = 100,
        rebuilding: Callable[[], bool] = lambda: False,
    ) -> None:
        self.index = index
        # Whether this process is rebuilding the index, so that results may lack items.
        self.rebuilding = rebuilding
        self.embedder = embedder
        self.keywords = keywords
        self.fusion: Fusion = fusion
        self.weights = weights
        self.candidates = candidates

    async def search(self, params: SearchParams) -> SearchPage:
        (hits, terms), counted = await asyncio.gather(self._hits(params), self._facets(params))
        more = len(hits) == params.limit and params.offset + params.limit < MAX_DEPTH
        return SearchPage(
            query=params.query,
            mode=params.mode,
            sort=params.sort,
            hits=[to_hit(h, params.query, self._matched_fields(h, terms)) for h in hits],
            offset=params.offset,
            next_cursor=encode_cursor(params, params.offset + params.limit) if more else None,
            facets=counted,
            degraded=self.rebuilding(),
        )

    async def _hits(self, params: SearchParams) -> tuple[list[VectorHit], frozenset[int]]:
        """The page's hits, and the terms of the query that tell which fields they matched:
        by relevance, a query's most relevant hits by date, or the filtered catalogue by date."""
        if params.query is None:
            return await self._browse(params), frozenset()
        if params.sort == "relevance":
            hits = await self._relevant(params, params.limit, params.offset)
        else:
            # Only what the query is about: sorted by date, the loose tail of a relevance
            # ranking (a Python course for 德語) would otherwise come first as often as not.
            pool = [h for h in await self._relevant(params, SORT_POOL, 0) if self._about(h)]
            order = ORDER_FIELDS[params.sort]
            pool.sort(key=lambda h: -(h.payload.get(order) or 0.0))
            hits = pool[params.offset : params.offset + params.limit]
        return hits, self.keywords.terms(params.query)

    async def _relevant(self, params: SearchParams, limit: int, offset: int) -> list[VectorHit]:
        assert params.query is not None
        dense = None if params.mode == "keyword" else await self.embedder.embed_query(params.query)
        sparse: Sparse | None = None
        if params.mode != "semantic":
            sparse = self.keywords.query(params.query)
        if sparse is not None and not sparse.indices:
            if params.mode == "keyword":
                return []  # nothing to match: only stop words or punctuation
            sparse = None
        request = SearchRequest(
            mode="semantic" if sparse is None else params.mode,
            limit=limit,
            offset=offset,
            dense=None if dense is None else dense.tolist(),
            sparse=sparse,
            where=params.filters,
            fusion=self.fusion,
            weights=self.weights,
            semantic_match=self.embedder.related_cosine,
            candidates=self.candidates,
        )
        return await self.index.search(request)

    async def _browse(self, params: SearchParams) -> list[VectorHit]:
        order = ORDER_FIELDS["updated" if params.sort == "relevance" else params.sort]
        request = BrowseRequest(
            order_by=order, limit=params.limit, offset=params.offset, where=params.filters
        )
        return await self.index.browse(request)

    async def _facets(self, params: SearchParams) -> dict[FacetField, list[FacetCount]] | None:
        if not params.facets:
            return None
        counts = await asyncio.gather(
            *(self.index.facet(name, params.filters, FACET_VALUES) for name in params.facets)
        )
        return {
            # The commonest first; equal counts in the order of their values, every time.
            name: [
                FacetCount(value=value, count=count)
                for value, count in sorted(found, key=lambda vc: (-vc[1], vc[0]))
            ]
            for name, found in zip(params.facets, counts, strict=True)
        }

    def _about(self, hit: VectorHit) -> bool:
        """Whether a hit holds every word of the query or is related to it in meaning. One
        shared word is not enough: "learn" alone would bring every course on machine learning
        into a search for learn German."""
        if hit.closeness is not None and hit.closeness >= self.embedder.related_cosine:
            return True
        return hit.coverage == 1.0

    def _matched_fields(self, hit: VectorHit, terms: frozenset[int]) -> list[MatchedField]:
        """The fields of the hit that hold one of the query's words."""
        if not terms:
            return []
        return [
            name
            for name, text in FIELD_TEXT.items()
            if (value := text(hit.payload))
            and not terms.isdisjoint(self.keywords.document(value).indices)
        ]

    async def similar(self, item_id: str, *, limit: int) -> SimilarPage:
        vector = await self.index.dense_vector(item_id)
        if vector is None:
            raise NotFound(f"no public item with id '{item_id}'")
        request = SearchRequest(mode="semantic", limit=limit, dense=vector, exclude=[item_id])
        hits = await self.index.search(request)
        hits_page = [to_hit(h, "") for h in hits]  # scored by cosine
        return SimilarPage(id=item_id, hits=hits_page, degraded=self.rebuilding())
