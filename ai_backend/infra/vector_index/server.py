"""A Qdrant server, over its async client."""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
    point_id,
    to_hit,
    to_stored,
    with_payload,
    with_vectors,
)

logger = logging.getLogger(__name__)


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
            schemas = [(name, models.PayloadSchemaType.KEYWORD) for name in self._keyword_fields]
            schemas += [(name, models.PayloadSchemaType.INTEGER) for name in INTEGER_FIELDS]
            schemas += [(name, models.PayloadSchemaType.FLOAT) for name in FLOAT_FIELDS]
            for name, schema in schemas:
                await self._client.create_payload_index(self._collection, name, field_schema=schema)

    def _filter(self, where: FilterSpec | None, exclude: Sequence[str]) -> Any:
        from qdrant_client import models

        must: list[Any] = []
        for key, how, what in conditions(where):
            if how == "range":
                bounds = models.Range(gte=what.gte, lte=what.lte)
                must.append(models.FieldCondition(key=key, range=bounds))
            else:
                match: Any = (
                    models.MatchValue(value=what) if how == "value" else models.MatchAny(any=what)
                )
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

        check_request(request)
        fetch, lists = plan(request)
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
                with_payload=with_payload(request),
                with_vector=with_vectors(request),
            )
        else:
            query, using = self._query(lists[0], request)
            page = models.QueryRequest(
                query=query,
                using=using,
                filter=where,
                limit=request.limit,
                offset=request.offset,
                with_payload=with_payload(request),
                with_vector=with_vectors(request),
            )
        response = (await self._client.query_batch_points(self._collection, [page]))[0]
        signals = Signals(request)
        return [to_hit(p.payload, p.score, *signals(p.vector, p.score)) for p in response.points]

    async def browse(self, request: BrowseRequest) -> list[VectorHit]:
        from qdrant_client import models

        direction = models.Direction.DESC if request.descending else models.Direction.ASC
        response = await self._client.query_points(
            self._collection,
            query=models.OrderByQuery(
                order_by=models.OrderBy(key=request.order_by, direction=direction)
            ),
            query_filter=self._filter(request.where, ()),
            limit=request.limit,
            offset=request.offset,
            with_payload=with_payload(request),
        )
        return [to_hit(p.payload, p.score, frozenset()) for p in response.points]

    async def facet(self, key: str, where: FilterSpec | None, limit: int) -> list[tuple[str, int]]:
        response = await self._client.facet(
            self._collection,
            key,
            facet_filter=self._filter(where, ()),
            limit=limit,
            exact=False,  # one pass over the payload index: see VectorIndex.facet
        )
        return [(str(hit.value), int(hit.count)) for hit in response.hits]

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
        return to_stored(records)

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
