"""AI feedback through the whole pipeline, next to raw llama.cpp on the same prompts.

`daodao-ai bench feedback [--jobs N] [--out FILE]` starts a private stack (the API, a Celery
worker, embedded PostgreSQL and Valkey) in a temporary folder. Through the API it makes members,
practices and check-ins, warms the worker up with one job (the model loads on first use), then
submits N feedback requests back to back, timing each POST (the enqueue latency), and follows
every job to its end.

- pipeline tokens/s: the jobs' generated tokens over the wall time from the first POST to the
  last job's end; jobs/s likewise.
- raw tokens/s: with the stack idle, before and after the pipeline, the same prompts (rebuilt
  from the same practices by the worker's own prompt code, and checked against the prompt sizes
  the worker reported) run one after another through llama-cpp-python in a bare process, with
  the worker's settings: generated tokens over the time spent generating, both runs together.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ai_backend.client import service_token
from ai_backend.config import Settings
from ai_backend.db.models import Checkin, Practice
from ai_backend.domain import FEEDBACK_KINDS
from ai_backend.feedback.prompts import Prompt
from ai_backend.feedback.runner import answer_schema, job_prompt
from bench.common import percentile, print_table, write_result
from bench.stack import MODEL_CACHE, ROOT, running_stack

DEFAULT_JOBS = 30
MEMBERS = 5
TARGET_TOKENS_RATIO = 0.8
TARGET_ENQUEUE_P99_MS = 20.0
MOODS = ("happy", "good", "neutral", "bored", "frustrated")
NOTES = (
    "sketched the view from my window",
    "only ten minutes today, but I kept going",
    "tried a new brush and it felt strange",
    "今天畫了一杯咖啡,光影很難",
    "",
)
START = date(2026, 11, 1)


def practice_data(n: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Practice number n and its check-ins: varied lengths, moods, gaps and languages."""
    practice = {
        "user_id": f"bench-u{n % MEMBERS}",
        "title": ("Daily sketching", "每日英文閱讀", "30 days of running")[n % 3],
        "action": ("draw one small thing", "讀一篇短文", "run 3 km")[n % 3],
        "tags": [("drawing", "閱讀", "running")[n % 3]],
        "start_date": START.isoformat(),
        "duration_days": 30,
        # A completion insight is only for a completed practice (the API answers 409 otherwise).
        "status": "completed" if request_of(n)["kind"] == "completion_insight" else "active",
    }
    checkins = []
    day = 0
    for c in range(1 + n % 5):
        day += 1 + (c * n) % 3
        checkins.append(
            {
                "id": f"bench-c{n}-{c}",
                "user_id": practice["user_id"],
                "date": (START + timedelta(days=day)).isoformat(),
                "mood": MOODS[(n + c) % len(MOODS)],
                "note": NOTES[(n + c) % len(NOTES)] or None,
            }
        )
    return practice, checkins


def raw_prompt(prompt: Prompt) -> dict[str, Any]:
    """A prompt as bench.raw_llm takes it: the messages and the schema a worker would send."""
    return {"messages": prompt.messages, "schema": answer_schema(prompt)}


def prompt_from_bodies(
    kind: str, locale: str, practice: dict[str, Any], checkins: list[dict[str, Any]]
) -> Prompt:
    """The prompt a worker builds from a practice and check-ins as the API was sent them."""
    row = Practice(
        title=practice["title"],
        practice_action=practice.get("practice_action", practice.get("action")),
        tags=practice["tags"],
        start_date=date.fromisoformat(practice["start_date"]),
        duration_days=practice["duration_days"],
    )
    rows = [
        Checkin(
            checkin_date=date.fromisoformat(c["date"]),
            mood=c["mood"],
            note=c["note"],
            tags=c.get("tags", []),
        )
        for c in checkins
    ]
    return job_prompt(kind, locale, row, rows)


def rebuilt_prompt(n: int) -> Prompt:
    """The prompt the worker builds for request n, from the same data, by the same code."""
    practice, checkins = practice_data(n)
    request = request_of(n)
    return prompt_from_bodies(request["kind"], request["locale"], practice, checkins)


def request_of(n: int) -> dict[str, Any]:
    return {
        "kind": FEEDBACK_KINDS[n % len(FEEDBACK_KINDS)],
        "locale": ("en", "zh-TW")[n % 2],
        "idempotency_key": f"bench-{n}",
    }


async def load(client: httpx.AsyncClient, count: int) -> None:
    for m in range(MEMBERS):
        member = {"display_name": f"bench member {m}"}
        (await client.put(f"/v1/users/bench-u{m}", json=member)).raise_for_status()
    for n in range(count):
        practice, checkins = practice_data(n)
        (await client.put(f"/v1/practices/bench-p{n}", json=practice)).raise_for_status()
        for checkin in checkins:
            response = await client.post(f"/v1/practices/bench-p{n}/checkins", json=checkin)
            response.raise_for_status()


async def finished(client: httpx.AsyncClient, status_urls: list[str]) -> list[dict[str, Any]]:
    """Every job's final view, following each one's event stream (no polling) until it ends."""
    jobs = []
    for url in status_urls:
        final = None
        async with client.stream("GET", f"{url}/events", timeout=None) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    final = json.loads(line[5:])
        if final is None or final["status"] not in ("succeeded", "failed"):
            raise SystemExit(f"the event stream of {url} ended without a final status")
        jobs.append(final)
    return jobs


