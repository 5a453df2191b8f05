"""Start a private stack (`daodao-ai run` in a temporary folder, on free ports) for a benchmark."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_CACHE = Path(tempfile.gettempdir()) / "daodao-models"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Stack:
    data_dir: Path
    api_url: str
    gateway_url: str
    env: dict[str, str]
    seconds_to_ready: float
    log: Path
    pid: int  # of `daodao-ai run`, whose children are the API, the worker and the gateway


# For a stack that wrk drives: a throughput stage measures the service, not the API's own
# per-subject rate limit (RATE_LIMIT, 5,000 requests/s), which a fast run would reach and answer
# with 429s.
NO_RATE_LIMIT = {"RATE_LIMIT": ""}


@contextlib.contextmanager
def running_stack(
    data_dir: Path, *, deadline: float = 300.0, env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """Yield once `/readyz` answers 200; stop everything (SIGTERM) afterwards."""
    api_port, gateway_port = free_port(), free_port()
    environment = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "QDRANT_URL")
        },
        "DATA_DIR": str(data_dir),
        # One joined copy of the local model for every benchmark stack, not one per folder.
        "MODEL_CACHE": os.environ.get("MODEL_CACHE", str(MODEL_CACHE)),
        "API_PORT": str(api_port),
        "GATEWAY_PORT": str(gateway_port),
        "EMBEDDED_REDIS_PORT": str(free_port()),
        **(env or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}.log"
    started = time.perf_counter()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ai_backend.cli", "run"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    api = f"http://127.0.0.1:{api_port}"
    try:
        while not answers(f"{api}/readyz"):
            if process.poll() is not None:
                raise RuntimeError(f"daodao-ai run exited with {process.returncode}; see {log}")
            if time.perf_counter() - started > deadline:
                raise RuntimeError(f"/readyz not 200 within {deadline:.0f} s; see {log}")
            time.sleep(0.1)
        yield Stack(
            data_dir=data_dir,
            api_url=api,
            gateway_url=f"http://127.0.0.1:{gateway_port}",
            env=environment,
            seconds_to_ready=time.perf_counter() - started,
            log=log,
            pid=process.pid,
        )
    except BaseException:
        # The stack's folder goes with the benchmark's temporary one: show what it said last.
        tail = log.read_text(errors="replace").splitlines()[-40:]
        print(f"-- the last lines of {log} --", *tail, sep="\n", file=sys.stderr, flush=True)
        raise
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
