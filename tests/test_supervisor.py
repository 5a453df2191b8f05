"""`daodao-ai run` end to end: ready on both ports, and nothing left running after SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import free_port
from tests.eventually import eventually_sync

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def start(data_dir: Path, ports: dict[str, int], log: Path) -> subprocess.Popen[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "QDRANT_URL", "JWT_SECRET")
    }
    # The small model: this test is about processes starting and stopping, not answers.
    env.update({"DATA_DIR": str(data_dir), "LLM_LOCAL_MODEL": "smollm2-135m"})
    env.update({k: str(v) for k, v in ports.items()})
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ai_backend.cli", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def processes_of(data_dir: Path, ports: dict[str, int]) -> list[psutil.Process]:
    """Every live process that belongs to this run: by data folder, port or supervisor env."""
    marks = [str(data_dir), *(f"--port {p}" for p in ports.values())]
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(proc.info["cmdline"] or [])
            environ = proc.environ() if not any(m in cmdline for m in marks) else {}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if any(m in cmdline for m in marks) or environ.get("DATA_DIR") == str(data_dir):
            found.append(proc)
    return found


def ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def ports() -> dict[str, int]:
    return {
        "API_PORT": free_port(),
        "GATEWAY_PORT": free_port(),
        "EMBEDDED_REDIS_PORT": free_port(),
    }


def test_run_serves_then_stops_cleanly_and_keeps_data(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "run.log"
    api = f"http://127.0.0.1:{ports['API_PORT']}"
    gateway = f"http://127.0.0.1:{ports['GATEWAY_PORT']}"

    for attempt in (1, 2):
        supervisor = start(data_dir, ports, log)
        try:
            eventually_sync(
                lambda: ready(f"{api}/readyz"), within=120, what=f"/readyz (run {attempt})"
            )
            eventually_sync(lambda: ready(f"{gateway}/healthz"), within=30, what="gateway /healthz")
            for base in (api, gateway):
                response = httpx.get(f"{base}/v1/system/whoami", headers={"X-Request-ID": "sup-1"})
                assert response.status_code == 401
                assert response.json()["error"]["code"] == "unauthorized"
                assert response.json()["request_id"] == "sup-1"
            assert processes_of(data_dir, ports), "the run's processes are visible while it runs"
            if attempt == 1:
                use_the_cli_and_search(tmp_path, data_dir, api, gateway)
        finally:
            supervisor.send_signal(signal.SIGTERM)
            assert supervisor.wait(timeout=60) == 0
        eventually_sync(
            lambda: not processes_of(data_dir, ports), within=15, what="every process to exit"
        )

    text = log.read_text(errors="replace")
    assert "loaded demo data" in text
    assert "demo data not loaded again" in text, "the second run found the first run's data"


def printed(argv: list[str], env: dict[str, str]) -> str:
    """What a command prints, stripped; it must succeed."""
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=True)
    return run.stdout.strip()


def use_the_cli_and_search(tmp_path: Path, data_dir: Path, api: str, gateway: str) -> None:
    """`daodao-ai ingest` and `reindex` against the live API, then search through both ports."""
    lines = [
        json.dumps({"id": "cli-1", "kind": "course", "title": "Sourdough baking for beginners"}),
        json.dumps({"id": "cli-2", "kind": "book", "title": "手沖咖啡的萃取原理"}),
        "{this line is not json",
        json.dumps({"id": "cli-3", "kind": "podcast", "title": "unknown kind"}),
    ]
    feed = tmp_path / "items.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "DATA_DIR": str(data_dir)}
    ingest = subprocess.run(
        [sys.executable, "-m", "ai_backend.cli", "ingest", str(feed), "--url", api],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ingest.returncode == 1, "failures make the exit status non-zero"
    assert "created 2, updated 0, unchanged 0, failed 2" in ingest.stdout
    assert "line 3: not JSON" in ingest.stderr
    assert "id cli-3: kind:" in ingest.stderr
    reindex = subprocess.run(
        [sys.executable, "-m", "ai_backend.cli", "reindex", "--url", api],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert reindex.returncode == 0, reindex.stderr
    assert "reindex succeeded" in reindex.stdout
    token = printed([sys.executable, "-m", "ai_backend.cli", "token", "--scopes", "read"], env)
    # End users reach the gateway with a session (here, the demo member's), never a service token.
    script = PROJECT_ROOT / "node_gateway" / "bin" / "session-token.js"
    session = printed(["node", str(script), "--user", "u-ling"], env)
    assert (
        httpx.get(
            f"{gateway}/v1/search?q=x", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )
    for base, bearer in ((api, token), (gateway, session)):
        headers = {"Authorization": f"Bearer {bearer}"}
        english = httpx.get(f"{base}/v1/search", params={"q": "how to bake bread"}, headers=headers)
        assert english.json()["hits"][0]["id"] == "cli-1"
        chinese = httpx.get(f"{base}/v1/search", params={"q": "咖啡萃取原理"}, headers=headers)
        assert chinese.json()["hits"][0]["id"] == "cli-2"
        # The demo catalogue is searchable too, in both languages.
        demo = httpx.get(f"{base}/v1/search", params={"q": "德語文法"}, headers=headers)
        assert "德語" in demo.json()["hits"][0]["title"]
        # A demo member learning German gets explained recommendations that fit her practice.
        picks = httpx.get(f"{base}/v1/users/u-ling/recommendations", headers=headers, timeout=30)
        assert picks.status_code == 200, picks.text
        items = picks.json()["items"]
        assert items
        assert all(item["reasons"] for item in items)
        codes = {reason["code"] for item in items for reason in item["reasons"]}
        assert "ongoing_practice" in codes


def test_run_refuses_a_taken_port_with_advice(tmp_path: Path, ports: dict[str, int]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", ports["API_PORT"]))
        blocker.listen()
        log = tmp_path / "run.log"
        supervisor = start(tmp_path / "data", ports, log)
        assert supervisor.wait(timeout=60) == 2
    text = log.read_text()
    assert f"port {ports['API_PORT']} (API_PORT) is already in use" in text
    assert "set API_PORT" in text
    assert not processes_of(tmp_path / "data", ports)
