"""One small protocol over the two Qdrant backends: Qdrant Edge in-process, or a Qdrant server.

Each point carries a dense vector (the embedding model) and a sparse BM25 vector (Qdrant's own
tokenizer, IDF applied by the engine). Hybrid search fuses both inside the engine with weighted
reciprocal rank fusion; filters are part of every prefetch, never applied afterwards.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

logger = logging.getLogger(__name__)
DENSE = "dense"
SPARSE = "bm25"
Mode = Literal["hybrid", "semantic", "keyword"]
Fusion = Literal["dbsf", "rrf"]
# Point ids are derived from the main backend's string ids; uuid5 keeps that stable everywhere.
_POINT_NAMESPACE = uuid.UUID("6f1c1f7e-2d8b-4b64-9a55-0d7a0c9e2b11")
# Payload fields that filters use; both backends keep a keyword index on each.
KEYWORD_FIELDS = ("kind", "tags", "category", "level", "language", "owner_id")
FilterSpec = Mapping[str, str | bool | Sequence[str]]
# Reciprocal rank fusion's k. Qdrant scores a hit at position p of a list of weight w as
# 1 / ((p + 1) / w + k - 1): with k = 1 that is w / (p + 1), and the weights keep their meaning
# (with a large k every position scores alike, and a heavier list counts for less).
RRF_K = 1
# Bumped whenever the point layout changes; a store of another layout is rebuilt from PostgreSQL.
LAYOUT = "daodao-items-v2"


@functools.lru_cache(maxsize=1 << 18)
def point_id(key: str) -> str:
    """Cached: exclusion filters name hundreds of points on every recommendation."""
    return str(point_uuid(key))


@functools.lru_cache(maxsize=1 << 18)
def point_uuid(key: str) -> uuid.UUID:
    return uuid.uuid5(_POINT_NAMESPACE, key)


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
class VectorHit:
    key: str
    score: float
    payload: dict[str, Any]
    matched: frozenset[str] = frozenset()


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

    async def dense_vector(self, key: str) -> list[float] | None: ...

    async def fetch(self, keys: Sequence[str]) -> dict[str, StoredPoint]: ...

    async def clear(self) -> None: ...

    async def count(self) -> int: ...

    async def optimize(self) -> None: ...

    async def close(self) -> None: ...


def _hit(payload: Mapping[str, Any] | None, score: float, matched: frozenset[str]) -> VectorHit:
    data = dict(payload or {})
    return VectorHit(
        key=str(data.pop("key", "")), score=float(score), payload=data, matched=matched
    )


def _stored(records: Sequence[Any]) -> dict[str, StoredPoint]:
    found = {}
    for record in records:
        payload = dict(record.payload or {})
        key = str(payload.pop("key", ""))
        vector = record.vector[DENSE] if isinstance(record.vector, dict) else None
        if key and vector is not None:
            found[key] = StoredPoint(key=key, payload=payload, vector=vector)
    return found


class _Signals:
    """Which signals found each hit of one request: it shares a term with the query, or is
    close in meaning.

    In hybrid search a hit without a shared term can only have come from the dense list; one
    with shared terms counts as a semantic match too when its cosine clears `semantic_match`.
    The query's side is prepared once per request: a page of 100 hits is judged in well under a
    millisecond.
    """

    def __init__(self, request: SearchRequest) -> None:
        self.mode = request.mode
        if request.mode == "hybrid":
            assert request.sparse is not None
            assert request.dense is not None
            self.terms = frozenset(request.sparse.indices)
            self.query = np.asarray(request.dense, np.float32)
            self.threshold = request.semantic_match

    def __call__(self, vectors: Any) -> frozenset[str]:
        if self.mode != "hybrid":
            return frozenset({self.mode})
        stored = vectors if isinstance(vectors, dict) else {}
        keyword = not self.terms.isdisjoint(getattr(stored.get(SPARSE), "indices", None) or ())
        dense = stored.get(DENSE)
        cosine = float(np.asarray(dense, np.float32) @ self.query) if dense else 0.0
        semantic = not keyword or cosine >= self.threshold
        return frozenset(n for n, hit in (("keyword", keyword), ("semantic", semantic)) if hit)


def _with_payload(request: SearchRequest) -> bool | list[str]:
    if request.payload_fields is None:
        return True
    return ["key", *request.payload_fields]


def _plan(request: SearchRequest) -> tuple[int, list[str]]:
    """How many to fetch per list, and which lists the request needs."""
    fetch = max(request.candidates, request.limit + request.offset)
    lists = {"hybrid": ["semantic", "keyword"], "semantic": ["semantic"], "keyword": ["keyword"]}
    return fetch, lists[request.mode]


def _check(request: SearchRequest) -> None:
    if request.mode != "keyword" and request.dense is None:
        raise ValueError(f"{request.mode} search needs a dense vector")
    if request.mode != "semantic" and request.sparse is None:
        raise ValueError(f"{request.mode} search needs a sparse vector")


class EdgeVectorIndex:
    """Qdrant Edge: the Qdrant engine inside this process, on a folder only this process opens."""

    def __init__(
        self,
        directory: Path,
        dimension: int,
        *,
        keyword_fields: Sequence[str] = KEYWORD_FIELDS,
        layout: str = LAYOUT,
    ) -> None:
        import qdrant_edge as qe

        self._qe = qe
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        marker = directory / "LAYOUT"
        expected = f"{layout} dense={dimension}"
        if directory.exists() and (not marker.exists() or marker.read_text() != expected):
            # Derived data of another layout or model: never mixed with ours. Dropped, and the
            # start-up sync rebuilds it from PostgreSQL.
            held = marker.read_text() if marker.exists() else "an unknown layout"
            logger.warning(
                "vector store in %s holds %s, not %s; rebuilding it", directory, held, expected
            )
            shutil.rmtree(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / "edge_config.json").exists():
            self._shard = qe.EdgeShard.load(str(directory), config)
        else:
            self._shard = qe.EdgeShard.create(str(directory), config)
            marker.write_text(expected)
        for name in keyword_fields:
            self._shard.update(
                qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword)
            )
        # Writes are serialised: the engine is safe to read while one writer runs.
        self._write_lock = asyncio.Lock()

    def _filter(self, where: FilterSpec | None, exclude: Sequence[str]) -> Any:
        qe = self._qe
        must = []
        for key, value in (where or {}).items():
            if isinstance(value, str | bool):
                match = qe.MatchValue(value)
            else:
                match = qe.MatchAny(list(value))
            must.append(qe.FieldCondition(key=key, match=match))
        must_not = [qe.HasIdCondition({point_uuid(k) for k in exclude})] if exclude else []
        if not must and not must_not:
            return None
        return qe.Filter(must=must or None, must_not=must_not or None)

    def _query(self, name: str, request: SearchRequest) -> Any:
        qe = self._qe
        if name == "semantic":
            assert request.dense is not None
            return qe.Query.Nearest([float(x) for x in request.dense], using=DENSE)
        assert request.sparse is not None
        vector = qe.SparseVector(request.sparse.indices, request.sparse.values)
        return qe.Query.Nearest(vector, using=SPARSE)

    async def write(self, operation: Any) -> None:
        async with self._write_lock:
            await asyncio.to_thread(self._shard.update, operation)

    async def upsert(self, points: Sequence[VectorPoint]) -> None:
        if not points:
            return
        qe = self._qe
        batch = [
            qe.Point(
                id=point_uuid(p.key),
                vector={
                    DENSE: list(p.vector),
                    SPARSE: qe.SparseVector(p.sparse.indices, p.sparse.values),
                },
                payload={**p.payload, "key": p.key},
            )
            for p in points
        ]
        await self.write(qe.UpdateOperation.upsert_points(batch))

    async def set_payload(self, key: str, payload: dict[str, Any]) -> None:
        ids: list[int | uuid.UUID | str] = [point_uuid(key)]
        await self.write(self._qe.UpdateOperation.overwrite_payload(ids, {**payload, "key": key}))

    async def delete(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        ids: list[int | uuid.UUID | str] = [point_uuid(k) for k in keys]
        await self.write(self._qe.UpdateOperation.delete_points(ids))

    async def search(self, request: SearchRequest) -> list[VectorHit]:
        _check(request)
        qe = self._qe
        fetch, lists = _plan(request)
        where = self._filter(request.where, request.exclude)
        if request.mode == "hybrid":
            page = qe.QueryRequest(
                limit=request.limit,
                offset=request.offset,
                prefetches=[
                    qe.Prefetch(limit=fetch, query=self._query(name, request), filter=where)
                    for name in lists
                ],
                query=(
                    qe.Fusion.Dbsf()
                    if request.fusion == "dbsf"
                    else qe.Fusion.Rrf(k=RRF_K, weights=list(request.weights))
                ),
                with_payload=_with_payload(request),
                # The hits' own vectors tell which signals matched, without extra searches.
                with_vector=[DENSE, SPARSE],
            )
        else:
            page = qe.QueryRequest(
                limit=request.limit,
                offset=request.offset,
                query=self._query(lists[0], request),
                filter=where,
                with_payload=_with_payload(request),
            )
        signals = _Signals(request)
        return [_hit(p.payload, p.score, signals(p.vector)) for p in self._shard.query(page)]

    async def dense_vector(self, key: str) -> list[float] | None:
        records = self._shard.retrieve([point_uuid(key)], False, [DENSE])
        if not records:
            return None
        vector: Any = records[0].vector
        return list(vector[DENSE]) if isinstance(vector, dict) else None

    async def fetch(self, keys: Sequence[str]) -> dict[str, StoredPoint]:
        if not keys:
            return {}
        ids: list[int | uuid.UUID | str] = [point_uuid(k) for k in keys]
        return _stored(self._shard.retrieve(ids, True, [DENSE]))

    async def clear(self) -> None:
        await self.write(self._qe.UpdateOperation.delete_points_by_filter(self._qe.Filter()))

    async def count(self) -> int:
        return int(self._shard.count(self._qe.CountRequest(exact=True)))

    async def optimize(self) -> None:
        """Build HNSW and payload indexes for fresh segments; writes wait meanwhile."""
        async with self._write_lock:
            await asyncio.to_thread(self._shard.optimize)

    async def close(self) -> None:
        async with self._write_lock:
            self._shard.flush()
            self._shard.close()


class ServerVectorIndex:
    """A Qdrant server (or qdrant-client's local mode, which takes the same calls)."""

    def __init__(
        self,
        client: Any,
        collection: str,
        dimension: int,
        *,
        keyword_fields: Sequence[str] = KEYWORD_FIELDS,
        layout: str = LAYOUT,
    ) -> None:
        self._client = client
        self._collection = collection
        self._dimension = dimension
        self._keyword_fields = tuple(keyword_fields)
        self._layout = layout

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        collection: str,
        dimension: int,
        api_key: str | None = None,
        keyword_fields: Sequence[str] = KEYWORD_FIELDS,
        layout: str = LAYOUT,
    ) -> ServerVectorIndex:
        from qdrant_client import AsyncQdrantClient

        if url == ":memory:":
            client = AsyncQdrantClient(location=":memory:")
        else:
            client = AsyncQdrantClient(url=url, api_key=api_key, timeout=10)
        index = cls(client, collection, dimension, keyword_fields=keyword_fields, layout=layout)
        await index._ensure_collection()
        return index

    async def _ensure_collection(self) -> None:
        from qdrant_client import models

        if await self._client.collection_exists(self._collection):
            info = await self._client.get_collection(self._collection)
            sparse = info.config.params.sparse_vectors or {}
            dense = info.config.params.vectors
            size = dense[DENSE].size if isinstance(dense, dict) and DENSE in dense else None
            layout = (info.config.metadata or {}).get("layout")
            if SPARSE in sparse and size == self._dimension and layout == self._layout:
                return
            # Another model's vectors (or another layout): never mixed with ours. The start-up
            # sync fills the new collection from PostgreSQL.
            logger.warning(
                "collection %s holds %s, not %s; recreating it",
                self._collection,
                layout,
                self._layout,
            )
            await self._client.delete_collection(self._collection)
        if not await self._client.collection_exists(self._collection):
            await self._client.create_collection(
                self._collection,
                vectors_config={
                    DENSE: models.VectorParams(
                        size=self._dimension, distance=models.Distance.COSINE
                    )
                },
                sparse_vectors_config={
                    SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
                },
                metadata={"layout": self._layout},
            )
            for name in self._keyword_fields:
                await self._client.create_payload_index(
                    self._collection, name, field_schema=models.PayloadSchemaType.KEYWORD
                )

    def _filter(self, where: FilterSpec | None, exclude: Sequence[str]) -> Any:
        from qdrant_client import models

        must: list[Any] = []
        for key, value in (where or {}).items():
            if isinstance(value, str | bool):
                match: Any = models.MatchValue(value=value)
            else:
                match = models.MatchAny(any=list(value))
            must.append(models.FieldCondition(key=key, match=match))
        must_not: list[Any] = (
            [models.HasIdCondition(has_id=[point_id(k) for k in exclude])] if exclude else []
        )
        if not must and not must_not:
            return None
        return models.Filter(must=must or None, must_not=must_not or None)

    def _query(self, name: str, request: SearchRequest) -> tuple[Any, str]:
        from qdrant_client import models

        if name == "semantic":
            assert request.dense is not None
            return [float(x) for x in request.dense], DENSE
        assert request.sparse is not None
        return models.SparseVector(
            indices=request.sparse.indices, values=request.sparse.values
        ), SPARSE

    async def upsert(self, points: Sequence[VectorPoint]) -> None:
        from qdrant_client import models

        if not points:
            return
        await self._client.upsert(
            self._collection,
            points=[
                models.PointStruct(
                    id=point_id(p.key),
                    vector={
                        DENSE: list(p.vector),
                        SPARSE: models.SparseVector(
                            indices=p.sparse.indices, values=p.sparse.values
                        ),
                    },
                    payload={**p.payload, "key": p.key},
                )
                for p in points
            ],
            wait=True,
        )

    async def set_payload(self, key: str, payload: dict[str, Any]) -> None:
        await self._client.overwrite_payload(
            self._collection, payload={**payload, "key": key}, points=[point_id(key)], wait=True
        )

    async def delete(self, keys: Sequence[str]) -> None:
        from qdrant_client import models

        if not keys:
            return
        await self._client.delete(
            self._collection,
            points_selector=models.PointIdsList(points=[point_id(k) for k in keys]),
            wait=True,
        )

    async def search(self, request: SearchRequest) -> list[VectorHit]:
        from qdrant_client import models

        _check(request)
        fetch, lists = _plan(request)
        where = self._filter(request.where, request.exclude)
        if request.mode == "hybrid":
            prefetch = []
            for name in lists:
                query, using = self._query(name, request)
                prefetch.append(
                    models.Prefetch(query=query, using=using, filter=where, limit=fetch)
                )
            page = models.QueryRequest(
                prefetch=prefetch,
                query=(
                    models.FusionQuery(fusion=models.Fusion.DBSF)
                    if request.fusion == "dbsf"
                    else models.RrfQuery(rrf=models.Rrf(k=RRF_K, weights=list(request.weights)))
                ),
                limit=request.limit,
                offset=request.offset,
                with_payload=_with_payload(request),
                with_vector=[DENSE, SPARSE],
            )
        else:
            query, using = self._query(lists[0], request)
            page = models.QueryRequest(
                query=query,
                using=using,
                filter=where,
                limit=request.limit,
                offset=request.offset,
                with_payload=_with_payload(request),
            )
        response = (await self._client.query_batch_points(self._collection, [page]))[0]
        signals = _Signals(request)
        return [_hit(p.payload, p.score, signals(p.vector)) for p in response.points]

    async def dense_vector(self, key: str) -> list[float] | None:
        records = await self._client.retrieve(
            self._collection, ids=[point_id(key)], with_vectors=[DENSE]
        )
        if not records or not isinstance(records[0].vector, dict):
            return None
        return list(records[0].vector[DENSE])

    async def fetch(self, keys: Sequence[str]) -> dict[str, StoredPoint]:
        if not keys:
            return {}
        records = await self._client.retrieve(
            self._collection,
            ids=[point_id(k) for k in keys],
            with_payload=True,
            with_vectors=[DENSE],
        )
        return _stored(records)

    async def clear(self) -> None:
        from qdrant_client import models

        await self._client.delete(
            self._collection,
            points_selector=models.FilterSelector(filter=models.Filter()),
            wait=True,
        )

    async def count(self) -> int:
        result = await self._client.count(self._collection, exact=True)
        return int(result.count)

    async def optimize(self) -> None:
        """The server optimises in the background by itself."""

    async def close(self) -> None:
        await self._client.close()
