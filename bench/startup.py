"""Start-up: seconds from `daodao-ai run` to `/readyz` 200, cold (empty data) and warm (restart).

Target (DESIGN.md): on an installed checkout, /readyz answers 200 within 20 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import print_table, write_result

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def time_to_ready(data_dir: Path, *, deadline: float = 180.0) -> float:
    api_port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DATA_DIR": str(data_dir),
        "API_PORT": str(api_port),
        "GATEWAY_PORT": str(_free_port()),
        "EMBEDDED_REDIS_PORT": str(_free_port()),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "ai_backend.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        while time.perf_counter() - started < deadline:
            if _ready(f"http://127.0.0.1:{api_port}/readyz"):
                return time.perf_counter() - started
            if process.poll() is not None:
                raise RuntimeError(f"daodao-ai run exited with {process.returncode}")
            time.sleep(0.1)
        raise RuntimeError(f"/readyz not 200 within {deadline} s")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def main(_data: Path | None = None) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="daodao-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        for phase in ("cold (first run: initdb, demo data, index)", "warm (restart)"):
            seconds = time_to_ready(data_dir)
            rows.append(
                {
                    "phase": phase,
                    "seconds_to_ready": round(seconds, 2),
                    "target_s": TARGET_SECONDS,
                    "meets_target": seconds <= TARGET_SECONDS,
                }
            )
            print(f"  {phase}: {seconds:.2f} s", flush=True)
    print_table("start-up: daodao-ai run -> /readyz 200", rows)
    path = write_result("startup", rows)
    print(f"wrote {path}")
    return {"rows": rows}


if __name__ == "__main__":
    main()
