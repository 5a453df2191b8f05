"""AI feedback through the API and a real Celery worker running the bundled local model."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from ai_backend.db.models import FeedbackJob
from ai_backend.domain import FEEDBACK_KINDS
from ai_backend.feedback.checks import Answer
from ai_backend.feedback.llm import LocalProvider, OpenAIProvider
from ai_backend.feedback.runner import MAX_ATTEMPTS, JobRunner, Written
from ai_backend.feedback.sweeper import LOCK_KEY
from tests.eventually import eventually

Auth = Callable[..., dict[str, str]]


async def practice_with_checkins(
    client: httpx.AsyncClient,
    auth: Auth,
    unique: str,
    checkins: int = 2,
    *,
    status: str = "active",
) -> str:
    user = f"u-{unique}"
    write = auth("write")
    await client.put(f"/v1/users/{user}", json={"display_name": user}, headers=write)
    body = {
        "owner_id": user,
        "title": "30 days of watercolour",
        "practice_action": "paint one small study a day",
        "tags": ["watercolour"],
        "start_date": "2026-11-01",
        "duration_days": 30,
        "status": status,
    }
    assert (await client.put(f"/v1/practices/p-{unique}", json=body, headers=write)).is_success
    for day in range(checkins):
        checkin = {
            "id": f"c{day}-{unique}",
            "user_id": user,
            "date": f"2026-11-{day + 1:02d}",
            "mood": "good",
            "note": f"painted study number {day + 1}",
        }
        response = await client.post(
            f"/v1/practices/p-{unique}/checkins", json=checkin, headers=write
        )
        assert response.is_success, response.text
    return f"p-{unique}"


async def wait_for(
    client: httpx.AsyncClient, auth: Auth, status_url: str, *, within: float = 180
) -> dict[str, Any]:
    async def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = (await client.get(status_url, headers=auth("read"))).json()
        return job if job["status"] in ("succeeded", "failed") else None

    return await eventually(finished, within=within, what=f"the job at {status_url} to finish")


@pytest.mark.parametrize("kind", FEEDBACK_KINDS)
async def test_each_kind_succeeds_through_a_real_worker(
    worker: subprocess.Popen[bytes], client: httpx.AsyncClient, auth: Auth, unique: str, kind: str
) -> None:
    status = "completed" if kind == "completion_insight" else "active"
    practice = await practice_with_checkins(client, auth, unique, status=status)
    before = answers_counted((await client.get("/metrics")).text)
    response = await client.post(
        f"/v1/practices/{practice}/feedback",
        json={"kind": kind, "locale": "en"},
        headers=auth("write"),
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued"
    job = await wait_for(client, auth, accepted["status_url"])
    assert job["status"] == "succeeded", job
    assert job["result"]["message"].strip()
    assert job["attempts"] == 1
    assert job["model"] == "SmolLM2-135M-Instruct.Q4_1"
    assert job["prompt_version"]
    assert job["prompt_tokens"] > 50
    assert job["completion_tokens"] > 0
    assert job["duration_ms"] is not None
    # SmolLM2 rarely writes an answer that passes every check: then the template is stored,
    # with the checks the generations failed. Either way the answer is counted by source.
    assert job["source"] in ("model", "template")
    assert bool(job["failed_checks"]) or job["source"] == "model"
    after = answers_counted((await client.get("/metrics")).text)
    assert after[job["source"]] == before[job["source"]] + 1
    listed = await client.get(f"/v1/practices/{practice}/feedback", headers=auth("read"))
    assert [j["job_id"] for j in listed.json()["jobs"]] == [accepted["job_id"]]


def answers_counted(metrics: str) -> dict[str, float]:
    counted = {}
    for line in metrics.splitlines():
        if line.startswith("daodao_feedback_answers_total{"):
            source = line.split('source="')[1].split('"')[0]
            counted[source] = float(line.rsplit(" ", 1)[1])
    return counted


async def test_a_completion_insight_is_only_for_a_completed_practice(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    practice = await practice_with_checkins(client, auth, unique, status="active")
    path = f"/v1/practices/{practice}/feedback"
    body = {"kind": "completion_insight"}
    refused = await client.post(path, json=body, headers=auth("write"))
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "practice_not_completed"
    assert "is active, not completed" in error["message"]
    listed = await client.get(path, headers=auth("read"))
    assert listed.json()["jobs"] == [], "nothing was stored"


async def test_the_same_request_gives_the_same_job(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    practice = await practice_with_checkins(client, auth, unique)
    path = f"/v1/practices/{practice}/feedback"
    keyed = {"kind": "weekly_summary", "idempotency_key": f"k-{unique}"}
    first = await client.post(path, json=keyed, headers=auth("write"))
    again = await client.post(path, json=keyed, headers=auth("write"))
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["job_id"] == again.json()["job_id"]
    # Without a key: the same practice, kind and latest check-in are the same request.
    plain = {"kind": "checkin_encouragement"}
    one = await client.post(path, json=plain, headers=auth("write"))
    two = await client.post(path, json=plain, headers=auth("write"))
    assert one.json()["job_id"] == two.json()["job_id"]
    # A new check-in makes it a new request.
    checkin = {"id": f"new-{unique}", "user_id": f"u-{unique}", "date": "2026-11-09"}
    await client.post(f"/v1/practices/{practice}/checkins", json=checkin, headers=auth("write"))
    three = await client.post(path, json=plain, headers=auth("write"))
    assert three.status_code == 202
    assert three.json()["job_id"] != one.json()["job_id"]
    # A key reused for another kind is a conflict, not a silent mix-up.
    other = await client.post(
        path, json={**keyed, "kind": "completion_insight"}, headers=auth("write")
    )
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"kind": "pep_talk"}, 422, "body.kind"),
        ({"kind": "weekly_summary", "locale": "fr"}, 422, "body.locale"),
        (
            {"kind": "weekly_summary", "callback_url": "ftp://example.com/x"},
            422,
            "body.callback_url",
        ),
        ({"kind": "weekly_summary", "idempotency_key": "has spaces"}, 422, "body.idempotency_key"),
    ],
)
async def test_bad_requests_store_nothing(
    client: httpx.AsyncClient,
    auth: Auth,
    unique: str,
    body: dict[str, Any],
    status: int,
    fragment: str,
) -> None:
    practice = await practice_with_checkins(client, auth, unique)
    response = await client.post(
        f"/v1/practices/{practice}/feedback", json=body, headers=auth("write")
    )
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["message"]
    listed = await client.get(f"/v1/practices/{practice}/feedback", headers=auth("read"))
    assert listed.json()["jobs"] == []


async def test_unknown_practice_and_missing_checkins(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    missing = await client.post(
        f"/v1/practices/none-{unique}/feedback",
        json={"kind": "weekly_summary"},
        headers=auth("write"),
    )
    assert missing.status_code == 404
    practice = await practice_with_checkins(client, auth, unique, checkins=0)
    bare = await client.post(
        f"/v1/practices/{practice}/feedback",
        json={"kind": "checkin_encouragement"},
        headers=auth("write"),
    )
    assert bare.status_code == 422
    assert bare.json()["error"]["code"] == "no_checkins"
    unknown = await client.get(f"/v1/feedback/{uuid.uuid4()}", headers=auth("read"))
    assert unknown.status_code == 404


# -- the runner's guarantees, with an LLM server that fails on purpose ----------------------


def failing(status: int) -> OpenAIProvider:
    """A stand-in for a rate-limited or broken server: llama.cpp's cannot answer 503 at will."""
    transport = httpx.MockTransport(
        lambda request: httpx.Response(status, headers={"Retry-After": "0"})
    )
    return OpenAIProvider("http://llm.invalid/v1", model="m", transport=transport)


