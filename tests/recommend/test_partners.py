"""Partners for a practice (找夥伴), and the richer profiles they draw on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

Auth = Callable[..., dict[str, str]]
WHEN = "2026-11-20T08:00:00+08:00"


async def member(client: httpx.AsyncClient, auth: Auth, user: str, **profile: Any) -> None:
    body = {"display_name": user.split("-")[0].upper(), **profile}
    response = await client.put(f"/v1/users/{user}", json=body, headers=auth("write"))
    assert response.is_success, response.text


async def practice(
    client: httpx.AsyncClient, auth: Auth, ident: str, owner: str, title: str, **fields: Any
) -> None:
    body = {
        "owner_id": owner,
        "title": title,
        "duration_days": 30,
        "status": "active",
        "privacy": "public",
        **fields,
    }
    response = await client.put(f"/v1/practices/{ident}", json=body, headers=auth("write"))
    assert response.is_success, response.text


async def partners(
    client: httpx.AsyncClient, auth: Auth, practice_id: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/practices/{practice_id}/partners", params=params, headers=auth("read")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_partners_come_by_template_then_by_practice(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    template = f"tpl-{unique}"
    people = {
        "o": {"interests": ["日文", f"k{unique}"]},  # the owner
        "a": {},  # same template
        "b": {},  # a practice close in meaning, no template
        "d": {},  # same template, but private
        "e": {"discoverable": False},  # same template, not discoverable
        "f": {},  # same template, followed by the owner already
        "g": {"interests": ["日文", f"k{unique}"]},  # only interests in common
    }
    for name, profile in people.items():
        await member(client, auth, f"{name}-{unique}", **profile)
    title = f"30 天日文五十音 {unique}"
    await practice(client, auth, f"po-{unique}", f"o-{unique}", title, template_id=template)
    await practice(client, auth, f"pa-{unique}", f"a-{unique}", title, template_id=template)
    await practice(client, auth, f"pb-{unique}", f"b-{unique}", f"每天背日文假名 {unique}")
    for name in "def":
        privacy = "private" if name == "d" else "public"
        ident, owner = f"p{name}-{unique}", f"{name}-{unique}"
        await practice(client, auth, ident, owner, title, template_id=template, privacy=privacy)
    follow = {
        "id": f"fo-{unique}",
        "user_id": f"o-{unique}",
        "type": "follow",
        "target_user_id": f"f-{unique}",
        "occurred_at": WHEN,
    }
    await client.post("/v1/events", json={"events": [follow]}, headers=auth("write"))

    body = await partners(client, auth, f"po-{unique}", limit=50)
    found = [p["id"] for p in body["partners"] if p["id"].endswith(unique)]
    assert found[0] == f"a-{unique}", body
    codes = {p["id"]: [r["code"] for r in p["reasons"]] for p in body["partners"]}
    assert codes[f"a-{unique}"][0] == "same_template"
    assert "similar_practice" in codes[f"b-{unique}"]
    assert found.index(f"b-{unique}") < found.index(f"g-{unique}")
    for never in ("o", "d", "e", "f"):
        assert f"{never}-{unique}" not in found, never
    # The owner's language: zh-TW by default, English when asked.
    template_reason = body["partners"][0]["reasons"][0]
    assert template_reason["detail"] == f"也在做同一個主題範本「{title}」"
    assert template_reason["ref"] == f"pa-{unique}"
    english = await partners(client, auth, f"po-{unique}", locale="en")
    assert english["partners"][0]["reasons"][0]["detail"].startswith("is doing the same template")
    # Buddies already are left out on request.
    without = await partners(client, auth, f"po-{unique}", exclude_ids=f"a-{unique},g-{unique}")
    assert {f"a-{unique}", f"g-{unique}"}.isdisjoint(p["id"] for p in without["partners"])


async def test_partner_requests_name_what_to_fix(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    missing = await client.get(f"/v1/practices/none-{unique}/partners", headers=auth("read"))
    assert missing.status_code == 404
    assert "no practice" in missing.json()["error"]["message"]
    too_many = {"exclude_ids": ",".join(f"m{n}" for n in range(501))}
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"locale": "fr"}, "locale"),
        (too_many, "exclude_ids: at most 500"),
    ):
        response = await client.get(
            f"/v1/practices/none-{unique}/partners", params=params, headers=auth("read")
        )
        assert response.status_code == 422
        assert field in response.json()["error"]["message"]
    write_only = await client.get(f"/v1/practices/x-{unique}/partners", headers=auth("write"))
    assert write_only.status_code == 403


async def test_richer_profiles_round_trip_and_give_reasons(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    profile = {
        "professional_fields": ["軟體開發", "教育"],
        "position": "工程師",
        "education_stage": "大學",
        "location": "台北市",
        "interests": [f"i{unique}"],
    }
    await member(client, auth, f"a-{unique}", **profile)
    again = await client.put(
        f"/v1/users/a-{unique}", json={"display_name": "A", **profile}, headers=auth("write")
    )
    assert again.json()["status"] == "unchanged"
    await member(client, auth, f"b-{unique}", **{**profile, "professional_fields": ["教育"]})
    response = await client.get(
        f"/v1/users/a-{unique}/recommendations",
        params={"target": "people", "limit": 50},
        headers=auth("read"),
    )
    other = next(p for p in response.json()["items"] if p["id"] == f"b-{unique}")
    details = {r["code"]: r["detail"] for r in other["reasons"]}
    assert details["professional_field"] == "也在「教育」領域"
    assert details["location"] == "也在台北市學習"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"professional_fields": ["x"] * 11}, "professional_fields"),
        ({"professional_fields": [""]}, "professional_fields"),
        ({"location": "x" * 101}, "location"),
        ({"education_stage": "x" * 51}, "education_stage"),
    ],
)
async def test_bad_profiles_name_the_field(
    client: httpx.AsyncClient, auth: Auth, unique: str, change: dict[str, Any], field: str
) -> None:
    body = {"display_name": "x", **change}
    response = await client.put(f"/v1/users/u-{unique}", json=body, headers=auth("write"))
    assert response.status_code == 422
    assert field in response.json()["error"]["message"]
