"""Nothing accepted is lost: workers killed mid-job, and Redis restarted with jobs queued.

Each test runs on private servers (PostgreSQL, Valkey) and private workers, so that killing and
restarting them cannot disturb the rest of the suite.
"""

from __future__ import annotations

from sqlalchemy import select

from ai_backend.db.models import FeedbackJob
from tests.conftest import start_worker
from tests.stack import Auth, Stack, kill, statuses, submit, until, written_results

JOBS = 30


async def test_killing_workers_mid_job_loses_and_duplicates_nothing(
    stack: Stack, auth: Auth
) -> None:
    ids = await submit(stack, auth, JOBS)
    worker = start_worker(stack.env, stack.log, pool="prefork", name="crash")
    try:
        for round_ in range(2):
            # Kill the whole worker (parent and children) while jobs are running.
            done_before = (await statuses(stack))["succeeded"]
            await until(
                lambda s, floor=done_before: s["running"] > 0 and s["succeeded"] > floor,
                stack,
                120,
                f"jobs running before kill {round_ + 1}",
            )
            kill(worker)
            worker = start_worker(stack.env, stack.log, pool="prefork", name=f"crash{round_}")
        await until(lambda s: s["succeeded"] == JOBS, stack, 300, "every job to succeed")
    finally:
        if worker.poll() is None:
            kill(worker)
    async with stack.app.state.resources.sessions() as session:
        jobs = list(await session.scalars(select(FeedbackJob)))
    assert sorted(str(j.id) for j in jobs) == sorted(ids)
    assert all(j.status == "succeeded" and j.result and j.result["message"] for j in jobs)
    # Every job has its result (above). The log can only show that none was written twice: a
    # kill between a result's commit and its log line loses the line, never the result.
    written = written_results(stack.log)
    assert set(written) <= set(ids)
    assert max(written.values()) == 1, "a job's result was written twice"
    assert any(j.attempts > 1 for j in jobs), "the kills interrupted at least one job"


async def test_a_redis_restart_with_jobs_queued_loses_nothing(stack: Stack, auth: Auth) -> None:
    # No worker yet: the jobs wait in Redis; then Redis restarts. Messages it did not persist
    # are sent again by the sweeper; either way every job must finish, once.
    ids = await submit(stack, auth, 5)
    stack.valkey.stop()
    # While Redis is down a new request is refused at once, and leaves nothing behind.
    refused = await stack.client.post(
        "/v1/practices/p1/feedback",
        json={"kind": "completion_insight", "idempotency_key": "while-down"},
        headers=auth("write"),
    )
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"]
    assert (await statuses(stack))["queued"] == len(ids)
    stack.valkey.start()
    worker = start_worker(stack.env, stack.log, name="after-restart")
    try:
        await until(lambda s: s["succeeded"] == len(ids), stack, 180, "every job to succeed")
    finally:
        kill(worker)
    written = written_results(stack.log)
    assert set(written) == set(ids)
    assert max(written.values()) == 1
