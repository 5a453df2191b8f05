"""One small protocol over the two Qdrant backends: Qdrant Edge in-process (`edge.py`), or a
Qdrant server (`server.py`).

Each point carries a dense vector (the embedding model) and a sparse BM25 vector (Qdrant's own
tokenizer, IDF applied by the engine). Hybrid search fuses both inside the engine with weighted
reciprocal rank fusion; filters are part of every prefetch, never applied afterwards.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

logger = logging.getLogger(__name__)
DENSE = "dense"
SPARSE = "bm25"
Mode = Literal["hybrid", "semantic", "keyword"]
Fusion = Literal["dbsf", "rrf"]
# Point ids are derived from the main backend's string ids; uuid5 keeps that stable everywhere.
POINT_NAMESPACE = uuid.UUID("6f1c1f7e-2d8b-4b64-9a55-0d7a0c9e2b11")
# Payload fields that filters and facets use; both backends keep a keyword index on each.
KEYWORD_FIELDS = (
    *("kind", "tags", "category", "subcategory", "level", "language", "owner_id"),
    *("status", "resource_type", "cost"),
)
# Numeric payload fields that range filters and browse orders use, each with its own index.
INTEGER_FIELDS = ("duration_days",)
FLOAT_FIELDS = ("updated", "created")


@dataclass(frozen=True, slots=True)
class Range:
    """A numeric field between two bounds, both included (None: open)."""

    gte: float | None = None
    lte: float | None = None


@dataclass(frozen=True, slots=True)
class AllOf:
    """A list field holding every one of these values (a plain sequence means any of them)."""

    values: tuple[str, ...]


# A field's condition: equal to a value, any of a sequence, all of `AllOf`, or within a `Range`.
FilterSpec = Mapping[str, str | bool | Sequence[str] | AllOf | Range]
# Reciprocal rank fusion's k. Qdrant scores a hit at position p of a list of weight w as
# 1 / ((p + 1) / w + k - 1): with k = 1 that is w / (p + 1), and the weights keep their meaning
# (with a large k every position scores alike, and a heavier list counts for less).
RRF_K = 1
# Bumped whenever the point layout changes; a store of another layout is rebuilt from PostgreSQL.
LAYOUT = "daodao-items-v3"


@functools.lru_cache(maxsize=1 << 18)
def point_id(key: str) -> str:
    """Cached: exclusion filters name hundreds of points on every recommendation."""
    return str(point_uuid(key))


@functools.lru_cache(maxsize=1 << 18)
def point_uuid(key: str) -> uuid.UUID:
    return uuid.uuid5(POINT_NAMESPACE, key)


@dataclass(frozen=True, slots=True)
class Sparse:
    indices: list[int]
    values: list[float]


@dataclass(frozen=True, slots=True)
class VectorPoint:
    key: str
    vector: Sequence[float]
    sparse: Sparse
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchRequest:
    mode: Mode
    limit: int
    dense: Sequence[float] | None = None
    sparse: Sparse | None = None
    offset: int = 0
    where: FilterSpec | None = None
    exclude: Sequence[str] = ()
    # How hybrid search fuses its lists: distribution-based score fusion (each list's scores
    # normalised by their mean and spread, then summed), or weighted reciprocal rank fusion.
    fusion: Fusion = "dbsf"
    # Weights of the (dense, keyword) lists in reciprocal rank fusion.
    weights: tuple[float, float] = (1.0, 1.0)
    # How many candidates each list contributes to the fusion.
    candidates: int = 100
    # Cosine at which a hit that also shares terms counts as a semantic match too.
    semantic_match: float = 0.35
    # Payload fields to return (None: all of it); a hit's key always comes back.
    payload_fields: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class BrowseRequest:
    """Points under a filter, ordered by a numeric payload field instead of a score."""

    order_by: str
    limit: int
    offset: int = 0
    descending: bool = True
    where: FilterSpec | None = None
    payload_fields: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class VectorHit:
    key: str
    score: float
    payload: dict[str, Any]
    matched: frozenset[str] = frozenset()
    # The cosine between the hit's vector and the query's, and the share of the query's terms
    # the hit holds, where the search had the vectors to tell.
    closeness: float | None = None
    coverage: float | None = None


@dataclass(frozen=True, slots=True)
class StoredPoint:
    """A point read back by key: its payload and dense vector."""

    key: str
    payload: dict[str, Any]
    vector: Sequence[float]


class VectorIndex(Protocol):
    """What the services need from a vector store; both backends satisfy it."""

    async def upsert(self, points: Sequence[VectorPoint]) -> None: ...

    async def set_payload(self, key: str, payload: dict[str, Any]) -> None: ...

    async def delete(self, keys: Sequence[str]) -> None: ...

    async def search(self, request: SearchRequest) -> list[VectorHit]: ...

    async def browse(self, request: BrowseRequest) -> list[VectorHit]: ...

    async def facet(self, key: str, where: FilterSpec | None, limit: int) -> list[tuple[str, int]]:
        """The `limit` commonest values of a keyword field among the points under `where`.

        Counted in one pass over the payload index (Qdrant's `exact=false`): the filtered points
        when the filter is narrow, the values' postings when it is broad, skipping deleted
        points either way. Qdrant's `exact=true` instead runs one filtered count per value, 6
        to 13 times slower at 100k points, and differs only when one point briefly sits in two
        segments (a segment being optimised); checked equal after updates and deletions.
        """
        ...

    async def dense_vector(self, key: str) -> list[float] | None: ...

    async def fetch(self, keys: Sequence[str]) -> dict[str, StoredPoint]: ...

    async def clear(self) -> None: ...

    async def count(self) -> int: ...

    async def optimize(self) -> None: ...

    async def close(self) -> None: ...


def to_hit(
    payload: Mapping[str, Any] | None,
    score: float,
    matched: frozenset[str],
    closeness: float | None = None,
    coverage: float | None = None,
) -> VectorHit:
    data = dict(payload or {})
    return VectorHit(
        key=str(data.pop("key", "")),
        score=float(score),
        payload=data,
        matched=matched,
        closeness=closeness,
        coverage=coverage,
    )


def to_stored(records: Sequence[Any]) -> dict[str, StoredPoint]:
    found = {}
    for record in records:
        payload = dict(record.payload or {})
        key = str(payload.pop("key", ""))
        vector = record.vector[DENSE] if isinstance(record.vector, dict) else None
        if key and vector is not None:
            found[key] = StoredPoint(key=key, payload=payload, vector=vector)
    return found


class Signals:
    """Which signals found each hit of one request: it shares a term with the query, or is
    close in meaning.

    In hybrid search a hit without a shared term can only have come from the dense list; one
    with shared terms counts as a semantic match too when its cosine clears `semantic_match`.
    The query's side is prepared once per request: a page of 100 hits is judged in well under a
    millisecond.
    """

    def __init__(self, request: SearchRequest) -> None:
        self.mode = request.mode
        self.terms = frozenset(request.sparse.indices if request.sparse else ())
        self.query = None if request.dense is None else np.asarray(request.dense, np.float32)
        self.threshold = request.semantic_match

    def __call__(
        self, vectors: Any, score: float
    ) -> tuple[frozenset[str], float | None, float | None]:
        """The signals that found a hit, its cosine to the query (a semantic search's score is
        that cosine) and the share of the query's terms it holds, where known."""
        if self.mode == "semantic":
            return frozenset({"semantic"}), score, None
        stored = vectors if isinstance(vectors, dict) else {}
        held = getattr(stored.get(SPARSE), "indices", None)
        shared = self.terms.intersection(held or ())
        coverage = len(shared) / len(self.terms) if self.terms and held is not None else None
        if self.mode == "keyword":
            return frozenset({"keyword"}), None, coverage
        dense = stored.get(DENSE)
        cosine = None
        if dense and self.query is not None:
            cosine = float(np.asarray(dense, np.float32) @ self.query)
        semantic = not shared or (cosine or 0.0) >= self.threshold
        found = (("keyword", bool(shared)), ("semantic", semantic))
        return frozenset(n for n, hit in found if hit), cosine, coverage


def with_vectors(request: SearchRequest) -> list[str] | bool:
    """The vectors a search returns with its hits, for `Signals` to judge them by (a semantic
    hit's score is already its cosine)."""
    vectors: dict[Mode, list[str] | bool] = {
        "hybrid": [DENSE, SPARSE],
        "keyword": [SPARSE],
        "semantic": False,
    }
    return vectors[request.mode]


def with_payload(request: SearchRequest | BrowseRequest) -> bool | list[str]:
    if request.payload_fields is None:
        return True
    return ["key", *request.payload_fields]


def plan(request: SearchRequest) -> tuple[int, list[str]]:
    """How many to fetch per list, and which lists the request needs."""
    fetch = max(request.candidates, request.limit + request.offset)
    lists = {"hybrid": ["semantic", "keyword"], "semantic": ["semantic"], "keyword": ["keyword"]}
    return fetch, lists[request.mode]


def conditions(where: FilterSpec | None) -> Iterator[tuple[str, str, Any]]:
    """A filter as (field, how, what) conditions that all must hold: `value` (equal), `any`
    (one of a list), `range` (a `Range`). `AllOf` becomes one `value` condition per value."""
    for key, value in (where or {}).items():
        if isinstance(value, str | bool):
            yield key, "value", value
        elif isinstance(value, Range):
            yield key, "range", value
        elif isinstance(value, AllOf):
            for one in value.values:
                yield key, "value", one
        else:
            yield key, "any", list(value)


def check_request(request: SearchRequest) -> None:
    if request.mode != "keyword" and request.dense is None:
        raise ValueError(f"{request.mode} search needs a dense vector")
    if request.mode != "semantic" and request.sparse is None:
        raise ValueError(f"{request.mode} search needs a sparse vector")
