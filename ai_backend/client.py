"""A small HTTP client for the service's own API: the CLI and the benchmarks use it."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ai_backend.auth import issue_token
from ai_backend.config import Settings
from ai_backend.domain import MAX_BATCH_ITEMS


def service_token(settings: Settings, scopes: list[str], *, ttl: int = 86_400) -> str:
    return issue_token(
        settings.jwt_key(),
        scopes=scopes,
        subject="daodao-ai-cli",
        ttl_seconds=ttl,
        issuer=settings.jwt_issuer,
    )


def api_client(settings: Settings, url: str | None, scopes: list[str]) -> httpx.AsyncClient:
    base = url or f"http://{settings.api_host}:{settings.api_port}"
    return httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {service_token(settings, scopes)}"},
        timeout=httpx.Timeout(300, connect=5),
    )


@dataclass
class IngestReport:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add_failure(self, where: str, message: str) -> None:
        self.counts["failed"] += 1
        if len(self.errors) < 20:
            self.errors.append(f"{where}: {message}")


def read_jsonl(path: Path, report: IngestReport) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                report.add_failure(f"line {number}", f"not JSON ({exc.msg})")


def batched(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def ingest(
    client: httpx.AsyncClient,
    entries: Iterable[Any],
    *,
    batch_size: int = 500,
    in_flight: int = 2,
    report: IngestReport | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> IngestReport:
    """Send entries through `POST /v1/items:batch`; two batches in flight overlap DB and model."""
    report = report or IngestReport()
    size = max(1, min(batch_size, MAX_BATCH_ITEMS))
    started = time.perf_counter()
    slots = asyncio.Semaphore(in_flight)

    async def send(batch: list[Any]) -> None:
        try:
            response = await client.post("/v1/items:batch", json={"items": batch})
            if response.status_code != 200:
                message = response.json().get("error", {}).get("message", response.text[:200])
                for _ in batch:
                    report.add_failure(f"HTTP {response.status_code}", message)
                return
            for result in response.json()["results"]:
                if result["status"] == "failed":
                    report.add_failure(f"id {result['id']}", result["error"])
                else:
                    report.counts[result["status"]] += 1
        finally:
            slots.release()
            if on_batch:
                on_batch(len(batch))

    tasks = []
    for batch in batched(entries, size):
        await slots.acquire()
        tasks.append(asyncio.create_task(send(batch)))
    await asyncio.gather(*tasks)
    report.seconds = time.perf_counter() - started
    return report


async def wait_for_reindex(
    client: httpx.AsyncClient, *, on_progress: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Start a rebuild and poll until it ends; return the final job state."""
    started = await client.post("/v1/admin/reindex")
    if started.status_code != 202:
        raise RuntimeError(started.json().get("error", {}).get("message", started.text))
    job = started.json()
    while job["status"] == "running":
        await asyncio.sleep(0.25)
        job = (await client.get(f"/v1/admin/reindex/{job['job_id']}")).json()
        if on_progress:
            on_progress(job)
    return dict(job)
