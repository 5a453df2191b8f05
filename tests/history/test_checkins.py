"""Check-ins: validated against the domain limits, idempotent, and history at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

Auth = Callable[..., dict[str, str]]


async def practice(client: httpx.AsyncClient, auth: Auth, unique: str) -> str:
    user = f"u-{unique}"
    await client.put(f"/v1/users/{user}", json={"display_name": user}, headers=auth("write"))
    body = {"owner_id": user, "title": f"Sketch {unique}", "duration_days": 14, "status": "active"}
    response = await client.put(f"/v1/practices/p-{unique}", json=body, headers=auth("write"))
    assert response.status_code == 201, response.text
    return f"p-{unique}"


def checkin(unique: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"c-{unique}",
        "user_id": f"u-{unique}",
        "date": "2026-11-20",
        "mood": "good",
        "note": "drew three hands",
        **fields,
    }


async def test_checkin_round_trip_and_idempotency(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    practice_id = await practice(client, auth, unique)
    path = f"/v1/practices/{practice_id}/checkins"
    created = await client.post(path, json=checkin(unique), headers=auth("write"))
    assert created.status_code == 201, created.text
    again = await client.post(path, json=checkin(unique), headers=auth("write"))
    assert (again.status_code, again.json()["status"]) == (200, "unchanged")
    edited = await client.post(path, json=checkin(unique, mood="happy"), headers=auth("write"))
    assert edited.json()["status"] == "updated"
    photos = ["https://img.example/a.jpg", "https://img.example/b.jpg"]
    pictured = await client.post(
        path, json=checkin(unique, mood="happy", image_urls=photos), headers=auth("write")
    )
    assert pictured.json()["status"] == "updated"
    same = await client.post(
        path, json=checkin(unique, mood="happy", image_urls=photos), headers=auth("write")
    )
    assert same.json()["status"] == "unchanged"


async def test_a_checkin_retires_cached_recommendations(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    practice_id = await practice(client, auth, unique)
    path = f"/v1/users/u-{unique}/recommendations"
    await client.get(path, headers=auth("read"))
    assert (await client.get(path, headers=auth("read"))).json()["cache"] == "hit"
    await client.post(
        f"/v1/practices/{practice_id}/checkins", json=checkin(unique), headers=auth("write")
    )
    assert (await client.get(path, headers=auth("read"))).json()["cache"] == "miss"


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        ({"mood": "ecstatic"}, 422, "body.mood"),
        ({"note": "x" * 301}, 422, "body.note"),
        ({"date": "yesterday"}, 422, "body.date"),
        ({"user_id": "nobody-at-all"}, 422, "not a known user"),
        ({"extra": True}, 422, "body.extra"),
        ({"image_urls": [f"https://img.example/{n}.jpg" for n in range(4)]}, 422, "image_urls"),
        ({"image_urls": ["not a url"]}, 422, "body.image_urls.0"),
    ],
)
async def test_bad_checkins_store_nothing(
    client: httpx.AsyncClient,
    auth: Auth,
    unique: str,
    change: dict[str, Any],
    status: int,
    fragment: str,
) -> None:
    practice_id = await practice(client, auth, unique)
    path = f"/v1/practices/{practice_id}/checkins"
    response = await client.post(path, json=checkin(unique, **change), headers=auth("write"))
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["message"]
    # Nothing was stored: the valid check-in under the same id is new.
    fine = await client.post(path, json=checkin(unique), headers=auth("write"))
    assert fine.status_code == 201


async def test_checkins_need_a_known_practice_and_keep_their_practice(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    response = await client.post(
        f"/v1/practices/none-{unique}/checkins", json=checkin(unique), headers=auth("write")
    )
    assert response.status_code == 404
    first = await practice(client, auth, unique)
    await client.post(
        f"/v1/practices/{first}/checkins", json=checkin(unique), headers=auth("write")
    )
    other = {"owner_id": f"u-{unique}", "title": "Other", "duration_days": 7}
    await client.put(f"/v1/practices/q-{unique}", json=other, headers=auth("write"))
    moved = await client.post(
        f"/v1/practices/q-{unique}/checkins", json=checkin(unique), headers=auth("write")
    )
    assert moved.status_code == 409


async def test_a_members_practices_list_their_checkins(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    practice_id = await practice(client, auth, unique)
    private = {
        "owner_id": f"u-{unique}",
        "title": "Diary",
        "duration_days": 7,
        "privacy": "private",
    }
    await client.put(f"/v1/practices/d-{unique}", json=private, headers=auth("write"))
    path = f"/v1/practices/{practice_id}/checkins"
    await client.post(path, json=checkin(unique), headers=auth("write"))
    later = checkin(unique, id=f"c2-{unique}", date="2026-11-22")
    await client.post(path, json=later, headers=auth("write"))

    response = await client.get(f"/v1/users/u-{unique}/practices", headers=auth("read"))
    assert response.status_code == 200, response.text
    listed = {p["id"]: p for p in response.json()["practices"]}
    assert set(listed) == {practice_id, f"d-{unique}"}
    assert (listed[practice_id]["checkins"], listed[practice_id]["last_checkin"]) == (
        2,
        "2026-11-22",
    )
    assert (listed[f"d-{unique}"]["checkins"], listed[f"d-{unique}"]["privacy"]) == (0, "private")

    unknown = await client.get(f"/v1/users/nobody-{unique}/practices", headers=auth("read"))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_user")
    assert (await client.get(f"/v1/users/u-{unique}/practices")).status_code == 401
