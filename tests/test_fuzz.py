"""Schemathesis against a live API: generated requests, valid and not, with and without a token.

The API runs as its own uvicorn process on private PostgreSQL and Valkey servers, so that the
thousands of generated writes and deletes touch nothing the rest of the suite relies on. It logs
at DEBUG, and the log is then searched for the token and the secrets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ai_backend.auth import issue_token
from tests.conftest import (
    ISSUER,
    JWT_SECRET,
    PROJECT_ROOT,
    free_port,
    start_worker,
)
from tests.eventually import eventually_sync
from tests.stack import private_servers

CALLBACK_SECRET = "fuzz-callback-secret-" + "z" * 40
# Per operation and generation phase; 28 operations and several phases clear 1,000 requests.
MAX_EXAMPLES = 25
MIN_REQUESTS = 1000
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "missing_required_header",
        "unsupported_method",
        "ignored_auth",
        "use_after_free",
        "ensure_resource_availability",
    ]
)


@dataclass
class LiveApi:
    url: str
    token: str
    log: Path


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    root = tmp_path_factory.mktemp("fuzz")
    with private_servers(root) as servers:
        yield from _live_api(root, servers.database_url, servers.redis_url)


def _live_api(root: Path, database_url: str, redis_url: str) -> Iterator[LiveApi]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DATA_DIR": str(root / "data"),
        "JWT_SECRET": JWT_SECRET,
        "CALLBACK_SECRET": CALLBACK_SECRET,
        "LOG_LEVEL": "DEBUG",
        "LOAD_DEMO_DATA": "true",
        "API_PORT": str(port),
    }
    log = root / "api.log"
    # A worker, so that worker-ping answers; its LLM is unreachable, so that the feedback jobs
    # the fuzzer creates fail fast instead of occupying the cores.
    unreachable_llm = {"LLM_BASE_URL": "http://127.0.0.1:9/v1", "LLM_MODEL": "none"}
    worker = start_worker({**env, **unreachable_llm}, root / "worker.log", name="fuzz")
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "ai_backend.app:factory",
                "--port",
                str(port),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        eventually_sync(ready, within=120, what="the live API to be ready")
        token = issue_token(
            JWT_SECRET, scopes=["admin"], subject="fuzzer", ttl_seconds=3600, issuer=ISSUER
        )
        yield LiveApi(url, token, log)
    finally:
        server.terminate()
        server.wait(timeout=30)
        worker.terminate()
        worker.wait(timeout=30)


def schemathesis(live: LiveApi, report: Path, *, token: bool) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{live.url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "20261130",
        # One worker: hypothesis' lambda-source parsing is not thread-safe on Python 3.11.
        "--workers",
        "1",
        "--no-color",
        "--request-timeout",
        "30",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--generation-database",
        "none",
        # Strings with NUL and other control characters: PostgreSQL text cannot hold NUL, so
        # each must be a 422 naming the field, never a 500 or half a write.
        "--generation-allow-x00",
        "true",
        "--generation-codec",
        "utf-8",
    ]
    if token:
        command += ["--header", f"Authorization: Bearer {live.token}"]
    else:
        # Without a token every /v1 path and method answers 401, on purpose: a caller who has
        # not authenticated learns nothing about which routes or methods exist, so the 405
        # this check expects for undeclared methods would be a leak.
        command += ["--exclude-checks", "unsupported_method"]
    return subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)


def responses(report: Path) -> Counter[tuple[str, int]]:
    """(path, status) of every response the run received, from its NDJSON event log."""
    seen: Counter[tuple[str, int]] = Counter()
    for line in report.read_text().splitlines():
        for path, status in _exchanges(json.loads(line)):
            seen[path, status] += 1
    return seen


def _exchanges(node: object) -> Iterator[tuple[str, int]]:
    if isinstance(node, dict):
        request, response = node.get("request"), node.get("response")
        if isinstance(request, dict) and isinstance(response, dict):
            yield httpx.URL(str(request.get("uri"))).path, int(response["status_code"])
        for value in node.values():
            yield from _exchanges(value)
    elif isinstance(node, list):
        for value in node:
            yield from _exchanges(value)


@pytest.mark.parametrize("token", [True, False], ids=["admin-token", "no-token"])
def test_generated_requests_get_no_5xx_and_match_the_schema(
    live_api: LiveApi, tmp_path: Path, token: bool
) -> None:
    report = tmp_path / "events.ndjson"
    run = schemathesis(live_api, report, token=token)
    output = tmp_path / "schemathesis.txt"
    output.write_text(run.stdout + run.stderr)
    assert run.returncode == 0, (
        f"{run.stdout[-20_000:]}{run.stderr[-5_000:]}\n(all of it: {output})"
    )
    seen = responses(report)
    statuses = Counter(status for (_, status) in seen.elements())
    print(f"schemathesis sent {seen.total()} requests; statuses {dict(sorted(statuses.items()))}")
    assert seen.total() >= MIN_REQUESTS, statuses
    assert not [status for status in statuses if status >= 500], statuses
    if not token:
        # Whatever the method, path, parameters or body: no token, no information.
        answers = {status for (path, status) in seen if path.startswith("/v1/")}
        assert answers == {401}, seen


def test_no_token_or_secret_reaches_the_logs(live_api: LiveApi) -> None:
    # Runs after the fuzzing above: thousands of requests carried the token, at DEBUG.
    headers = {"Authorization": f"Bearer {live_api.token}"}
    httpx.get(f"{live_api.url}/v1/system/whoami", headers=headers, timeout=10)
    httpx.get(f"{live_api.url}/v1/system/whoami", headers={"Authorization": "Bearer x.y.z"})
    logged = live_api.log.read_text()
    assert "GET /v1/system/whoami" in logged, "the API logged requests at DEBUG"
    signature = live_api.token.rsplit(".", 1)[1]
    for secret in (live_api.token, signature, JWT_SECRET, CALLBACK_SECRET, "x.y.z"):
        assert secret not in logged
