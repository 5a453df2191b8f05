"""Qdrant Edge: the Qdrant engine inside this process."""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ai_backend.infra.vector_index.protocol import (
    DENSE,
    FLOAT_FIELDS,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    LAYOUT,
    RRF_K,
    SPARSE,
    BrowseRequest,
    FilterSpec,
    SearchRequest,
    Signals,
    StoredPoint,
    VectorHit,
    VectorPoint,
    check_request,
    conditions,
    plan,
    point_uuid,
    to_hit,
    to_stored,
    with_payload,
    with_vectors,
)

logger = logging.getLogger(__name__)


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
        schemas = [(name, qe.PayloadSchemaType.Keyword) for name in keyword_fields]
        schemas += [(name, qe.PayloadSchemaType.Integer) for name in INTEGER_FIELDS]
        schemas += [(name, qe.PayloadSchemaType.Float) for name in FLOAT_FIELDS]
        for name, schema in schemas:
            self._shard.update(qe.UpdateOperation.create_field_index(name, schema))
        # Writes are serialised: the engine is safe to read while one writer runs.
        self._write_lock = asyncio.Lock()

    def _filter(self, where: FilterSpec | None, exclude: Sequence[str]) -> Any:
        qe = self._qe
        must = []
        for key, how, what in conditions(where):
            if how == "range":
                bounds = qe.RangeFloat(gte=what.gte, lte=what.lte)
                must.append(qe.FieldCondition(key=key, range=bounds))
            else:
                match = qe.MatchValue(what) if how == "value" else qe.MatchAny(what)
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
        check_request(request)
        qe = self._qe
        fetch, lists = plan(request)
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
                with_payload=with_payload(request),
                # The hits' own vectors tell which signals matched, without extra searches.
                with_vector=with_vectors(request),
            )
        else:
            page = qe.QueryRequest(
                limit=request.limit,
                offset=request.offset,
                query=self._query(lists[0], request),
                filter=where,
                with_payload=with_payload(request),
                with_vector=with_vectors(request),
            )
        signals = Signals(request)
        return [
            to_hit(p.payload, p.score, *signals(p.vector, p.score)) for p in self._shard.query(page)
        ]

    async def browse(self, request: BrowseRequest) -> list[VectorHit]:
        qe = self._qe
        direction = qe.Direction.Desc if request.descending else qe.Direction.Asc
        page = qe.QueryRequest(
            limit=request.limit,
            offset=request.offset,
            query=qe.OrderBy(request.order_by, direction),
            filter=self._filter(request.where, ()),
            with_payload=with_payload(request),
        )
        return [to_hit(p.payload, p.score, frozenset()) for p in self._shard.query(page)]

    async def facet(self, key: str, where: FilterSpec | None, limit: int) -> list[tuple[str, int]]:
        where_ = self._filter(where, ())
        # One pass over the payload index: see VectorIndex.facet.
        request = self._qe.FacetRequest(key, limit=limit, exact=False, filter=where_)
        return [(str(hit.value), int(hit.count)) for hit in self._shard.facet(request)]

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
        return to_stored(self._shard.retrieve(ids, True, [DENSE]))

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
