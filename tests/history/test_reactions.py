"""DaoDao's signals: four typed reactions, comment, copy and follow; retraction; the member's own
state per item; and a dislike that pushes down items like the one disliked."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

Auth = Callable[..., dict[str, str]]
WHEN = "2026-11-20T08:00:00+08:00"


async def member(client: httpx.AsyncClient, auth: Auth, user: str, **profile: Any) -> None:
    body = {"display_name": user, **profile}
    response = await client.put(f"/v1/users/{user}", json=body, headers=auth("write"))
    assert response.is_success, response.text


async def send(client: httpx.AsyncClient, auth: Auth, *events: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/events", json={"events": list(events)}, headers=auth("write"))


async def state(
    client: httpx.AsyncClient, auth: Auth, user: str, items: list[str]
) -> dict[str, list[str]]:
    response = await client.get(
        f"/v1/users/{user}/reactions", params={"item_ids": ",".join(items)}, headers=auth("read")
    )
    assert response.status_code == 200, response.text
    return {
        entry["item_id"]: sorted(r["type"] for r in entry["reactions"])
        for entry in response.json()["items"]
    }


async def test_reactions_are_stored_read_back_and_retracted(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    user = f"u-{unique}"
    await member(client, auth, user)
    items = [f"i{n}-{unique}" for n in range(3)]
    for item in items:
        body = {"kind": "article", "title": f"Article {item}"}
        assert (await client.put(f"/v1/items/{item}", json=body, headers=auth("write"))).is_success
    kinds = ["cheer", "inspired", "resonate", "curious", "comment", "copy"]
    events = [
        {"id": f"e-{kind}-{unique}", "user_id": user, "item_id": items[0], "type": kind}
        for kind in kinds
    ]
    events.append(
        {"id": f"e-bm-{unique}", "user_id": user, "item_id": items[1], "type": "bookmark"}
    )
    events.append({"id": f"e-v-{unique}", "user_id": user, "item_id": items[2], "type": "view"})
    response = await send(client, auth, *({**e, "occurred_at": WHEN} for e in events))
    assert response.json()["created"] == 8, response.text

    assert await state(client, auth, user, items) == {
        items[0]: sorted(kinds),
        items[1]: ["bookmark"],
        items[2]: [],  # a view is history, not a state a card shows
    }
    # Un-cheer: the event goes, the others stay; twice is fine.
    for _ in range(2):
        gone = await client.delete(f"/v1/events/e-cheer-{unique}", headers=auth("write"))
        assert gone.status_code == 204
    after = await state(client, auth, user, items[:1])
    assert after == {items[0]: sorted(set(kinds) - {"cheer"})}
    denied = await client.delete(f"/v1/events/e-copy-{unique}", headers=auth("read"))
    assert denied.status_code == 403
    # Scoped to a member, another member's event is left alone.
    scoped = await client.delete(
        f"/v1/events/e-copy-{unique}", params={"user_id": "someone-else"}, headers=auth("write")
    )
    assert scoped.status_code == 204
    assert "copy" in (await state(client, auth, user, items[:1]))[items[0]]


async def test_a_follow_names_a_member_and_hides_them_from_suggestions(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    interest = f"kiln{unique}"
    for user in ("a", "b", "c"):
        await member(client, auth, f"{user}-{unique}", interests=[interest, "陶藝"])

    async def people() -> list[str]:
        response = await client.get(
            f"/v1/users/a-{unique}/recommendations",
            params={"target": "people", "limit": 50},
            headers=auth("read"),
        )
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert {f"b-{unique}", f"c-{unique}"} <= set(await people())
    follow = {
        "id": f"f-{unique}",
        "user_id": f"a-{unique}",
        "type": "follow",
        "target_user_id": f"b-{unique}",
        "occurred_at": WHEN,
    }
    assert (await send(client, auth, follow)).json()["created"] == 1
    suggested = await people()
    assert f"b-{unique}" not in suggested
    assert f"c-{unique}" in suggested
    # Unfollow: suggested again.
    await client.delete(f"/v1/events/f-{unique}", headers=auth("write"))
    assert f"b-{unique}" in await people()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"type": "follow"}, "a follow names target_user_id"),
        ({"type": "follow", "item_id": None, "target_user_id": "self"}, "cannot follow themself"),
        ({"type": "cheer", "item_id": None}, "a cheer names item_id"),
        ({"type": "like", "target_user_id": "x"}, "a like names item_id"),
        ({"type": "applause"}, "type"),
        ({"type": "follow", "item_id": None, "target_user_id": "nobody-at-all"}, "unknown user_id"),
    ],
)
async def test_bad_events_name_what_to_fix(
    client: httpx.AsyncClient, auth: Auth, unique: str, change: dict[str, Any], fragment: str
) -> None:
    user = f"u-{unique}"
    await member(client, auth, user)
    await client.put(
        f"/v1/items/i-{unique}", json={"kind": "book", "title": "t"}, headers=auth("write")
    )
    event = {"id": f"e-{unique}", "user_id": user, "item_id": f"i-{unique}", "occurred_at": WHEN}
    event.update(change)
    if event.get("target_user_id") == "self":
        event["target_user_id"] = user
    response = await send(client, auth, {k: v for k, v in event.items() if v is not None})
    assert response.status_code == 422, response.text
    assert fragment in response.json()["error"]["message"], response.text


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "item_ids"),
        ({"item_ids": ","}, "item_ids: name at least one item"),
        ({"item_ids": ",".join(f"i{n}" for n in range(101))}, "at most 100"),
        ({"item_ids": "has space"}, "is not an id"),
    ],
)
async def test_bad_state_requests_name_what_to_fix(
    client: httpx.AsyncClient, auth: Auth, unique: str, params: dict[str, Any], fragment: str
) -> None:
    await member(client, auth, f"u-{unique}")
    reactions = f"/v1/users/u-{unique}/reactions"
    response = await client.get(reactions, params=params, headers=auth("read"))
    assert response.status_code == 422, response.text
    assert fragment in response.json()["error"]["message"], response.text
    unknown = await client.get(
        f"/v1/users/nobody-{unique}/reactions", params={"item_ids": "a"}, headers=auth("read")
    )
    assert unknown.status_code == 404


async def test_a_dislike_pushes_down_items_like_it(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    """Six Python tutorials and six watercolour lessons for a member interested in both: a 👎 on
    one tutorial pushes the other tutorials down and leaves the lessons where they were."""
    # Two markers that share nothing, so the items' text is alike within a topic only.
    python, paint = (
        f"py{unique}",
        "wc" + "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:12]),
    )
    titles = {
        python: ["入門", "函式", "串列與字典", "爬蟲", "資料分析", "物件導向"],
        paint: ["渲染", "疊色", "風景寫生", "花卉", "留白技法", "調色"],
    }
    for word, topics in titles.items():
        subject = "Python 程式教學" if word == python else "水彩畫課"
        for n, topic in enumerate(topics):
            body = {"kind": "course", "title": f"{subject}：{topic} {word}", "tags": [word]}
            path = f"/v1/items/{word}-{n}"
            assert (await client.put(path, json=body, headers=auth("write"))).is_success
    user = f"u-{unique}"
    await member(client, auth, user, interests=[python, paint])

    async def scores() -> dict[str, float]:
        response = await client.get(
            f"/v1/users/{user}/recommendations", params={"limit": 50}, headers=auth("read")
        )
        assert response.status_code == 200, response.text
        ours = (python, paint)
        return {r["id"]: r["score"] for r in response.json()["items"] if r["id"].startswith(ours)}

    before = await scores()
    assert {f"{python}-{n}" for n in range(6)} <= set(before), before
    dislike = {
        "id": f"d-{unique}",
        "user_id": user,
        "item_id": f"{python}-0",
        "type": "dislike",
        "occurred_at": WHEN,
    }
    await send(client, auth, dislike)
    after = await scores()
    assert f"{python}-0" not in after
    for n in range(1, 6):
        key = f"{python}-{n}"
        assert after.get(key, 0.0) <= 0.7 * before[key], (key, before[key], after.get(key))
    for n in range(6):
        key = f"{paint}-{n}"
        if key in before:
            assert after[key] == pytest.approx(before[key], rel=0.05), key
