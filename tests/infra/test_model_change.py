"""A new EMBEDDING_MODEL means a new vector space: the index is rebuilt, never mixed."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import numpy as np
import pytest

from ai_backend.app import create_app
from ai_backend.infra.embedder import MINILM, Embedder
from tests.conftest import TimedASGITransport, make_settings
from tests.stack import private_servers

ITEMS = [
    {"id": "de", "kind": "book", "title": "德語 B1 文法總複習", "description": "格位與從屬子句"},
    {"id": "py", "kind": "course", "title": "Python for beginners", "description": "loops"},
    {"id": "gt", "kind": "video", "title": "吉他自學：和弦與刷法", "description": "四個和弦"},
]


async def test_a_new_model_rebuilds_the_index(
    tmp_path: Path,
    embedder: Embedder,
    auth: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with private_servers(tmp_path) as servers:
        settings = make_settings(tmp_path / "data", servers.database_url, servers.redis_url)
        headers = auth("read", "write")  # type: ignore[operator]

        first = create_app(settings, embedder=embedder)
        async with first.router.lifespan_context(first):
            async with httpx.AsyncClient(
                transport=TimedASGITransport(app=first), base_url="http://t"
            ) as client:
                response = await client.post(
                    "/v1/items:batch", json={"items": ITEMS}, headers=headers
                )
                assert response.json()["counts"]["created"] == 3
            before = await first.state.resources.index.fetch(["de"])

        minilm = Embedder(MINILM, cache_dir=tmp_path / "models")
        second = create_app(settings, embedder=minilm)
        with caplog.at_level(logging.WARNING, logger="ai_backend.infra.vector_index"):
            async with second.router.lifespan_context(second):
                await second.state.index_sync
                resources = second.state.resources
                assert await resources.index.count() == 3
                after = await resources.index.fetch([i["id"] for i in ITEMS])
                # Every point now holds the new model's vector of its text: none is left over.
                texts = [f"{i['title']}\n\n{i['description']}" for i in ITEMS]
                expected = minilm.encode_passages(texts)
                for item, vector in zip(ITEMS, expected, strict=True):
                    stored = np.asarray(after[item["id"]].vector, np.float32)
                    assert float(stored @ vector) > 0.999, item["id"]
                assert float(np.asarray(before["de"].vector) @ after["de"].vector) < 0.99
                async with httpx.AsyncClient(
                    transport=TimedASGITransport(app=second), base_url="http://t"
                ) as client:
                    page = (
                        await client.get("/v1/search", params={"q": "Python"}, headers=headers)
                    ).json()
                assert page["hits"][0]["id"] == "py"
                assert page["degraded"] is False
        rebuilt = [r.getMessage() for r in caplog.records if "rebuilding it" in r.getMessage()]
        assert any("multilingual-e5-small" in m and MINILM in m for m in rebuilt), rebuilt