async def test_transient_errors_back_off_then_fail_with_the_reason(
    client: httpx.AsyncClient, auth: Auth, app: FastAPI, unique: str
) -> None:

    practice = await practice_with_checkins(client, auth, unique)
    sessions = app.state.resources.sessions
    service = app.state.resources.feedback
    # Inserted directly, with no message: only this test's runner works on it.
    job_id = await _job_without_message(sessions, practice, unique)
    retries: list[tuple[str, float]] = []
    runner = JobRunner(
        sessions, failing(503), lease_seconds=60, retry=lambda j, d: retries.append((j, d))
    )
    for attempt in range(1, MAX_ATTEMPTS + 1):
        outcome = await runner.run(job_id)
        assert outcome == ("failed" if attempt == MAX_ATTEMPTS else "retrying")
        if outcome == "retrying":
            # Backoff: the job is not due again before its next attempt time.
            assert await runner.run(job_id) == "skipped"
            await set_job(sessions, job_id, next_attempt_at=FeedbackJob.queued_at)
    assert len(retries) == MAX_ATTEMPTS - 1
    assert all(delay > 0 for _, delay in retries)
    job = await service.get(job_id)
    assert job.status == "failed"
    assert job.attempts == MAX_ATTEMPTS
    assert "503" in (job.error or "")
    assert job.result is None


