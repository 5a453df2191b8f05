"""Soak: a mixed load at about 70 % of measured capacity against `daodao-ai run`, for minutes.

The mix: 70 % cached recommendations (the demo members'), 20 % search, 9 % events and 1 %
feedback requests. Events come from members of their own, so that they do not retire the cached
lists being read (an event retires its member's lists at once). Feedback requests repeat one
idempotency key: the first makes a job (generated before the measurements start), the rest
find it, so the local LLM does not take the cores from the API for the whole soak.

Each route is driven by its own wrk process (one thread, C, so the load costs little CPU):

1. capacity: each route alone, 8 connections, 5 s; the mix's capacity is 1 / sum(share / cap);
2. unloaded: each route alone, one connection, a request every 50 ms, 10 s: its p50 and p99;
3. soak: all four at once, each at its share of 70 % of the mix's capacity (wrk's `delay()`
   spaces the requests on each connection), for the duration (5 min by default). API and
   worker RSS are read at the start and at the end.

Targets: no errors; each route's p99 within 2 x its unloaded p99; RSS growth at most 10 %.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psutil

from ai_backend.client import service_token
from ai_backend.config import Settings
from bench.common import print_table, write_result, wrk
from bench.stack import NO_RATE_LIMIT, ROOT, running_stack

SHARE_OF_CAPACITY = 0.7
SHARES = {"recommend": 0.70, "search": 0.20, "events": 0.09, "feedback": 0.01}
CONNECTIONS = {"recommend": 8, "search": 4, "events": 2, "feedback": 1}
DEMO = json.loads((ROOT / "ai_backend" / "demo" / "catalog.json").read_text())
MEMBERS = [user["id"] for user in DEMO["users"]]
ITEMS = [item["id"] for item in DEMO["items"]]
PRACTICE = DEMO["practices"][0]["id"]
WRITERS = [f"soak-writer-{n}" for n in range(20)]
QUERIES = ["python 入門", "design", "資料分析", "machine learning", "German", "寫作", "React"]
FEEDBACK_BODY = json.dumps({"kind": "completion_insight", "idempotency_key": "soak"})


def lua_list(values: list[str]) -> str:
    return "{" + ", ".join(json.dumps(v) for v in values) + "}"


def script(route: str, delay_ms: float) -> str:
    """Lua for one route: its requests in turn, `delay_ms` apart on each connection."""
    head = f"delay = function() return {max(0, round(delay_ms))} end\nlocal n = 0\n"
    if route in ("recommend", "search"):
        if route == "recommend":
            paths = [f"/v1/users/{m}/recommendations?limit=10" for m in MEMBERS]
        else:
            paths = [f"/v1/search?q={quote(q)}" for q in QUERIES]
        return (
            head
            + f"""local paths = {lua_list(paths)}
