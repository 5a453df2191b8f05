"""One small protocol over the two Qdrant backends: Qdrant Edge in-process, or a Qdrant server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

DENSE = "dense"
# Point ids are derived from the main backend's string ids; uuid5 keeps that stable everywhere.
_POINT_NAMESPACE = uuid.UUID("6f1c1f7e-2d8b-4b64-9a55-0d7a0c9e2b11")
FilterSpec = Mapping[str, str | bool | Sequence[str]]


def point_id(key: str) -> str:
    return str(uuid.uuid5(_POINT_NAMESPACE, key))


@dataclass(frozen=True, slots=True)
class VectorPoint:
    key: str
    vector: Sequence[float]
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VectorHit:
    key: str
    score: float
    payload: dict[str, Any]


class VectorIndex(Protocol):
    """What the services need from a vector store; both backends satisfy it."""

    async def upsert(self, points: Sequence[VectorPoint]) -> None: ...

    async def delete(self, keys: Sequence[str]) -> None: ...

    async def search(
        self, vector: Sequence[float], *, limit: int, where: FilterSpec | None = None
    ) -> list[VectorHit]: ...

    async def count(self) -> int: ...

    async def close(self) -> None: ...


def _hit(payload: Mapping[str, Any] | None, score: float) -> VectorHit:
    data = dict(payload or {})
    return VectorHit(key=str(data.pop("key", "")), score=float(score), payload=data)


class EdgeVectorIndex:
    """Qdrant Edge: the Qdrant engine inside this process, on a folder only this process opens."""

    def __init__(self, directory: Path, dimension: int) -> None:
        import qdrant_edge as qe

        self._qe = qe
        directory.mkdir(parents=True, exist_ok=True)
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine)}
        )
        if (directory / "edge_config.json").exists():
            self._shard = qe.EdgeShard.load(str(directory), config)
        else:
            self._shard = qe.EdgeShard.create(str(directory), config)
        # Writes are serialised: the engine is safe to read while one writer runs.
        self._write_lock = asyncio.Lock()

    def _filter(self, where: FilterSpec | None) -> Any:
        if not where:
            return None
        qe = self._qe
        conditions = []
        for key, value in where.items():
            if isinstance(value, str | bool):
                match = qe.MatchValue(value)
            else:
                match = qe.MatchAny(list(value))
            conditions.append(qe.FieldCondition(key=key, match=match))
        return qe.Filter(must=conditions)

    async def upsert(self, points: Sequence[VectorPoint]) -> None:
        if not points:
            return
        qe = self._qe
        batch = [
            qe.Point(
                id=uuid.UUID(point_id(p.key)),
                vector={DENSE: [float(x) for x in p.vector]},
                payload={**p.payload, "key": p.key},
            )
            for p in points
        ]
        async with self._write_lock:
            await asyncio.to_thread(self._shard.update, qe.UpdateOperation.upsert_points(batch))

    async def delete(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        ids: list[int | uuid.UUID | str] = [uuid.UUID(point_id(k)) for k in keys]
        async with self._write_lock:
            await asyncio.to_thread(self._shard.update, self._qe.UpdateOperation.delete_points(ids))

    async def search(
        self, vector: Sequence[float], *, limit: int, where: FilterSpec | None = None
    ) -> list[VectorHit]:
        qe = self._qe
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest([float(x) for x in vector], using=DENSE),
            filter=self._filter(where),
            with_payload=True,
        )
        # An HNSW query takes well under a millisecond: cheaper inline than via a thread.
        return [_hit(p.payload, p.score) for p in self._shard.query(request)]

    async def count(self) -> int:
        return int(self._shard.count(self._qe.CountRequest(exact=True)))

    async def close(self) -> None:
        async with self._write_lock:
            self._shard.flush()
            self._shard.close()


class ServerVectorIndex:
    """A Qdrant server (or qdrant-client's local mode, which takes the same calls)."""

    def __init__(self, client: Any, collection: str, dimension: int) -> None:
        self._client = client
        self._collection = collection
        self._dimension = dimension

    @classmethod
    async def connect(
        cls, url: str, *, collection: str, dimension: int, api_key: str | None = None
    ) -> ServerVectorIndex:
        from qdrant_client import AsyncQdrantClient

        if url == ":memory:":
            client = AsyncQdrantClient(location=":memory:")
        else:
            client = AsyncQdrantClient(url=url, api_key=api_key, timeout=10)
        index = cls(client, collection, dimension)
        await index._ensure_collection()
        return index

    async def _ensure_collection(self) -> None:
        from qdrant_client import models

        if await self._client.collection_exists(self._collection):
            return
        await self._client.create_collection(
            self._collection,
            vectors_config={
                DENSE: models.VectorParams(size=self._dimension, distance=models.Distance.COSINE)
            },
        )

    def _filter(self, where: FilterSpec | None) -> Any:
        from qdrant_client import models

        if not where:
            return None
        conditions: list[Any] = []
        for key, value in where.items():
            if isinstance(value, str | bool):
                match: Any = models.MatchValue(value=value)
            else:
                match = models.MatchAny(any=list(value))
            conditions.append(models.FieldCondition(key=key, match=match))
        return models.Filter(must=conditions)

    async def upsert(self, points: Sequence[VectorPoint]) -> None:
        from qdrant_client import models

        if not points:
            return
        await self._client.upsert(
            self._collection,
            points=[
                models.PointStruct(
                    id=point_id(p.key),
                    vector={DENSE: [float(x) for x in p.vector]},
                    payload={**p.payload, "key": p.key},
                )
                for p in points
            ],
            wait=True,
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

    async def search(
        self, vector: Sequence[float], *, limit: int, where: FilterSpec | None = None
    ) -> list[VectorHit]:
        response = await self._client.query_points(
            self._collection,
            query=[float(x) for x in vector],
            using=DENSE,
            query_filter=self._filter(where),
            limit=limit,
            with_payload=True,
        )
        return [_hit(p.payload, p.score) for p in response.points]

    async def count(self) -> int:
        result = await self._client.count(self._collection, exact=True)
        return int(result.count)

    async def close(self) -> None:
        await self._client.close()
