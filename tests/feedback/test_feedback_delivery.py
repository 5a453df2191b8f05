"""How results reach the caller: server-sent events, signed callbacks; and what limits requests:
the daily quota and an unreachable queue."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from celery import Celery
from fastapi import FastAPI

from ai_backend.config import Settings
from ai_backend.feedback.callbacks import SIGNATURE_HEADER, sign, verify
from ai_backend.feedback.service import QUOTA_PREFIX
from ai_backend.infra.queue import make_celery
from tests.conftest import free_port
from tests.eventually import eventually
from tests.feedback.test_feedback import practice_with_checkins, wait_for

Auth = Callable[..., dict[str, str]]


def parse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, JSON data) for each event in a text/event-stream body; comments skipped."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


async def test_status_changes_stream_as_server_sent_events(
    worker: subprocess.Popen[bytes], client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    practice = await practice_with_checkins(client, auth, unique)
    accepted = await client.post(
        f"/v1/practices/{practice}/feedback",
        json={"kind": "checkin_encouragement", "locale": "en"},
        headers=auth("write"),
    )
    url = accepted.json()["status_url"] + "/events"
    async with client.stream("GET", url, headers=auth("read"), timeout=180) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = (await response.aread()).decode()
    events = parse_events(body)
    names = [name for name, _ in events]
    # The stream ends with the final state, and never goes backwards.
    assert names[-1] == "succeeded", body
    order = ["queued", "running", "succeeded"]
    assert [order.index(n) for n in names] == sorted(order.index(n) for n in names)
    final = events[-1][1]
    assert final["job_id"] == accepted.json()["job_id"]
    assert final["result"]["message"].strip()
    # A finished job's stream is its final state alone.
    again = parse_events((await client.get(url, headers=auth("read"))).text)
    assert [name for name, _ in again] == ["succeeded"]


async def test_event_streams_check_the_job_and_the_token(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    url = f"/v1/feedback/{uuid.uuid4()}/events"
    assert (await client.get(url)).status_code == 401
    missing = await client.get(url, headers=auth("read"))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


# -- signed callbacks -------------------------------------------------------------------------


@dataclass
class Receiver:
    """A real HTTP server that answers 503 to the first `failures` requests, then 204."""

    failures: int
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                failing = len(receiver.received) <= receiver.failures
                self.send_response(503 if failing else 204)
                if failing:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(failures=1)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), receiver.handler())
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks/feedback"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


async def test_a_callback_is_signed_and_retried_until_delivered(
    worker: subprocess.Popen[bytes],
    client: httpx.AsyncClient,
    auth: Auth,
    settings: Settings,
    receiver: Receiver,
    unique: str,
) -> None:
    practice = await practice_with_checkins(client, auth, unique)
    accepted = await client.post(
        f"/v1/practices/{practice}/feedback",
        json={"kind": "weekly_summary", "locale": "zh-TW", "callback_url": receiver.url},
        headers=auth("write"),
    )
    assert accepted.status_code == 202, accepted.text
    status_url = accepted.json()["status_url"]
    await wait_for(client, auth, status_url)

    async def settled() -> dict[str, Any] | None:
        job: dict[str, Any] = (await client.get(status_url, headers=auth("read"))).json()
        return job if job["callback"]["status"] != "pending" else None

    job = await eventually(settled, within=60, what="the callback to be delivered or given up")
    assert job["callback"]["status"] == "delivered", job
    assert job["callback"]["attempts"] == 2
    assert job["callback"]["error"] is None
    assert len(receiver.received) == 2
    secret = settings.callback_key()
    for headers, body in receiver.received:
        assert verify(secret, headers[SIGNATURE_HEADER], body)
        # Changed by one byte, or signed with another secret, it no longer verifies.
        assert not verify(secret, headers[SIGNATURE_HEADER], body + b" ")
        assert not verify("another secret", headers[SIGNATURE_HEADER], body)
    document = json.loads(receiver.received[-1][1])
    assert document["type"] == "feedback.job.finished"
    assert document["job"]["job_id"] == job["job_id"]
    assert document["job"]["result"] == job["result"]


def test_signatures_expire() -> None:
    body = b'{"type":"feedback.job.finished"}'
    old = sign("s", body, timestamp=int(time.time()) - 3600)
    assert not verify("s", old, body)
    assert verify("s", sign("s", body), body)
    assert not verify("s", "v1=abc", body)
    assert not verify("s", "t=soon,v1=abc", body)


# -- limits -----------------------------------------------------------------------------------


async def test_the_daily_quota_answers_429_and_stores_nothing(
    client: httpx.AsyncClient, auth: Auth, app: FastAPI, unique: str
) -> None:
    practice = await practice_with_checkins(client, auth, unique)
    service = app.state.resources.feedback
    path = f"/v1/practices/{practice}/feedback"
    saved, service.daily_quota = service.daily_quota, 2
    try:
        for n in range(2):
            body = {"kind": "weekly_summary", "idempotency_key": f"q{n}-{unique}"}
            response = await client.post(path, json=body, headers=auth("write"))
            assert response.status_code == 202, response.text
        over = await client.post(
            path,
            json={"kind": "weekly_summary", "idempotency_key": f"q2-{unique}"},
            headers=auth("write"),
        )
        # Asking again for a job already made costs nothing.
        repeat = await client.post(
            path,
            json={"kind": "weekly_summary", "idempotency_key": f"q0-{unique}"},
            headers=auth("write"),
        )
    finally:
        service.daily_quota = saved
    assert over.status_code == 429, over.text
    assert over.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(over.headers["Retry-After"]) <= 86_400
    assert repeat.status_code == 200
    listed = await client.get(f"/v1/practices/{practice}/feedback", headers=auth("read"))
    assert len(listed.json()["jobs"]) == 2


async def test_an_unreachable_queue_answers_503_and_stores_nothing(
    client: httpx.AsyncClient, auth: Auth, app: FastAPI, settings: Settings, unique: str
) -> None:
    practice = await practice_with_checkins(client, auth, unique)
    service = app.state.resources.feedback
    # A broker address where nothing listens: the publish fails, as with Redis down.
    dead: Celery = make_celery(settings, f"redis://127.0.0.1:{free_port()}/0")
    saved, service.celery = service.celery, dead
    try:
        response = await client.post(
            f"/v1/practices/{practice}/feedback",
            json={"kind": "weekly_summary"},
            headers=auth("write"),
        )
    finally:
        service.celery = saved
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"]
    assert "nothing was stored" in response.json()["error"]["message"]
    listed = await client.get(f"/v1/practices/{practice}/feedback", headers=auth("read"))
    assert listed.json()["jobs"] == []
    # Nor was it charged to the member's quota.
    day = datetime.now(UTC).strftime("%Y%m%d")
    charged = await app.state.resources.redis.get(f"{QUOTA_PREFIX}u-{unique}:{day}")
    assert int(charged or 0) == 0
    retried = await client.post(
        f"/v1/practices/{practice}/feedback", json={"kind": "weekly_summary"}, headers=auth("write")
    )
    assert retried.status_code == 202
