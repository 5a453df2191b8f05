"""Gateway overhead: the same cheap `/v1` read straight to the API and through the gateway.

One private stack (`daodao-ai run`: the API and the gateway process as `make run` starts them).
The read is a member's cached recommendations. Through the gateway it carries an end user's
session, so the gateway's whole path runs: session check, rate limit, service token, breaker,
the pooled call, the last-good copy, the reply.

- throughput: wrk, 1 thread, 16 connections, 10 s, direct and gateway twice each, alternating,
  so that the machine's drift falls on both alike;
- before either, one discarded 3 s run each way warms the pools and both processes;
- added latency: wrk with one connection (requests one after another), 10 s each way, where a
  p50 is the cost of one request rather than of queueing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from statistics import mean
from typing import Any

from ai_backend.client import service_token
from ai_backend.config import Settings
from bench.common import WRK_CONNECTIONS, WRK_SECONDS, print_table, write_result, wrk
from bench.stack import ROOT, running_stack

MEMBER = "u-mei"
PATH = f"/v1/users/{MEMBER}/recommendations?limit=10"
TARGET_RATIO = 0.7
TARGET_ADDED_P50_MS = 1.0


def session_token(data_dir: Path) -> str:
    """A session for the demo member, made by the gateway's own command."""
    script = ROOT / "node_gateway" / "bin" / "session-token.js"
    return subprocess.run(
        ["node", str(script), "--user", MEMBER, "--ttl", "3600"],
        env={"PATH": os.environ["PATH"], "DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def run(out: Path | None = None) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `make tools` installs it (Debian package wrk)")
    with tempfile.TemporaryDirectory(prefix="daodao-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        # The limiter still runs (its cost counts); one member just may send this many.
        with running_stack(data_dir, env={"GATEWAY_RATE_LIMIT": "1000000"}) as stack:
            token = service_token(Settings(data_dir=data_dir), ["read"])
            targets = {
                "direct": (stack.api_url, f"Authorization: Bearer {token}"),
                "gateway": (stack.gateway_url, f"Authorization: Bearer {session_token(data_dir)}"),
            }
            for base, header in targets.values():
                # A short discarded run fills the cache and both pools and warms both processes;
                # wrk() fails on any answer that is not 2xx.
                wrk(f"{base}{PATH}", header=header, seconds=3)
            print(f"  {PATH}: warm; wrk runs of {WRK_SECONDS} s each", flush=True)

            loaded: dict[str, list[dict[str, float]]] = {"direct": [], "gateway": []}
            for _ in range(2):
                for way, (base, header) in targets.items():
                    loaded[way].append(wrk(f"{base}{PATH}", header=header))
                    print(f"  {way:<8} {loaded[way][-1]}", flush=True)
            single = {
                way: wrk(f"{base}{PATH}", header=header, connections=1)
                for way, (base, header) in targets.items()
            }
            print(f"  one connection: {single}", flush=True)

    def averaged(way: str, key: str) -> float:
        return round(mean(run[key] for run in loaded[way]), 3)

    direct_rps, gateway_rps = averaged("direct", "rps"), averaged("gateway", "rps")
    added_p50 = round(single["gateway"]["p50_ms"] - single["direct"]["p50_ms"], 3)
    result = {
        "path": PATH,
        "direct_rps": round(direct_rps),
        "gateway_rps": round(gateway_rps),
        "ratio": round(gateway_rps / direct_rps, 3),
        "direct_p50_ms": single["direct"]["p50_ms"],
        "gateway_p50_ms": single["gateway"]["p50_ms"],
        "added_p50_ms": added_p50,
        "direct_p99_ms": single["direct"]["p99_ms"],
        "gateway_p99_ms": single["gateway"]["p99_ms"],
        "loaded": {
            way: {
                "rps": averaged(way, "rps"),
                "p50_ms": averaged(way, "p50_ms"),
                "p99_ms": averaged(way, "p99_ms"),
            }
            for way in loaded
        },
        "wrk": f"1 thread; throughput {WRK_CONNECTIONS} connections, latency 1 connection; "
        f"{WRK_SECONDS} s each",
        "meets_target": {
            "ratio": gateway_rps / direct_rps >= TARGET_RATIO,
            "added_p50": added_p50 <= TARGET_ADDED_P50_MS,
        },
    }
    rows = [
        {
            "way": way,
            "rps (16 conn)": round(averaged(way, "rps")),
            "p50 ms (16 conn)": averaged(way, "p50_ms"),
            "p99 ms (16 conn)": averaged(way, "p99_ms"),
            "p50 ms (1 conn)": single[way]["p50_ms"],
            "p99 ms (1 conn)": single[way]["p99_ms"],
        }
        for way in loaded
    ]
    print_table("gateway overhead (cached recommendations)", rows)
    print(
        f"\n  gateway/direct throughput {result['ratio']} (target >= {TARGET_RATIO}); "
        f"added p50 {added_p50} ms (target <= {TARGET_ADDED_P50_MS})"
    )
    path = write_result("gateway", rows, **result)
    if out is not None:
        shutil.copy(path, out)
    return result
