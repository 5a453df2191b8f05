"""Soak: a mixed load at about 70 % of measured capacity against `daodao-ai run`, for minutes.

The mix: 70 % cached recommendations, 20 % search, 10 % writes (events, and one in ten of those
a feedback request whose idempotency key repeats, so the worker is not buried in LLM jobs).

1. unloaded: the mix at 10 requests/s for 10 s gives each route's unloaded p50 and p99;
2. capacity: the mix as fast as 16 concurrent callers go, for 10 s;
3. soak: the mix, open loop, at 70 % of that capacity for the duration (5 min by default);
   API and worker RSS are read at the start and the end.

Targets: no errors; each route's p99 within 2 x its unloaded p99; RSS growth at most 10 %.
The load comes from this process (httpx), which shares the machine's two cores with the stack.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from ai_backend.client import service_token
from ai_backend.config import Settings
from bench.common import percentile, print_table, write_result
from bench.stack import ROOT, running_stack

SHARE_OF_CAPACITY = 0.7
CALLERS = 16
DEMO = json.loads((ROOT / "ai_backend" / "demo" / "catalog.json").read_text())
MEMBERS = [user["id"] for user in DEMO["users"]]
ITEMS = [item["id"] for item in DEMO["items"]]
PRACTICES = [(p["id"], p["user_id"]) for p in DEMO["practices"]]
QUERIES = ["python 入門", "design", "資料分析", "machine learning", "German", "寫作", "React"]
# Routes in the proportions of the mix: 7 cached recommendations, 2 searches, 1 write.
ROUTES = ["recommend"] * 7 + ["search"] * 2 + ["write"]


@dataclass
class Record:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)

    def summary(self, seconds: float) -> list[dict[str, Any]]:
        rows = []
        for route in sorted(self.latencies):
            values = self.latencies[route]
            rows.append(
                {
                    "route": route,
                    "requests": len(values),
                    "rps": round(len(values) / seconds, 1),
                    "p50_ms": round(percentile(values, 50), 2),
                    "p99_ms": round(percentile(values, 99), 2),
                    "errors": self.errors.get(route, 0),
                }
            )
        return rows


class Mix:
    """Requests of the mix, in a fixed shuffled order, each timed and checked."""

    def __init__(self, client: httpx.AsyncClient, record: Record) -> None:
        self.client = client
        self.record = record
        self.writes = itertools.count()
        order = ROUTES * 10
        random.Random(7).shuffle(order)
        self.order = itertools.cycle(order)

    async def one(self) -> None:
        route = next(self.order)
        if route == "write":
            n = next(self.writes)
            route = "feedback" if n % 10 == 0 else "events"
        started = time.perf_counter()
        try:
            response = await self._send(route)
            ok = response.is_success
            if not ok and len(self.record.samples) < 5:
                self.record.samples.append(f"{route}: {response.status_code} {response.text[:200]}")
        except httpx.HTTPError as exc:
            ok = False
            if len(self.record.samples) < 5:
                self.record.samples.append(f"{route}: {type(exc).__name__} {exc}")
        self.record.latencies[route].append((time.perf_counter() - started) * 1000)
        if not ok:
            self.record.errors[route] += 1

    async def _send(self, route: str) -> httpx.Response:
        if route == "recommend":
            member = random.choice(MEMBERS)
            return await self.client.get(f"/v1/users/{member}/recommendations?limit=10")
        if route == "search":
            return await self.client.get("/v1/search", params={"q": random.choice(QUERIES)})
        if route == "events":
            event = {
                "id": f"soak-{uuid.uuid4().hex}",
                "user_id": random.choice(MEMBERS),
                "item_id": random.choice(ITEMS),
                "type": "view",
                "occurred_at": datetime.now(UTC).isoformat(),
            }
            return await self.client.post("/v1/events", json={"events": [event]})
        practice, _owner = random.choice(PRACTICES)
        key = f"soak-{practice}"  # repeats: the first request makes the job, the rest find it
        return await self.client.post(
            f"/v1/practices/{practice}/feedback",
            json={"kind": "completion_insight", "idempotency_key": key},
        )


async def closed_loop(mix: Mix, seconds: float) -> None:
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        while time.perf_counter() < deadline:
            await mix.one()

    await asyncio.gather(*(caller() for _ in range(CALLERS)))


async def open_loop(mix: Mix, rate: float, seconds: float, *, report_every: float = 30) -> None:
    """Start requests at `rate` per second whatever the answers, as real traffic arrives."""
    started = time.perf_counter()
    pending: set[asyncio.Task[None]] = set()
    sent = 0
    next_report = report_every
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(elapsed * rate) - sent
        for _ in range(due):
            task = asyncio.create_task(mix.one())
            pending.add(task)
            task.add_done_callback(pending.discard)
        sent += max(due, 0)
        if elapsed >= next_report:
            errors = sum(mix.record.errors.values())
            print(f"  {elapsed:4.0f} s: {sent} requests sent, {errors} errors", flush=True)
            next_report += report_every
        await asyncio.sleep(0.002)
    await asyncio.gather(*pending)


def rss_mb(root_pid: int) -> dict[str, float]:
    """Resident memory of the API (uvicorn) and the worker processes (celery), in MB."""
    totals = {"api": 0.0, "worker": 0.0}
    for process in psutil.Process(root_pid).children(recursive=True):
        try:
            command = " ".join(process.cmdline())
            rss = process.memory_info().rss / 2**20
        except psutil.Error:
            continue
        if "uvicorn" in command:
            totals["api"] += rss
        elif "celery" in command:
            totals["worker"] += rss
    return {name: round(value, 1) for name, value in totals.items()}


def run(seconds: float = 300.0, out: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="daodao-soak-") as tmp:
        data_dir = Path(tmp) / "data"
        with running_stack(data_dir, env={"RATE_LIMIT": ""}) as stack:
            token = service_token(Settings(data_dir=data_dir), ["read", "write"])
            result = asyncio.run(_soak(stack.api_url, token, seconds, stack.pid))
    unloaded, soak = result["unloaded"], result["soak"]
    rows = []
    for row in soak:
        base = next((r for r in unloaded if r["route"] == row["route"]), None)
        limit = 2 * base["p99_ms"] if base else None
        rows.append(
            {
                **row,
                "unloaded_p99_ms": base["p99_ms"] if base else None,
                "p99_ok": limit is not None and row["p99_ms"] <= limit,
            }
        )
    growth = {
        name: round(100 * (result["rss_end"][name] / result["rss_start"][name] - 1), 1)
        for name in result["rss_start"]
        if result["rss_start"][name]
    }
    print_table(f"soak: {seconds:.0f} s at {result['rate']:.0f} requests/s", rows)
    print(f"RSS MB at start {result['rss_start']}, at end {result['rss_end']}, growth % {growth}")
    errors = sum(row["errors"] for row in soak)
    print(f"errors: {errors}" + (f" (first: {result['samples']})" if errors else ""))
    summary = {
        "seconds": seconds,
        "capacity_rps": round(result["capacity"]),
        "rate_rps": round(result["rate"]),
        "throughput_rps": round(sum(row["requests"] for row in soak) / seconds, 1),
        "errors": errors,
        "rss_start_mb": result["rss_start"],
        "rss_end_mb": result["rss_end"],
        "rss_growth_pct": growth,
        "targets": {"errors": 0, "p99_vs_unloaded": 2.0, "rss_growth_pct": 10},
    }
    write_result("soak" if out is None else out.stem, rows, **summary)
    return summary


async def _soak(base: str, token: str, seconds: float, pid: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=30
    ) as client:
        await closed_loop(Mix(client, Record()), 5)  # warm: caches, pools, the model
        unloaded = Mix(client, Record())
        await open_loop(unloaded, 10, 10, report_every=1e9)
        capacity_mix = Mix(client, Record())
        await closed_loop(capacity_mix, 10)
        capacity = sum(map(len, capacity_mix.record.latencies.values())) / 10
        rate = SHARE_OF_CAPACITY * capacity
        print(f"capacity {capacity:.0f} requests/s; soaking at {rate:.0f}/s for {seconds:.0f} s")
        rss_start = rss_mb(pid)
        soak = Mix(client, Record())
        await open_loop(soak, rate, seconds)
        rss_end = rss_mb(pid)
    return {
        "unloaded": unloaded.record.summary(10),
        "soak": soak.record.summary(seconds),
        "samples": soak.record.samples,
        "capacity": capacity,
        "rate": rate,
        "rss_start": rss_start,
        "rss_end": rss_end,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=300.0, help="soak duration")
    args = parser.parse_args()
    run(args.seconds)


if __name__ == "__main__":
    main()