async def test_a_result_is_written_once(
    client: httpx.AsyncClient, auth: Auth, app: FastAPI, unique: str
) -> None:
    practice = await practice_with_checkins(client, auth, unique)
    sessions = app.state.resources.sessions
    job_id = await _job_without_message(sessions, practice, unique)
    provider = LocalProvider()
    first = JobRunner(sessions, provider, lease_seconds=60, retry=lambda j, d: None)
    claim = await first.claim(job_id)
    assert claim is not None
    # A duplicate message while the first worker runs: the job is taken.
    assert await first.claim(job_id) is None
    # The first worker's lease runs out (it hangs); another worker takes the job over...
    await set_job(sessions, job_id, lease_expires_at=FeedbackJob.queued_at)
    assert await first.run(job_id) == "succeeded"
    # ...and when the first one finally answers, its result is discarded.
    late = Written(Answer("late", None), "model", [], "m", 1, 1)
    assert await first._succeed(claim, late) is False
    job = await app.state.resources.feedback.get(job_id)
    assert job.status == "succeeded"
    assert job.attempts == 2
    assert job.result["message"] != "late"
    # A message that arrives after the end finds the job done.
    assert await first.run(job_id) == "skipped"
    await provider.close()


async def set_job(sessions: Any, job_id: uuid.UUID, **values: object) -> None:
    """Move a job's clock or state by hand, as time or a dead worker would."""
    async with sessions() as session:
        await session.execute(update(FeedbackJob).where(FeedbackJob.id == job_id).values(**values))
        await session.commit()


async def _job_without_message(
    sessions: Any, practice: str, unique: str, key: str = "direct"
) -> uuid.UUID:

    job_id = uuid.uuid4()
    async with sessions() as session:
        await session.execute(
            insert(FeedbackJob).values(
                id=job_id,
                practice_id=practice,
                kind="checkin_encouragement",
                locale="en",
                idempotency_key=f"{key}-{unique}",
                user_id=f"u-{unique}",
            )
        )
        await session.commit()
    return job_id


async def test_the_sweeper_sends_lost_and_abandoned_jobs_again(
    worker: subprocess.Popen[bytes],
    client: httpx.AsyncClient,
    auth: Auth,
    app: FastAPI,
    unique: str,
) -> None:

    practice = await practice_with_checkins(client, auth, unique)
    resources = app.state.resources
    # Every sweeper on this Redis (the app's, every second, and any other API process the suite
    # runs on the same servers) would race this test for the jobs: take their lock, whoever
    # holds it, so that none of them starts a round until the test is done. A round already
    # under way takes what is due at once, before the jobs below exist.
    await resources.redis.set(LOCK_KEY, "test", ex=120)
    try:
        sent = await _sweep_lost_and_abandoned(resources, practice, unique)
    finally:
        await resources.redis.delete(LOCK_KEY)
    for job_id, attempts in sent:
        job = await wait_for(client, auth, f"/v1/feedback/{job_id}")
        assert job["status"] == "succeeded", job
        assert job["attempts"] == attempts


async def _sweep_lost_and_abandoned(
    resources: Any, practice: str, unique: str
) -> list[tuple[uuid.UUID, int]]:
    """Two jobs the sweeper must send again, swept twice; each with the attempts it ends on."""
    sessions = resources.sessions
    past = datetime.now(UTC) - timedelta(hours=1)
    # A job whose message was lost (Redis restarted without it)...
    lost = await _job_without_message(sessions, practice, unique)
    # ...and one whose worker died holding it.
    abandoned = await _job_without_message(sessions, practice, unique, key="abandoned")
    await set_job(sessions, lost, sent_at=past)
    await set_job(
        sessions, abandoned, status="running", attempts=1, lease_expires_at=past, sent_at=past
    )
    assert await resources.sweeper.sweep() >= 2
    # Sent once: the next sweep leaves them alone while their messages are fresh.
    again = await resources.sweeper.sweep()
    assert again == 0
    return [(lost, 1), (abandoned, 2)]
