"""Both vector backends behave the same through the protocol, with real embeddings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ai_backend.infra.embedder import Embedder
from ai_backend.infra.vector_index import (
    EdgeVectorIndex,
    ServerVectorIndex,
    VectorIndex,
    VectorPoint,
)

DOCS = {
    "py": ("Python programming for beginners: variables, loops and functions", "course", "en"),
    "de": ("德語 B1 文法：從屬子句與被動語態", "course", "zh-TW"),
    "run": ("Running your first 5K: a nine week plan", "article", "en"),
    "guitar": ("吉他自學：和弦與刷法", "video", "zh-TW"),
}


@pytest.fixture(params=["edge", "server"])
async def index(
    request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder
) -> AsyncIterator[VectorIndex]:
    if request.param == "edge":
        backend: VectorIndex = EdgeVectorIndex(tmp_path / "edge", embedder.dimension)
    else:
        # qdrant-client's local mode takes exactly the calls a Qdrant server takes.
        backend = await ServerVectorIndex.connect(
            ":memory:", collection="items", dimension=embedder.dimension
        )
    yield backend
    await backend.close()


async def load(index: VectorIndex, embedder: Embedder) -> None:
    vectors = embedder.encode([text for text, _, _ in DOCS.values()])
    await index.upsert(
        [
            VectorPoint(key=key, vector=vector.tolist(), payload={"kind": kind, "language": lang})
            for (key, (_, kind, lang)), vector in zip(DOCS.items(), vectors, strict=True)
        ]
    )


async def test_nearest_neighbour_is_the_meaningful_one(
    index: VectorIndex, embedder: Embedder
) -> None:
    await load(index, embedder)
    assert await index.count() == 4
    query = embedder.encode(["learn to code in Python"])[0].tolist()
    hits = await index.search(query, limit=2)
    assert hits[0].key == "py"
    assert hits[0].payload == {"kind": "course", "language": "en"}
    assert hits[0].score > hits[1].score


async def test_filters_restrict_the_candidates(index: VectorIndex, embedder: Embedder) -> None:
    await load(index, embedder)
    query = embedder.encode(["learn to code in Python"])[0].tolist()
    hits = await index.search(query, limit=10, where={"language": "zh-TW"})
    assert {h.key for h in hits} == {"de", "guitar"}
    hits = await index.search(query, limit=10, where={"kind": ["video", "article"]})
    assert {h.key for h in hits} == {"run", "guitar"}


async def test_upsert_is_idempotent_and_delete_removes(
    index: VectorIndex, embedder: Embedder
) -> None:
    await load(index, embedder)
    await load(index, embedder)
    assert await index.count() == 4
    await index.delete(["py", "missing-key"])
    assert await index.count() == 3
    query = embedder.encode(["learn to code in Python"])[0].tolist()
    assert "py" not in {h.key for h in await index.search(query, limit=10)}


async def test_edge_index_survives_reopening(tmp_path: Path, embedder: Embedder) -> None:
    first = EdgeVectorIndex(tmp_path / "edge", embedder.dimension)
    await load(first, embedder)
    await first.close()
    again = EdgeVectorIndex(tmp_path / "edge", embedder.dimension)
    try:
        assert await again.count() == 4
    finally:
        await again.close()
