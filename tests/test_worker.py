"""A real Celery worker on the real broker: the request id reaches the task."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from ai_backend.config import Settings
from ai_backend.db.session import make_engine, make_session_factory
from ai_backend.infra.cache import make_redis
from ai_backend.infra.queue import make_celery
from ai_backend.recommend.refresh import ModelRefresher, Trainer


async def test_request_id_travels_into_the_task(
    worker: subprocess.Popen[bytes],
    worker_log: Path,
    client: httpx.AsyncClient,
    auth: Callable[..., dict[str, str]],
) -> None:
    headers = {**auth("admin"), "X-Request-ID": "trace-from-node-1"}
    # The first ping may wait for the worker to boot; the endpoint itself polls with a deadline.
    response = await client.post("/v1/system/worker-ping", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["request_id"] == "trace-from-node-1"
    assert body["worker"].startswith("test-worker@")
    assert worker.poll() is None
    # The task's own log line carries the same id, so a request can be traced across processes.
    text = await asyncio.to_thread(worker_log.read_text)
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    pongs = [line for line in lines if line.get("message") == "pong"]
    assert pongs, "the ping task logged its line"
    assert pongs[-1]["request_id"] == "trace-from-node-1"


def test_celery_runs_with_production_settings(settings: Settings) -> None:
    conf = make_celery(settings, str(settings.redis_url)).conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit


async def test_a_worker_trains_the_model_for_server_mode(
    worker: subprocess.Popen[bytes],
    settings: Settings,
    client: httpx.AsyncClient,
    auth: Callable[..., dict[str, str]],
    unique: str,
) -> None:
    # Two members who both finished one item and went on to another: something to learn.
    write = auth("write")
    items = [{"id": f"{unique}-{n}", "kind": "book", "title": f"Book {n}"} for n in range(2)]
    assert (
        await client.post("/v1/items:batch", json={"items": items}, headers=write)
    ).status_code == 200
    events = []
    for member in ("a", "b"):
        user = f"{member}-{unique}"
        await client.put(f"/v1/users/{user}", json={"display_name": user}, headers=write)
        events += [
            {
                "id": f"{user}-{n}",
                "user_id": user,
                "item_id": f"{unique}-{n}",
                "type": "complete",
                "occurred_at": "2026-11-01T10:00:00+00:00",
            }
            for n in range(2)
        ]
    assert (
        await client.post("/v1/events", json={"events": events}, headers=write)
    ).status_code == 200

    redis = make_redis(str(settings.redis_url), max_connections=4)
    engine = make_engine(str(settings.database_url))
    trainer = Trainer(make_session_factory(engine), max_items=100, l2=1.0, half_life_days=30)
    celery = make_celery(settings, str(settings.redis_url))
    refresher = ModelRefresher(trainer, redis=redis, celery=celery, interval=3600)
    try:
        model = await refresher.refresh(wait=True, within=60)
        assert {f"{unique}-0", f"{unique}-1"} <= set(model.item_ids)
        # The weights survived the trip through Redis (half precision): each item points to
        # the other.
        first, second = model.index[f"{unique}-0"], model.index[f"{unique}-1"]
        assert model.weights[first, second] > 0
        assert model.users >= 2
    finally:
        await redis.aclose()
        await engine.dispose()
