"""DaoDao's privacy and status rules: who finds a practice, who reads its check-ins.

`private` (the default) is the owner's alone; `public` is found and read by everyone; `delayed`
(完成後分享) is found by its title and tags at once and read once it is completed. A draft, a
practice not started and an archived one are never found, whatever their privacy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ai_backend.feedback.runner import JobRunner
from tests.feedback.test_feedback import _job_without_message

Auth = Callable[..., dict[str, str]]


async def member(client: httpx.AsyncClient, auth: Auth, user: str, **profile: Any) -> None:
    body = {"display_name": user, **profile}
    response = await client.put(f"/v1/users/{user}", json=body, headers=auth("write"))
    assert response.is_success, response.text


async def put_practice(
    client: httpx.AsyncClient, auth: Auth, unique: str, **fields: Any
) -> dict[str, Any]:
    body = {
        "owner_id": f"u-{unique}",
        "title": f"每天素描 {unique}",
        "practice_action": "每天畫一張手的速寫",
        "tags": ["素描", f"t{unique}"],
        "duration_days": 21,
        **fields,
    }
    response = await client.put(f"/v1/practices/p-{unique}", json=body, headers=auth("write"))
    assert response.is_success, response.text
    return body


async def check_in(
    client: httpx.AsyncClient, auth: Auth, unique: str, ident: str, note: str, **fields: Any
) -> None:
    body = {"id": ident, "user_id": f"u-{unique}", "date": "2026-11-20", "note": note, **fields}
    response = await client.post(
        f"/v1/practices/p-{unique}/checkins", json=body, headers=auth("write")
    )
    assert response.is_success, response.text


async def found(client: httpx.AsyncClient, auth: Auth, q: str) -> list[str]:
    response = await client.get(
        "/v1/search", params={"q": q, "mode": "keyword", "limit": 50}, headers=auth("read")
    )
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["hits"]]


async def test_a_practice_sent_without_privacy_is_private(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    await member(client, auth, f"u-{unique}")
    await put_practice(client, auth, unique, status="active")
    assert await found(client, auth, unique) == []
    practices = await client.get(f"/v1/users/u-{unique}/practices", headers=auth("read"))
    assert practices.json()["practices"][0]["privacy"] == "private"


@pytest.mark.parametrize("status", ["draft", "not_started", "archived"])
@pytest.mark.parametrize("privacy", ["public", "delayed"])
async def test_unshown_statuses_are_never_searchable(
    client: httpx.AsyncClient, auth: Auth, unique: str, status: str, privacy: str
) -> None:
    await member(client, auth, f"u-{unique}")
    body = await put_practice(client, auth, unique, status="active", privacy=privacy)
    item = f"practice:p-{unique}"
    assert await found(client, auth, unique) == [item]
    # The status change reaches the index at once.
    await put_practice(client, auth, unique, **{**body, "status": status, "privacy": privacy})
    assert await found(client, auth, unique) == []
    item_response = await client.get(f"/v1/items/{item}", headers=auth("read"))
    assert item_response.status_code == 404


async def test_notes_are_read_as_privacy_allows(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    await member(client, auth, f"u-{unique}")
    note_word = f"n{unique}"
    item = f"practice:p-{unique}"
    body = await put_practice(client, auth, unique, status="active", privacy="delayed")
    await check_in(client, auth, unique, f"c-{unique}", f"今天畫了左手 {note_word}")
    # Delayed and not completed: the title is found, the note is not.
    assert await found(client, auth, unique) == [item]
    assert await found(client, auth, note_word) == []
    # Completed: now the note is found too, and the hit says the note matched.
    await put_practice(client, auth, unique, **{**body, "status": "completed"})
    assert await found(client, auth, note_word) == [item]
    params = {"q": note_word, "mode": "keyword"}
    hit = (await client.get("/v1/search", params=params, headers=auth("read"))).json()
    assert hit["hits"][0]["matched_fields"] == ["notes"]
    # Private: nothing, notes included.
    await put_practice(
        client, auth, unique, **{**body, "status": "completed", "privacy": "private"}
    )
    assert await found(client, auth, note_word) == []
    assert await found(client, auth, unique) == []
    # Public and active: both at once.
    await put_practice(client, auth, unique, **{**body, "status": "active", "privacy": "public"})
    assert await found(client, auth, note_word) == [item]


async def test_a_deleted_checkin_leaves_search_history_and_prompts(
    client: httpx.AsyncClient, auth: Auth, app: FastAPI, unique: str
) -> None:
    await member(client, auth, f"u-{unique}")
    await member(client, auth, f"v-{unique}")
    await put_practice(client, auth, unique, status="active", privacy="public")
    kept, gone = f"k{unique}", f"g{unique}"
    await check_in(client, auth, unique, f"c1-{unique}", f"畫了手指 {kept}")
    await check_in(client, auth, unique, f"c2-{unique}", f"畫了手腕 {gone}", image_urls=[])
    # Another member's check-in on this practice is never the owner's prompt.
    stranger = {"id": f"c3-{unique}", "user_id": f"v-{unique}", "date": "2026-11-21", "note": "x"}
    await client.post(f"/v1/practices/p-{unique}/checkins", json=stranger, headers=auth("write"))
    assert await found(client, auth, gone) == [f"practice:p-{unique}"]

    path = f"/v1/practices/p-{unique}/checkins/c2-{unique}"
    assert (await client.delete(path, headers=auth("read"))).status_code == 403
    assert (await client.delete(path, headers=auth("write"))).status_code == 204
    assert (await client.delete(path, headers=auth("write"))).status_code == 204, "idempotent"
    assert await found(client, auth, gone) == []
    assert await found(client, auth, kept) == [f"practice:p-{unique}"]

    listed = await client.get(f"/v1/users/u-{unique}/practices", headers=auth("read"))
    assert listed.json()["practices"][0]["checkins"] == 2, "the kept one and the stranger's"

    resources = app.state.resources
    job_id = await _job_without_message(resources.sessions, f"p-{unique}", unique)
    runner = JobRunner(resources.sessions, None, lease_seconds=60, retry=lambda j, d: None)  # type: ignore[arg-type]
    prompt = await runner.prompt(await resources.feedback.get(job_id))
    notes = [c.get("note") for c in prompt.data["checkins"]]
    assert notes == [f"畫了手指 {kept}"], notes

    # Through another practice, a check-in cannot be deleted.
    await put_practice(client, auth, f"{unique}x", owner_id=f"u-{unique}")
    other = f"/v1/practices/p-{unique}x/checkins/c1-{unique}"
    response = await client.delete(other, headers=auth("write"))
    assert response.status_code == 409, response.text


async def test_recommendations_follow_privacy_and_status(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    await member(client, auth, f"u-{unique}")
    body = await put_practice(client, auth, unique, status="draft", privacy="public")
    item = f"practice:p-{unique}"

    async def recommended(reader: str) -> list[str]:
        await member(client, auth, reader, interests=[f"t{unique}", "素描"])
        response = await client.get(
            f"/v1/users/{reader}/recommendations",
            params={"kind": "practice", "limit": 50},
            headers=auth("read"),
        )
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert item not in await recommended(f"r1-{unique}")
    await put_practice(client, auth, unique, **{**body, "status": "active", "privacy": "private"})
    assert item not in await recommended(f"r2-{unique}")
    await put_practice(client, auth, unique, **{**body, "status": "active", "privacy": "delayed"})
    assert item in await recommended(f"r3-{unique}")
    await put_practice(client, auth, unique, **{**body, "status": "archived", "privacy": "public"})
    assert item not in await recommended(f"r4-{unique}")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"privacy": "hidden"}, "privacy"),
        ({"privacy": "friends"}, "privacy"),
        ({"status": "paused"}, "status"),
    ],
)
async def test_unknown_privacy_or_status_names_the_field(
    client: httpx.AsyncClient, auth: Auth, unique: str, body: dict[str, Any], field: str
) -> None:
    await member(client, auth, f"u-{unique}")
    practice = {"owner_id": f"u-{unique}", "title": "t", "duration_days": 7, **body}
    response = await client.put(f"/v1/practices/p-{unique}", json=practice, headers=auth("write"))
    assert response.status_code == 422
    assert field in response.json()["error"]["message"], response.text