async def pipeline(api_url: str, token: str, count: int) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=api_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(60, connect=5),
    ) as client:
        await load(client, count + 1)
        # Warm-up (not counted): the worker loads the model on its first job.
        warm = await client.post(f"/v1/practices/bench-p{count}/feedback", json=request_of(count))
        warm.raise_for_status()
        await finished(client, [warm.json()["status_url"]])
        print(f"  {count} practices loaded, worker warm; submitting {count} jobs", flush=True)
        latencies, urls = [], []
        started_at = datetime.now().astimezone()
        for n in range(count):
            before = time.perf_counter()
            response = await client.post(f"/v1/practices/bench-p{n}/feedback", json=request_of(n))
            latencies.append((time.perf_counter() - before) * 1000)
            if response.status_code != 202:
                raise SystemExit(f"job {n}: {response.status_code} {response.text}")
            urls.append(response.json()["status_url"])
        jobs = await finished(client, urls)
    ends = [datetime.fromisoformat(j["finished_at"]) for j in jobs]
    wall = (max(ends) - started_at).total_seconds()
    tokens = sum(j["completion_tokens"] or 0 for j in jobs)
    return {
        "jobs": jobs,
        "wall_s": wall,
        "tokens": tokens,
        "enqueue_ms": latencies,
    }


def raw(prompts: list[Prompt], threads: int) -> dict[str, Any]:
    """The same prompts through llama.cpp alone, in a bare process (see bench.raw_llm); the
    last one only warms the model up."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump([raw_prompt(p) for p in prompts], file)
        file.flush()
        done = subprocess.run(
            [sys.executable, "-m", "bench.raw_llm", file.name, str(threads)],
            cwd=ROOT,
            env={**os.environ, "MODEL_CACHE": os.environ.get("MODEL_CACHE", str(MODEL_CACHE))},
            capture_output=True,
            text=True,
            check=True,
        )
    measured: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def run(count: int = DEFAULT_JOBS, out: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="daodao-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        env = {"LOAD_DEMO_DATA": "false", "FEEDBACK_DAILY_QUOTA": "1000000"}
        with running_stack(data_dir, env=env) as stack:
            threads = Settings(data_dir=data_dir).llm_thread_count
            # Raw speed before and after the pipeline, with the stack idle: this machine's
            # speed drifts from minute to minute, so the pipeline is compared to the mean.
            print("  raw llama.cpp on the benchmark's prompts (before)", flush=True)
            prompts = [rebuilt_prompt(n) for n in range(count + 1)]
            before = raw(prompts, threads)
            token = service_token(Settings(data_dir=data_dir), ["read", "write"])
            measured = asyncio.run(pipeline(stack.api_url, token, count))
            jobs = measured["jobs"]
            print("  pipeline done; raw llama.cpp again (after)", flush=True)
            after = raw(prompts, threads)
    worker_prompts = [j["prompt_tokens"] for j in jobs]
    same = min(
        sum(a == b for a, b in zip(run["prompt_tokens"], worker_prompts, strict=True))
        for run in (before, after)
    )
    direct = {
        "tokens": before["tokens"] + after["tokens"],
        "seconds": before["seconds"] + after["seconds"],
    }
    failed = sum(j["status"] != "succeeded" for j in jobs)
    pipeline_tps = measured["tokens"] / measured["wall_s"]
    raw_tps = direct["tokens"] / direct["seconds"]
    enqueue = measured["enqueue_ms"]
    result = {
        "jobs": count,
        "failed": failed,
        "jobs_per_s": round(count / measured["wall_s"], 3),
        "pipeline_tokens_per_s": round(pipeline_tps, 1),
        "raw_tokens_per_s": round(raw_tps, 1),
        "tokens_ratio": round(pipeline_tps / raw_tps, 3),
        "enqueue_p50_ms": round(statistics.median(enqueue), 2),
        "enqueue_p99_ms": round(percentile(enqueue, 0.99), 2),
        "pipeline": {
            "generated_tokens": measured["tokens"],
            "wall_s": round(measured["wall_s"], 2),
        },
        "raw": {
            "before_tokens_per_s": round(before["tokens"] / before["seconds"], 1),
            "after_tokens_per_s": round(after["tokens"] / after["seconds"], 1),
            "generated_tokens": direct["tokens"],
            "generating_s": round(direct["seconds"], 2),
            "prompts_identical_to_the_workers": f"{same}/{count}",
        },
        "targets": {
            "tokens_ratio": TARGET_TOKENS_RATIO,
            "enqueue_p99_ms": TARGET_ENQUEUE_P99_MS,
            "failed": 0,
        },
    }
    rows = [
        {
            "what": "pipeline vs raw tokens/s",
            "measured": f"{result['pipeline_tokens_per_s']} vs {result['raw_tokens_per_s']} "
            f"({result['tokens_ratio']}x)",
            "target": f">= {TARGET_TOKENS_RATIO}x",
        },
        {
            "what": "enqueue p50 / p99",
            "measured": f"{result['enqueue_p50_ms']} / {result['enqueue_p99_ms']} ms",
            "target": f"p99 <= {TARGET_ENQUEUE_P99_MS} ms",
        },
        {"what": "jobs/s", "measured": result["jobs_per_s"], "target": "-"},
        {"what": "failed jobs", "measured": f"{failed} of {count}", "target": "0"},
    ]
    print_table("AI feedback pipeline", rows)
    path = write_result("feedback", rows, **result)
    if out is not None:
        out.write_text(path.read_text())
    return result
