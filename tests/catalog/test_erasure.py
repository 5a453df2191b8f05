"""Erasing a member leaves nothing of them in PostgreSQL, Redis or the vector indexes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import redis
from fastapi import FastAPI
from sqlalchemy import text

from ai_backend.db.base import Base

Auth = Callable[..., dict[str, str]]


def redis_values(client: redis.Redis, key: bytes) -> list[bytes]:
    """Everything stored under one key, whatever its type."""
    kind = client.type(key)
    if kind == b"string":
        value = client.get(key)
        return [] if value is None else [value]
    if kind == b"set":
        return list(client.smembers(key))
    if kind == b"list":
        return list(client.lrange(key, 0, -1))
    if kind == b"hash":
        return [part for pair in client.hgetall(key).items() for part in pair]
    if kind == b"zset":
        return [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
    return []


def redis_mentions(url: str, marker: str) -> list[str]:
    """Keys whose name or value contains `marker`."""
    client = redis.Redis.from_url(url)
    needle = marker.encode()
    found = []
    for key in client.scan_iter(count=1000):
        if needle in key or any(needle in value for value in redis_values(client, key)):
            found.append(key.decode(errors="replace"))
    return found


async def postgres_mentions(app: FastAPI, marker: str) -> dict[str, int]:
    """Rows, per table, whose text form contains `marker`."""
    found = {}
    async with app.state.resources.sessions() as session:
        for table in Base.metadata.sorted_tables:
            count = await session.scalar(
                text(f'SELECT count(*) FROM "{table.name}" AS t WHERE t::text LIKE :pattern'),
                {"pattern": f"%{marker}%"},
            )
            if count:
                found[table.name] = count
    return found


async def call(client: httpx.AsyncClient, method: str, url: str, headers: Any, **kw: Any) -> Any:
    response = await client.request(method, url, headers=headers, **kw)
    assert response.status_code < 300, (method, url, response.text)
    return response.json() if response.content else None


async def test_erasing_a_member_removes_every_trace(
    app: FastAPI, client: httpx.AsyncClient, auth: Auth, unique: str, redis_url: str
) -> None:
    gone = f"{unique}gone"  # in every id of the erased member's, and in no other
    member, peer = f"u-{gone}", f"u-{unique}peer"
    practice, item = f"p-{gone}", f"i-{gone}"
    write, admin = auth("write", "read"), auth("admin")
    interest = f"kite{unique}"
    for user_id in (member, peer):
        profile = {"display_name": user_id, "interests": [interest], "bio": "Building kites."}
        await call(client, "PUT", f"/v1/users/{user_id}", write, json=profile)
    await call(
        client,
        "PUT",
        f"/v1/practices/{practice}",
        write,
        json={"user_id": member, "title": f"Kites {gone}", "duration_days": 30, "status": "active"},
    )
    await call(
        client,
        "PUT",
        f"/v1/items/{item}",
        write,
        json={"kind": "article", "title": f"Kite notes {gone}", "owner_id": member},
    )
    shared = f"i-{unique}shared"
    await call(client, "PUT", f"/v1/items/{shared}", write, json={"kind": "book", "title": "Kites"})
    today = datetime.now(UTC).date().isoformat()
    for checkin_id, user_id in ((f"c-{gone}-own", member), (f"c-{gone}-peer", peer)):
        checkin = {"id": checkin_id, "user_id": user_id, "date": today, "note": "flew it"}
        await call(client, "POST", f"/v1/practices/{practice}/checkins", write, json=checkin)
    now = datetime.now(UTC).isoformat()
    events = [
        {"id": f"e-{gone}-1", "user_id": member, "item_id": shared, "type": "like"},
        {"id": f"e-{gone}-2", "user_id": peer, "item_id": item, "type": "bookmark"},
    ]
    await call(
        client,
        "POST",
        "/v1/events",
        write,
        json={"events": [{**e, "occurred_at": now} for e in events]},
    )
    job = await call(
        client, "POST", f"/v1/practices/{practice}/feedback", write, json={"kind": "weekly_summary"}
    )
    # Cached answers: the member's own, and the peer's, which name the member and their items.
    await call(client, "GET", f"/v1/users/{member}/recommendations", write)
    people = await call(
        client, "GET", f"/v1/users/{peer}/recommendations?target=people&limit=50", write
    )
    assert member in [entry["id"] for entry in people["items"]], "the peer is shown the member"
    await call(client, "GET", f"/v1/users/{peer}/recommendations?limit=50", write)
    assert redis_mentions(redis_url, gone), "the member is in Redis before the erasure"
    assert await postgres_mentions(app, gone)

    refused = await client.delete(f"/v1/users/{member}", headers=write)
    assert refused.status_code == 403
    assert (await client.delete(f"/v1/users/{member}", headers=admin)).status_code == 204
    assert (await client.delete(f"/v1/users/{member}", headers=admin)).status_code == 204

    assert await postgres_mentions(app, gone) == {}
    assert redis_mentions(redis_url, gone) == []
    resources = app.state.resources
    assert await resources.index.fetch([item, f"practice:{practice}"]) == {}
    assert await resources.people_index.fetch([member]) == {}

    # Nothing serves them either: the peer's list is computed afresh, without the member.
    people = await call(
        client, "GET", f"/v1/users/{peer}/recommendations?target=people&limit=50", write
    )
    assert people["cache"] == "miss"
    assert member not in [entry["id"] for entry in people["items"]]
    found = await call(client, "GET", f"/v1/search?q={gone}", write)
    assert not [hit["id"] for hit in found["hits"] if gone in hit["id"]]
    missing = await client.get(f"/v1/feedback/{job['job_id']}", headers=write)
    assert missing.status_code == 404
    assert (await client.get(f"/v1/users/{member}/practices", headers=write)).status_code == 404
