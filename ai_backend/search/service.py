"""Search: embed the query (cached, off the event loop), then one hybrid query to the index."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ai_backend.errors import Invalid, NotFound
from ai_backend.infra.embedder import Embedder
from ai_backend.infra.keywords import KeywordEncoder
from ai_backend.infra.vector_index import Fusion, SearchRequest, VectorHit, VectorIndex
from ai_backend.search.schemas import SearchHit, SearchPage, SimilarPage

Mode = Literal["hybrid", "semantic", "keyword"]
SNIPPET_CHARS = 160
MAX_DEPTH = 1000  # offset + limit: deep pages of a relevance ranking are noise


class BadCursor(Invalid):
    code = "invalid_cursor"


@dataclass(frozen=True)
class SearchParams:
    query: str
    mode: Mode = "hybrid"
    limit: int = 10
    offset: int = 0
    filters: dict[str, str | list[str]] = field(default_factory=dict)

    def digest(self) -> str:
        """Names the query a cursor belongs to, so it cannot be replayed on another one."""
        key = json.dumps([self.query, self.mode, self.limit, self.filters], sort_keys=True)
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


def to_hit(hit: VectorHit, query: str) -> SearchHit:
    payload: dict[str, Any] = hit.payload
    return SearchHit(
        id=hit.key,
        kind=payload["kind"],
        title=payload["title"],
        snippet=snippet(payload.get("text") or "", query),
        score=round(hit.score, 6),
        matched=sorted(hit.matched),
        tags=payload.get("tags") or [],
        url=payload.get("url"),
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
        dense = None if params.mode == "keyword" else await self.embedder.embed_query(params.query)
        sparse = None if params.mode == "semantic" else self.keywords.query(params.query)
        if sparse is not None and not sparse.indices and params.mode == "keyword":
            hits: list[VectorHit] = []  # nothing to match: only stop words or punctuation
        else:
            if sparse is not None and not sparse.indices:
                sparse = None
            request = SearchRequest(
                mode="semantic" if sparse is None else params.mode,
                limit=params.limit,
                offset=params.offset,
                dense=None if dense is None else dense.tolist(),
                sparse=sparse,
                where=params.filters,
                fusion=self.fusion,
                weights=self.weights,
                semantic_match=self.embedder.related_cosine,
                candidates=self.candidates,
            )
            hits = await self.index.search(request)
        more = len(hits) == params.limit and params.offset + params.limit < MAX_DEPTH
        return SearchPage(
            query=params.query,
            mode=params.mode,
            hits=[to_hit(h, params.query) for h in hits],
            offset=params.offset,
            next_cursor=encode_cursor(params, params.offset + params.limit) if more else None,
            degraded=self.rebuilding(),
        )

    async def similar(self, item_id: str, *, limit: int) -> SimilarPage:
        vector = await self.index.dense_vector(item_id)
        if vector is None:
            raise NotFound(f"no public item with id '{item_id}'")
        request = SearchRequest(mode="semantic", limit=limit, dense=vector, exclude=[item_id])
        hits = await self.index.search(request)
        hits_page = [to_hit(h, "") for h in hits]
        return SimilarPage(id=item_id, hits=hits_page, degraded=self.rebuilding())
