"""Faults injected into real servers under load: Redis and PostgreSQL restarted, the vector index
emptied. Outside the window of a fault, nothing answers 5xx; inside it, only 503; and nothing
accepted is lost. (Workers killed mid-job: test_feedback_durability.py.)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import start_worker
from tests.eventually import eventually
from tests.stack import Auth, Stack, kill, statuses, submit, until


@dataclass
class Tally:
    """What each route answered in each phase of a fault."""

    phase: str = "before"
    answers: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    degraded: Counter[tuple[str, str]] = field(default_factory=Counter)
    accepted: list[str] = field(default_factory=list)
    last_degraded: dict[str, bool] = field(default_factory=dict)

    def record(self, route: str, response: httpx.Response) -> None:
        self.answers[self.phase, route, response.status_code] += 1
        degraded = response.status_code == 200 and bool(response.json().get("degraded"))
        self.degraded[self.phase, route] += degraded
        self.last_degraded[route] = degraded

    def statuses(self, route: str, *phases: str) -> set[int]:
        return {s for (p, r, s) in self.answers if r == route and p in phases}


async def seed(stack: Stack, auth: Auth) -> None:
    """A member with a practice and a check-in, and a few items to search and recommend."""
    await submit(stack, auth, 0)
    items = [
        {"id": f"i{n}", "kind": "book", "title": f"Sketching book {n}", "tags": ["drawing"]}
        for n in range(8)
    ]
    response = await stack.client.post(
        "/v1/items:batch", json={"items": items}, headers=auth("write")
    )
    assert response.status_code == 200, response.text


async def load(stack: Stack, auth: Auth, tally: Tally, stop: asyncio.Event) -> None:
    """Cached recommendations, searches and, every tenth round, a feedback request."""
    read, write = auth("read"), auth("write")
    client = stack.client
    round_ = 0
    while not stop.is_set():
        reco = await client.get("/v1/users/u1/recommendations", headers=read)
        tally.record("recommend", reco)
        found = await client.get("/v1/search?q=sketching", headers=read)
        tally.record("search", found)
        if round_ % 10 == 0:
            # Two keys per phase: repeats find their job (200), so few LLM jobs are made.
            key = f"{tally.phase}-{round_ // 10 % 2}"
            asked = await client.post(
                "/v1/practices/p1/feedback",
                json={"kind": "completion_insight", "idempotency_key": key},
                headers=write,
            )
            tally.record("feedback", asked)
            if asked.status_code in (200, 202):
                tally.accepted.append(asked.json()["job_id"])
        round_ += 1
        await asyncio.sleep(0.02)


async def test_redis_restart_under_load(stack: Stack, auth: Auth) -> None:
    await seed(stack, auth)
    tally, stop = Tally(), asyncio.Event()
    runner = asyncio.create_task(load(stack, auth, tally, stop))

    def answered(phase: str) -> bool:
        """Each route has answered in `phase`: a phase ends once it has been seen, not after a
        fixed time that a slow round (one feedback request in ten) may not fill."""
        return all(tally.statuses(route, phase) for route in ("recommend", "search", "feedback"))

    await eventually(lambda: answered("before"), within=60, what="requests before the fault")
    tally.phase = "stopping"  # requests racing the shutdown may go either way
    await asyncio.to_thread(stack.valkey.stop)
    tally.phase = "down"
    await eventually(
        lambda: answered("down") and tally.degraded["down", "recommend"],
        within=60,
        what="requests while Redis is down, and a degraded recommendation",
    )
    tally.phase = "recovering"
    await asyncio.to_thread(stack.valkey.start)
    # Recovered: feedback requests accepted again, and recommendations cached again (the cache
    # skips Redis for a second after each error, so that requests do not each wait on it).
    await eventually(
        lambda: (
            tally.statuses("feedback", "recovering") & {200, 202}
            and not tally.last_degraded.get("recommend", True)
        ),
        within=60,
        what="feedback and recommendations to recover",
    )
    tally.phase = "after"
    await eventually(lambda: answered("after"), within=60, what="requests after the recovery")
    stop.set()
    await runner

    # Search and recommendations answered throughout; recommendations said they were degraded.
    for route in ("search", "recommend"):
        phases = ("before", "stopping", "down", "recovering", "after")
        assert tally.statuses(route, *phases) == {200}, tally
    assert tally.degraded["down", "recommend"] > 0, tally
    assert tally.degraded["after", "recommend"] == 0, tally
    # Feedback requests were refused with 503 while Redis was down, and never failed otherwise.
    assert tally.statuses("feedback", "down") == {503}, tally
    assert tally.statuses("feedback", "before", "after") <= {200, 202}, tally
    assert tally.statuses("feedback", "stopping", "recovering") <= {200, 202, 503}, tally
    # Recovery came without restarting the API, and every accepted job finishes.
    accepted = set(tally.accepted)
    worker = start_worker(stack.env, stack.log, name="after-redis")
    try:
        await until(
            lambda s: s["succeeded"] == len(accepted), stack, 240, "accepted jobs to succeed"
        )
    finally:
        kill(worker)
    assert sum((await statuses(stack)).values()) == len(accepted)


async def test_postgres_restart(stack: Stack, auth: Auth) -> None:
    await seed(stack, auth)
    client, read, write = stack.client, auth("read"), auth("write")

    async def requests(tag: str) -> list[httpx.Response]:
        return list(
            await asyncio.gather(
                client.get("/v1/items/i1", headers=read),
                client.get(f"/v1/users/u1/recommendations?limit={7 + len(tag)}", headers=read),
                client.put(
                    f"/v1/items/x-{tag}", json={"kind": "book", "title": tag}, headers=write
                ),
                client.post(
                    "/v1/practices/p1/feedback",
                    json={"kind": "completion_insight", "idempotency_key": tag},
                    headers=write,
                ),
                client.get("/v1/users/u1/practices", headers=read),
                client.get("/v1/search?q=sketching", headers=read),
            )
        )

    assert (await client.get("/readyz")).status_code == 200
    assert all(r.status_code < 300 for r in await requests("before"))
    in_flight = asyncio.create_task(requests("inflight"))
    await asyncio.to_thread(stack.postgres.stop)
    during = [*await in_flight, *await requests("during")]
    assert {r.status_code for r in during} <= {200, 201, 202, 503}, [r.text for r in during]
    refused = [r for r in during if r.status_code == 503]
    assert refused, "requests that need PostgreSQL were refused"
    assert all(r.headers["retry-after"] and r.json()["error"]["message"] for r in refused)

    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"]["details"]["checks"]["postgres"] != "ok"
    await asyncio.to_thread(stack.postgres.start)

    async def ready_again() -> bool:
        return (await client.get("/readyz")).status_code == 200

    await eventually(ready_again, within=60, what="readiness to come back")
    after = await requests("after")
    assert all(r.status_code < 300 for r in after), [r.text for r in after]


async def test_emptied_vector_index_heals_with_reindex(stack: Stack, auth: Auth) -> None:
    await seed(stack, auth)
    client, read, admin = stack.client, auth("read"), auth("admin")
    more = [{"id": f"m{n}", "kind": "article", "title": f"Ink sketching {n}"} for n in range(400)]
    assert (await client.post("/v1/items:batch", json={"items": more}, headers=admin)).is_success

    await stack.app.state.resources.index.clear()
    empty = await client.get("/v1/search?q=sketching", headers=read)
    assert empty.status_code == 200
    assert empty.json()["hits"] == []

    job = (await client.post("/v1/admin/reindex", headers=admin)).json()
    answers: Counter[tuple[int, bool]] = Counter()

    async def search_while_rebuilding() -> dict[str, Any] | None:
        found = await client.get("/v1/search?q=sketching", headers=read)
        answers[found.status_code, found.json().get("degraded", False)] += 1
        state: dict[str, Any] = (
            await client.get(f"/v1/admin/reindex/{job['job_id']}", headers=admin)
        ).json()
        return state if state["status"] != "running" else None

    state = await eventually(search_while_rebuilding, within=120, what="the reindex", every=0)
    assert state["status"] == "succeeded", state
    assert {status for status, _ in answers} == {200}, answers
    assert answers[200, True] > 0, "searches during the rebuild said they were degraded"
    healed = (await client.get("/v1/search?q=sketching&limit=20", headers=read)).json()
    assert len(healed["hits"]) == 20
    assert healed["degraded"] is False
