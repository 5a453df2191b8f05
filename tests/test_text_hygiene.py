"""Text PostgreSQL cannot hold, and times no clock gives, are 422s naming the field; other
control characters are stored as sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

Auth = Callable[..., dict[str, str]]
# NUL, which PostgreSQL text cannot hold, alone and among other text.
BAD = ["\u0000", "a\u0000b", "\u0000\u0000"]


async def member(client: httpx.AsyncClient, auth: Auth, unique: str) -> str:
    user = f"u-{unique}"
    response = await client.put(
        f"/v1/users/{user}", json={"display_name": user}, headers=auth("write")
    )
    assert response.status_code in (200, 201), response.text
    return user


def names(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"], response.text


@pytest.mark.parametrize("bad", BAD)
async def test_nul_in_any_text_field(
    client: httpx.AsyncClient, auth: Auth, unique: str, bad: str
) -> None:
    write = auth("write")
    user = await client.put(
        f"/v1/users/u-{unique}", json={"display_name": f"Mei{bad}"}, headers=write
    )
    names(user, "display_name")
    assert (
        await client.get(f"/v1/users/u-{unique}/practices", headers=auth("read"))
    ).status_code == 404
    tags = await client.put(
        f"/v1/users/u-{unique}",
        json={"display_name": "Mei", "interests": [f"德語{bad}"]},
        headers=write,
    )
    names(tags, "interests")
    item = await client.put(
        f"/v1/items/i-{unique}", json={"kind": "book", "title": f"書{bad}"}, headers=write
    )
    names(item, "title")
    assert (await client.get(f"/v1/items/i-{unique}", headers=auth("read"))).status_code == 404


async def test_a_lone_surrogate_is_refused(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    # Valid JSON (an escaped half of a surrogate pair), but no UTF-8 can encode it.
    body = '{"kind": "book", "title": "broken \\ud800 title"}'
    response = await client.put(
        f"/v1/items/i-{unique}",
        content=body,
        headers={**auth("write"), "Content-Type": "application/json"},
    )
    names(response, "title")


async def test_other_control_characters_are_stored_as_sent(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    # Real catalogues carry them: SciFact's abstracts hold C1 controls from a Windows-1252
    # round trip. PostgreSQL stores them; refusing them would refuse real data.
    title = "Escape \u001b[31m, bell \u0007, DEL \u007f and an en dash gone wrong \u0096"
    put = await client.put(
        f"/v1/items/i-{unique}", json={"kind": "book", "title": title}, headers=auth("write")
    )
    assert put.status_code == 201, put.text
    got = await client.get(f"/v1/items/i-{unique}", headers=auth("read"))
    assert got.json()["title"] == title


async def test_in_a_batch_only_the_bad_entry_fails(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    entries = [
        {"id": f"a-{unique}", "kind": "book", "title": "好書"},
        {"id": f"b-{unique}", "kind": "book", "title": "壞\u0000書"},
        {"id": f"c-{unique}", "kind": "book", "title": "Tabs\tand\nnew lines are fine"},
    ]
    response = await client.post("/v1/items:batch", json={"items": entries}, headers=auth("write"))
    assert response.status_code == 200, response.text
    results = {r["id"]: r for r in response.json()["results"]}
    assert results[f"a-{unique}"]["status"] == "created"
    assert results[f"c-{unique}"]["status"] == "created"
    assert results[f"b-{unique}"]["status"] == "failed"
    assert "title" in results[f"b-{unique}"]["error"]
    assert "U+0000" in results[f"b-{unique}"]["error"]


async def test_a_checkin_note_with_nul(client: httpx.AsyncClient, auth: Auth, unique: str) -> None:
    user = await member(client, auth, unique)
    practice = {"owner_id": user, "title": "每天素描", "duration_days": 14, "status": "active"}
    await client.put(f"/v1/practices/p-{unique}", json=practice, headers=auth("write"))
    checkin = {"id": f"c-{unique}", "user_id": user, "date": "2026-11-20", "note": "畫\u0000手"}
    response = await client.post(
        f"/v1/practices/p-{unique}/checkins", json=checkin, headers=auth("write")
    )
    names(response, "note")


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T00:00:00+00:00",
        "0001-01-01T00:00:00+00:00",
        "1999-12-31T23:59:59+00:00",
        (datetime.now(UTC) + timedelta(days=2)).isoformat(),
    ],
)
async def test_implausible_event_times_reject_the_batch(
    client: httpx.AsyncClient, auth: Auth, unique: str, when: str
) -> None:
    user = await member(client, auth, unique)
    await client.put(
        f"/v1/items/i-{unique}", json={"kind": "book", "title": "書"}, headers=auth("write")
    )
    good = {
        "id": f"e1-{unique}",
        "user_id": user,
        "item_id": f"i-{unique}",
        "type": "view",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    bad = {**good, "id": f"e2-{unique}", "occurred_at": when}
    response = await client.post("/v1/events", json={"events": [good, bad]}, headers=auth("write"))
    names(response, "occurred_at")
    # Nothing was stored: the good event goes in now as new.
    again = await client.post("/v1/events", json={"events": [good]}, headers=auth("write"))
    assert again.json()["created"] == 1, again.text


async def test_recent_and_slightly_early_clocks_are_fine(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    user = await member(client, auth, unique)
    await client.put(
        f"/v1/items/i-{unique}", json={"kind": "book", "title": "書"}, headers=auth("write")
    )
    events = [
        {
            "id": f"e{n}-{unique}",
            "user_id": user,
            "item_id": f"i-{unique}",
            "type": "view",
            "occurred_at": when,
        }
        for n, when in enumerate(
            ["2000-01-01T00:00:00+00:00", (datetime.now(UTC) + timedelta(hours=20)).isoformat()]
        )
    ]
    response = await client.post("/v1/events", json={"events": events}, headers=auth("write"))
    assert response.json()["created"] == 2, json.dumps(response.json())
