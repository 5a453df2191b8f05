"""`/readyz` answers 200 only while every dependency answers, and names the one that does not."""

from __future__ import annotations

from pathlib import Path

import httpx

from ai_backend.infra.embedder import Embedder
from tests.stack import open_stack


async def test_ready_when_all_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "postgres": "ok",
        "redis": "ok",
        "vector_index": "ok",
        "embedding_model": "ok",
    }


async def test_readiness_flips_when_redis_then_postgres_stop(
    tmp_path: Path, embedder: Embedder
) -> None:
    # Private servers: stopping the session's shared ones would break other tests.
    async with open_stack(tmp_path, embedder) as stack:
        valkey, postgres = stack.valkey, stack.postgres
        assert (await stack.client.get("/readyz")).status_code == 200

        valkey.stop()
        response = await stack.client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["error"]["code"] == "not_ready"
        assert "redis" in body["error"]["message"]
        assert body["error"]["details"]["checks"]["redis"].startswith("error")
        assert body["error"]["details"]["checks"]["postgres"] == "ok"
        assert response.headers["retry-after"] == "5"

        postgres.stop()
        response = await stack.client.get("/readyz")
        assert response.status_code == 503
        checks = response.json()["error"]["details"]["checks"]
        assert checks["postgres"].startswith("error")
        assert checks["vector_index"] == "ok"
        assert "postgres, redis" in response.json()["error"]["message"]

        # Liveness is not readiness: the process itself is still fine.
        assert (await stack.client.get("/healthz")).status_code == 200


def test_a_busy_model_still_counts_as_answering(embedder: Embedder) -> None:
    # While a long ingestion batch holds the model, readiness must not time out on it.
    with embedder._lock:
        assert embedder.answers()
    assert embedder.answers()