request = function()
  n = n + 1
  return wrk.format("GET", paths[n % #paths + 1])
end
"""
        )
    wrk_headers = 'wrk.headers["Content-Type"] = "application/json"\n'
    if route == "events":
        return (
            head
            + wrk_headers
            + f"""local users = {lua_list(WRITERS)}
local items = {lua_list(ITEMS)}
local prefix = "soak-{uuid.uuid4().hex[:12]}-" .. tostring(math.random(1, 1000000000))
request = function()
  n = n + 1
  local body = string.format(
    '{{"events":[{{"id":"%s%d","user_id":"%s","item_id":"%s","type":"view",' ..
    '"occurred_at":"2026-11-30T00:00:00Z"}}]}}',
    prefix, n, users[n % #users + 1], items[n % #items + 1])
  return wrk.format("POST", "/v1/events", nil, body)
end
"""
        )
    return (
        head
        + wrk_headers
        + f"""local body = {json.dumps(FEEDBACK_BODY)}
request = function()
  return wrk.format("POST", "/v1/practices/{PRACTICE}/feedback", nil, body)
end
"""
    )


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


def prepare(base: str, token: str) -> None:
    """Members for the events, and the one feedback job, finished before anything is timed."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for writer in WRITERS:
            profile = {"display_name": writer, "interests": ["soak"]}
            client.put(f"/v1/users/{writer}", json=profile).raise_for_status()
        asked = client.post(f"/v1/practices/{PRACTICE}/feedback", json=json.loads(FEEDBACK_BODY))
        asked.raise_for_status()
        job = asked.json()["job_id"]
        deadline = time.monotonic() + 300
        while client.get(f"/v1/feedback/{job}").json()["status"] not in ("succeeded", "failed"):
            if time.monotonic() > deadline:
                raise RuntimeError("the soak's feedback job did not finish within 300 s")
            time.sleep(1)


def run(seconds: int = 300, out: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="daodao-soak-") as tmp:
        data_dir = Path(tmp) / "data"
        with running_stack(data_dir, env=NO_RATE_LIMIT) as stack:
            token = service_token(Settings(data_dir=data_dir), ["read", "write"])
            header = f"Authorization: Bearer {token}"
            prepare(stack.api_url, token)

            def drive(route: str, connections: int, secs: int, delay: float) -> dict[str, Any]:
                text = script(route, delay)
                return wrk(
                    stack.api_url,
                    header=header,
                    connections=connections,
                    seconds=secs,
                    script=text,
                    allow_errors=True,
                )

            for route in SHARES:  # warm: caches, pools, the model
                drive(route, 4, 2, 0)
            capacity = {route: drive(route, 8, 5, 0)["rps"] for route in SHARES}
            mixed = 1 / sum(share / capacity[route] for route, share in SHARES.items())
            unloaded = {route: drive(route, 1, 10, 50) for route in SHARES}
            rate = SHARE_OF_CAPACITY * mixed
            print(f"capacity {mixed:.0f} requests/s (alone: {capacity}); soaking at {rate:.0f}/s")
            rss_start = rss_mb(stack.pid)
            with ThreadPoolExecutor(len(SHARES)) as pool:
                futures = {
                    route: pool.submit(
                        drive,
                        route,
                        CONNECTIONS[route],
                        seconds,
                        CONNECTIONS[route] * 1000 / (share * rate) - unloaded[route]["p50_ms"],
                    )
                    for route, share in SHARES.items()
                }
                soak = {route: future.result() for route, future in futures.items()}
            rss_end = rss_mb(stack.pid)

    rows = [
        {
            "route": route,
            "share": f"{SHARES[route]:.0%}",
            "rps": soak[route]["rps"],
            "p50_ms": soak[route]["p50_ms"],
            "p99_ms": soak[route]["p99_ms"],
            "unloaded_p99_ms": unloaded[route]["p99_ms"],
            "p99_x": round(soak[route]["p99_ms"] / unloaded[route]["p99_ms"], 2),
            "errors": soak[route]["errors"],
        }
        for route in SHARES
    ]
    growth = {
        name: round(100 * (rss_end[name] / rss_start[name] - 1), 1)
        for name in rss_start
        if rss_start[name]
    }
    throughput = sum(row["rps"] for row in rows)
    errors = sum(row["errors"] for row in rows)
    print_table(f"soak: {seconds} s, {throughput} requests/s (target {rate:.0f})", rows)
    print(f"errors: {errors}; RSS MB at start {rss_start}, at end {rss_end}, growth % {growth}")
    summary = {
        "seconds": seconds,
        "capacity_rps": round(mixed),
        "capacity_alone_rps": capacity,
        "target_rps": round(rate),
        "throughput_rps": throughput,
        "errors": errors,
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_end,
        "rss_growth_pct": growth,
        "targets": {"errors": 0, "p99_x_unloaded": 2.0, "rss_growth_pct": 10},
    }
    write_result("soak" if out is None else out.stem, rows, **summary)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=int, default=300, help="soak duration")
    args = parser.parse_args()
    run(args.seconds)


if __name__ == "__main__":
    main()
