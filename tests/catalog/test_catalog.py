"""Ingestion through the HTTP API: upserts, batches, deletes, privacy and reindexing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.eventually import eventually
from tests.stack import Stack

Auth = Callable[..., dict[str, str]]


def item(title: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "course", "title": title, "description": "", "tags": [], **fields}


async def find(client: httpx.AsyncClient, auth: Auth, q: str, **params: Any) -> list[str]:
    response = await client.get("/v1/search", params={"q": q, **params}, headers=auth("read"))
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["hits"]]


async def test_upsert_update_delete_round_trip(
    client: httpx.AsyncClient, auth: Auth, app: FastAPI, unique: str
) -> None:
    embedder = app.state.resources.embedder
    path = f"/v1/items/i-{unique}"
    body = item(f"Glassblowing {unique} for beginners", description="Gather, shape and anneal.")
    created = await client.put(path, json=body, headers=auth("write"))
    assert created.status_code == 201
    assert created.json() == {"id": f"i-{unique}", "status": "created", "error": None}
    assert await find(client, auth, unique, mode="keyword") == [f"i-{unique}"]

    encoded = embedder.texts_encoded
    same = await client.put(path, json=body, headers=auth("write"))
    assert (same.status_code, same.json()["status"]) == (200, "unchanged")
    assert embedder.texts_encoded == encoded, "unchanged content is not embedded again"

    # A payload-only change (level) is applied to the index without a new embedding.
    leveled = await client.put(path, json={**body, "level": "advanced"}, headers=auth("write"))
    assert leveled.json()["status"] == "updated"
    assert embedder.texts_encoded == encoded
    assert await find(client, auth, unique, level="advanced", mode="keyword") == [f"i-{unique}"]
    assert await find(client, auth, unique, level="beginner", mode="keyword") == []

    encoded = embedder.texts_encoded  # the searches above embedded their query
    retitled = await client.put(
        path,
        json={**body, "level": "advanced", "title": f"Lampwork {unique}"},
        headers=auth("write"),
    )
    assert retitled.json()["status"] == "updated"
    assert embedder.texts_encoded == encoded + 1
    got = await client.get(path, headers=auth("read"))
    assert got.json()["title"] == f"Lampwork {unique}"

    assert (await client.delete(path, headers=auth("write"))).status_code == 204
    assert (await client.delete(path, headers=auth("write"))).status_code == 204, "idempotent"
    assert (await client.get(path, headers=auth("read"))).status_code == 404
    assert await find(client, auth, unique, mode="keyword") == []


async def test_batch_answers_per_item(client: httpx.AsyncClient, auth: Auth, unique: str) -> None:
    entries = [
        {"id": f"a-{unique}", **item(f"Bookbinding {unique}")},
        {"id": f"b-{unique}", "kind": "course"},  # no title
        {"id": f"c-{unique}", **item(f"Calligraphy {unique}", owner_id=f"ghost-{unique}")},
        {"id": f"d-{unique}", **item(f"first version {unique}")},
        {"id": f"d-{unique}", **item(f"Dyeing {unique} last version")},
        {"id": "bad id!", **item("x")},
        "not an object",
    ]
    response = await client.post("/v1/items:batch", json={"items": entries}, headers=auth("write"))
    assert response.status_code == 200
    body = response.json()
    statuses = [(r["id"], r["status"]) for r in body["results"]]
    assert statuses == [
        (f"a-{unique}", "created"),
        (f"b-{unique}", "failed"),
        (f"c-{unique}", "failed"),
        (f"d-{unique}", "unchanged"),
        (f"d-{unique}", "created"),
        ("bad id!", "failed"),
        ("#6", "failed"),
    ]
    errors = {r["id"]: r["error"] for r in body["results"]}
    assert errors[f"b-{unique}"].startswith("title: Field required")
    assert "upsert the user first" in errors[f"c-{unique}"]
    assert "last one wins" in body["results"][3]["error"]
    assert errors["bad id!"].startswith("id:")
    assert body["counts"] == {"created": 2, "updated": 0, "unchanged": 1, "failed": 4}
    titles = await client.get(f"/v1/items/d-{unique}", headers=auth("read"))
    assert titles.json()["title"] == f"Dyeing {unique} last version"
    assert (await client.get(f"/v1/items/c-{unique}", headers=auth("read"))).status_code == 404


async def test_hidden_and_private_items_never_leak(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    path = f"/v1/items/h-{unique}"
    word = f"zq{unique}"
    body = item(f"Secret {word} notes", description=f"{word} private", visibility="hidden")
    assert (await client.put(path, json=body, headers=auth("write"))).status_code == 201
    for mode in ("hybrid", "semantic", "keyword"):
        assert f"h-{unique}" not in await find(client, auth, word, mode=mode, limit=100)
    assert (await client.get(path, headers=auth("read"))).status_code == 404
    assert (await client.get(f"{path}/similar", headers=auth("read"))).status_code == 404

    await client.put(path, json={**body, "visibility": "public"}, headers=auth("write"))
    assert await find(client, auth, word, mode="keyword") == [f"h-{unique}"]
    await client.put(path, json={**body, "visibility": "private"}, headers=auth("write"))
    for mode in ("hybrid", "semantic", "keyword"):
        assert f"h-{unique}" not in await find(client, auth, word, mode=mode, limit=100)


async def test_users_and_practices(client: httpx.AsyncClient, auth: Auth, unique: str) -> None:
    user = f"u-{unique}"
    profile = {"display_name": "Ming", "interests": ["pottery"], "bio": "I throw pots."}
    assert (
        await client.put(f"/v1/users/{user}", json=profile, headers=auth("write"))
    ).status_code == 201
    again = await client.put(f"/v1/users/{user}", json=profile, headers=auth("write"))
    assert again.json()["status"] == "unchanged"

    practice = {
        "owner_id": user,
        "title": f"每天拉坯 {unique}",
        "practice_action": "每天練習拉坯三十分鐘",
        "duration_days": 30,
        "status": "active",
        "privacy": "public",
    }
    path = f"/v1/practices/p-{unique}"
    assert (await client.put(path, json=practice, headers=auth("write"))).status_code == 201
    assert await find(client, auth, unique, mode="keyword", kind="practice") == [
        f"practice:p-{unique}"
    ]

    await client.put(path, json={**practice, "privacy": "private"}, headers=auth("write"))
    assert await find(client, auth, unique, mode="keyword") == []
    await client.put(path, json=practice, headers=auth("write"))
    owned = await client.put(
        f"/v1/items/o-{unique}", json=item(f"Glazes {unique}", owner_id=user), headers=auth("write")
    )
    assert owned.status_code == 201
    assert len(await find(client, auth, unique, mode="keyword")) == 2

    assert (await client.delete(f"/v1/users/{user}", headers=auth("admin"))).status_code == 204
    assert await find(client, auth, unique, mode="keyword") == [], (
        "erasing a user removes their items"
    )
    assert (await client.get(f"/v1/items/o-{unique}", headers=auth("read"))).status_code == 404

    orphan = {**practice, "owner_id": f"nobody-{unique}"}
    response = await client.put(path, json=orphan, headers=auth("write"))
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("owner_id:")


async def test_reindex_rebuilds_from_postgres(stack: Stack, auth: Auth, unique: str) -> None:
    # Its own servers and index: emptying the shared index would disturb tests running alongside.
    client, app = stack.client, stack.app
    await client.put(
        f"/v1/items/r-{unique}", json=item(f"Marquetry {unique}"), headers=auth("write")
    )
    index = app.state.resources.index
    await index.clear()  # simulate a lost or corrupted index
    assert await find(client, auth, unique, mode="keyword") == []

    started = await client.post("/v1/admin/reindex", headers=auth("admin"))
    assert started.status_code == 202
    job = started.json()
    assert job["status"] == "running"
    again = await client.post("/v1/admin/reindex", headers=auth("admin"))
    assert again.status_code in (202, 409)  # 409 while the first still runs

    async def finished() -> dict[str, Any] | None:
        state: dict[str, Any] = (
            await client.get(f"/v1/admin/reindex/{job['job_id']}", headers=auth("admin"))
        ).json()
        return state if state["status"] != "running" else None

    state = await eventually(finished, within=60, what="the reindex to finish", every=0.05)
    assert state["status"] == "succeeded", state
    assert state["done"] == state["total"] > 0
    assert await find(client, auth, unique, mode="keyword") == [f"r-{unique}"]
    missing = await client.get(f"/v1/admin/reindex/{'0' * 32}", headers=auth("admin"))
    assert missing.status_code == 404
    assert (await client.post("/v1/admin/reindex", headers=auth("write"))).status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "names"),
    [
        ("PUT", "/v1/items/x1", {"kind": "course"}, 422, "title"),
        ("PUT", "/v1/items/x1", {"kind": "podcast", "title": "t"}, 422, "kind"),
        ("PUT", "/v1/items/x1", {"kind": "course", "title": "   "}, 422, "title"),
        ("PUT", "/v1/items/x1", {"kind": "course", "title": "t", "colour": "red"}, 422, "colour"),
        ("PUT", "/v1/items/x1", {"kind": "course", "title": "t", "url": "not a url"}, 422, "url"),
        ("PUT", "/v1/items/bad%20id", {"kind": "course", "title": "t"}, 422, "item_id"),
        ("POST", "/v1/items:batch", {"items": []}, 422, "items"),
        (
            "POST",
            "/v1/items:batch",
            {"items": [{"id": "x", "kind": "book", "title": "t"}] * 1001},
            422,
            "items",
        ),
        (
            "PUT",
            "/v1/practices/p1",
            {"owner_id": "u", "title": "t", "duration_days": 91},
            422,
            "duration_days",
        ),
        (
            "PUT",
            "/v1/practices/p1",
            {
                "owner_id": "u",
                "title": "t",
                "duration_days": 9,
                "start_date": "2026-02-01",
                "end_date": "2026-01-01",
            },
            422,
            "end_date",
        ),
        ("PUT", "/v1/users/u1", {"display_name": ""}, 422, "display_name"),
    ],
)
async def test_bad_writes_name_the_field(
    client: httpx.AsyncClient,
    auth: Auth,
    method: str,
    path: str,
    payload: Any,
    status: int,
    names: str,
) -> None:
    response = await client.request(method, path, json=payload, headers=auth("write"))
    assert response.status_code == status, response.text
    assert names in response.json()["error"]["message"]


async def test_non_json_and_oversize_bodies(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = {**auth("write"), "Content-Type": "application/json"}
    garbled = await client.put("/v1/items/x1", content=b"{not json", headers=headers)
    assert garbled.status_code == 422
    assert garbled.json()["error"]["code"] == "validation_error"
    text = await client.put(
        "/v1/items/x1", content=b"hello", headers={**auth("write"), "Content-Type": "text/plain"}
    )
    assert text.status_code == 422


async def test_an_emptied_index_is_refilled_at_start_up(
    stack: Stack, auth: Auth, unique: str
) -> None:
    client, resources = stack.client, stack.app.state.resources  # its own index, emptied below
    await client.put(f"/v1/items/s-{unique}", json=item(f"Felting {unique}"), headers=auth("write"))
    await resources.index.clear()
    refilled = await resources.indexer.resync_if_empty()
    assert refilled >= 1
    assert await find(client, auth, unique, mode="keyword") == [f"s-{unique}"]
