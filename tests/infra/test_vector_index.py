"""Both vector backends behave the same through the protocol, with the real model and BM25."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ai_backend.infra.embedder import Embedder
from ai_backend.infra.keywords import KeywordEncoder
from ai_backend.infra.vector_index import (
    EdgeVectorIndex,
    SearchRequest,
    ServerVectorIndex,
    VectorIndex,
    VectorPoint,
)

DOCS = {
    "py": ("Python programming for beginners: variables, loops and functions", "course", "en"),
    "de": ("德語 B1 文法：從屬子句與被動語態", "course", "zh-TW"),
    "run": ("Running your first 5K: a nine week plan", "article", "en"),
    "guitar": ("吉他自學：和弦與刷法", "video", "zh-TW"),
    "zh-py": ("Python 入門：從零開始寫程式", "book", "zh-TW"),
}
KEYWORDS = KeywordEncoder()


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
    await load(backend, embedder)
    yield backend
    await backend.close()


async def load(index: VectorIndex, embedder: Embedder) -> None:
    vectors = embedder.encode_passages([text for text, _, _ in DOCS.values()])
    await index.upsert(
        [
            VectorPoint(
                key=key,
                vector=vector.tolist(),
                sparse=KEYWORDS.document(text),
                payload={"kind": kind, "language": lang, "title": text},
            )
            for (key, (text, kind, lang)), vector in zip(DOCS.items(), vectors, strict=True)
        ]
    )


def ask(embedder: Embedder, text: str, mode: str = "hybrid", **extra: object) -> SearchRequest:
    return SearchRequest(
        mode=mode,  # type: ignore[arg-type]
        limit=int(extra.pop("limit", 10)),  # type: ignore[call-overload]
        dense=embedder.encode([text], role="query")[0].tolist(),
        sparse=KEYWORDS.query(text),
        **extra,  # type: ignore[arg-type]
    )


async def test_each_mode_finds_the_meaningful_document(
    index: VectorIndex, embedder: Embedder
) -> None:
    semantic = await index.search(ask(embedder, "learn to code", "semantic"))
    assert semantic[0].key in {"py", "zh-py"}
    assert semantic[0].matched == {"semantic"}
    keyword = await index.search(ask(embedder, "python", "keyword"))
    assert {h.key for h in keyword} == {"py", "zh-py"}, "BM25 matches only documents with the term"
    assert all(h.matched == {"keyword"} for h in keyword)
    hybrid = await index.search(ask(embedder, "Python beginners", limit=2))
    assert hybrid[0].key == "py"
    assert hybrid[0].matched == {"semantic", "keyword"}
    assert hybrid[0].payload["title"].startswith("Python programming")


async def test_chinese_keywords_are_segmented(index: VectorIndex, embedder: Embedder) -> None:
    # No spaces in Chinese: the bigram 文法 is found inside the title and ranks it first; the
    # guitar title shares only the character 法 (刷法), which counts for less.
    hits = await index.search(ask(embedder, "文法", "keyword"))
    assert [h.key for h in hits] == ["de", "guitar"]
    assert hits[0].score > 2 * hits[1].score
    # Simplified finds Traditional.
    simplified = await index.search(ask(embedder, "语态", "keyword"))
    assert [h.key for h in simplified] == ["de"]


async def test_filters_apply_inside_the_search(index: VectorIndex, embedder: Embedder) -> None:
    # Limit 2 with a filter still yields 2 matching hits: never a post-filter that drops results.
    hits = await index.search(
        ask(embedder, "learn to code in Python", limit=2, where={"language": "zh-TW"})
    )
    assert len(hits) == 2
    assert all(h.payload["language"] == "zh-TW" for h in hits)
    assert hits[0].key == "zh-py"
    kinds = await index.search(ask(embedder, "python", where={"kind": ["video", "article"]}))
    assert {h.key for h in kinds} == {"run", "guitar"}
    both = await index.search(
        ask(embedder, "python", where={"kind": ["book"], "language": "zh-TW"})
    )
    assert [h.key for h in both] == ["zh-py"]


async def test_exclude_and_dense_vector(index: VectorIndex, embedder: Embedder) -> None:
    vector = await index.dense_vector("py")
    assert vector is not None
    hits = await index.search(SearchRequest(mode="semantic", limit=3, dense=vector, exclude=["py"]))
    assert "py" not in {h.key for h in hits}
    assert hits[0].key == "zh-py"
    assert await index.dense_vector("nope") is None


async def test_pages_do_not_overlap(index: VectorIndex, embedder: Embedder) -> None:
    first = await index.search(ask(embedder, "learning", limit=2))
    second = await index.search(ask(embedder, "learning", limit=2, offset=2))
    everything = await index.search(ask(embedder, "learning", limit=4))
    assert [h.key for h in first + second] == [h.key for h in everything]


async def test_upsert_is_idempotent_payload_updates_and_delete(
    index: VectorIndex, embedder: Embedder
) -> None:
    await load(index, embedder)
    assert await index.count() == len(DOCS)
    await index.set_payload("run", {"kind": "course", "language": "en", "title": "renamed"})
    hits = await index.search(ask(embedder, "5K running plan", where={"kind": "course"}, limit=1))
    assert hits[0].key == "run"
    assert hits[0].payload["title"] == "renamed"
    await index.delete(["py", "missing-key"])
    assert await index.count() == len(DOCS) - 1
    assert "py" not in {h.key for h in await index.search(ask(embedder, "python"))}
    await index.clear()
    assert await index.count() == 0


async def test_facets_count_the_points_under_the_filter(
    index: VectorIndex, embedder: Embedder
) -> None:
    """Counted in one pass over the payload index: re-written, updated and deleted points count
    once, as they are now."""
    before = dict(await index.facet("kind", {"language": "zh-TW"}, 10))
    assert before == {"book": 1, "course": 1, "video": 1}
    await load(index, embedder)  # every point written again
    await index.set_payload("run", {"kind": "course", "language": "zh-TW", "title": "5K"})
    await index.delete(["guitar"])
    kinds = dict(await index.facet("kind", {"language": "zh-TW"}, 10))
    assert kinds == {"course": 2, "book": 1}
    languages = dict(await index.facet("language", {"kind": ["course", "book"]}, 10))
    assert languages == {"zh-TW": 3, "en": 1}
    assert dict(await index.facet("kind", None, 10)) == {"course": 3, "book": 1}
    assert await index.facet("kind", None, 1) == [("course", 3)]


async def test_edge_index_survives_reopening(tmp_path: Path, embedder: Embedder) -> None:
    first = EdgeVectorIndex(tmp_path / "edge", embedder.dimension)
    await load(first, embedder)
    await first.optimize()
    await first.close()
    again = EdgeVectorIndex(tmp_path / "edge", embedder.dimension)
    try:
        assert await again.count() == len(DOCS)
        hits = await again.search(ask(embedder, "文法", "keyword"))
        assert [h.key for h in hits][:1] == ["de"]
    finally:
        await again.close()


async def test_a_store_of_another_layout_is_rebuilt(tmp_path: Path, embedder: Embedder) -> None:
    old = EdgeVectorIndex(tmp_path / "edge", embedder.dimension)
    await load(old, embedder)
    await old.close()
    (tmp_path / "edge" / "LAYOUT").write_text("an older layout")
    fresh = EdgeVectorIndex(tmp_path / "edge", embedder.dimension)
    try:
        assert await fresh.count() == 0, "derived data of another layout is dropped, not misread"
    finally:
        await fresh.close()


async def test_a_collection_of_another_layout_is_recreated(embedder: Embedder) -> None:
    from qdrant_client import AsyncQdrantClient

    client = AsyncQdrantClient(location=":memory:")
    try:
        old = ServerVectorIndex(client, "items", embedder.dimension, layout="model=old")
        await old._ensure_collection()
        await load(old, embedder)
        same = ServerVectorIndex(client, "items", embedder.dimension, layout="model=old")
        await same._ensure_collection()
        assert await same.count() == len(DOCS), "a collection of our layout is kept"
        new = ServerVectorIndex(client, "items", embedder.dimension, layout="model=new")
        await new._ensure_collection()
        assert await new.count() == 0, "another model's vectors are dropped, never mixed"
    finally:
        await client.close()
