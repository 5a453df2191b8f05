"""Shared helpers: result files, tables, and wrk runs."""

from __future__ import annotations

import json
import platform
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
WRK_SECONDS = 10
WRK_CONNECTIONS = 16


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-quantile (0 <= q <= 1) of some timings."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def write_result(name: str, rows: list[dict[str, Any]], **extra: Any) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "rows": rows,
        **extra,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    return path


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print(f"\n{title}")
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns))


_WRK_LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
"""


def wrk(
    url: str,
    *,
    header: str | None = None,
    paths: list[str] | None = None,
    connections: int = WRK_CONNECTIONS,
    seconds: int = WRK_SECONDS,
    script: str | None = None,
    allow_errors: bool = False,
) -> dict[str, float]:
    """Requests/s, p50 and p99 of GETs on `url` (or on `paths` in turn) from one wrk thread.

    `script` is Lua of one's own (a mix of methods, a `delay()`); with `allow_errors` the
    non-2xx answers and socket errors are counted in `errors` instead of failing the run.
    """
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if header:
        command += ["-H", header]
    if paths:
        listing = Path(tempfile.mkstemp(suffix=".txt")[1])
        listing.write_text("\n".join(paths) + "\n")
        script = _WRK_LUA % listing
    lua = None
    if script is not None:
        lua = Path(tempfile.mkstemp(suffix=".lua")[1])
        lua.write_text(script)
        command += ["-s", str(lua)]
    try:
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    finally:
        if lua is not None:
            lua.unlink()
        if paths:
            listing.unlink()
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors:\s+connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0
    )
    if errors and not allow_errors:
        raise RuntimeError(f"wrk saw errors:\n{output}")

    def millis(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if match is None:
            raise RuntimeError(f"no {label}% latency in wrk output:\n{output}")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    if rps is None or requests is None:
        raise RuntimeError(f"no throughput in wrk output:\n{output}")
    return {
        "rps": round(float(rps.group(1))),
        "requests": int(requests.group(1)),
        "p50_ms": round(millis("50"), 3),
        "p99_ms": round(millis("99"), 3),
        "errors": errors,
    }
