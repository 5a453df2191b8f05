"""The showcase query (靈感): browsing without q, sort orders, tags with AND, practice status and
length, facet counts under the same filters, and DaoDao's resource fields."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

Auth = Callable[..., dict[str, str]]


async def browse(client: httpx.AsyncClient, auth: Auth, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/search", params=params, headers=auth("read"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def put_practice(
    client: httpx.AsyncClient,
    auth: Auth,
    ident: str,
    owner: str,
    title: str,
    tags: list[str],
    **fields: object,
) -> httpx.Response:
    body = {
        "owner_id": owner,
        "title": title,
        "practice_action": f"{title}，每天記錄",
        "tags": tags,
        "duration_days": 30,
        "status": "active",
        "privacy": "public",
        **fields,
    }
    return await client.put(f"/v1/practices/{ident}", json=body, headers=auth("write"))


async def showcase(client: httpx.AsyncClient, auth: Auth, unique: str) -> None:
    """Four practices of two members, written in this order (so `created` runs p1 to p4)."""
    write = auth("write")
    for user in ("a", "b"):
        await client.put(f"/v1/users/{user}-{unique}", json={"display_name": user}, headers=write)
    practices = [
        ("p1", "a", "每天寫一首俳句", ["寫作", "日文"], 21, "active"),
        ("p2", "a", "30 天 Python 小專案", ["python", "程式"], 30, "completed"),
        ("p3", "b", "晨間日文朗讀", ["日文", "口說"], 7, "active"),
        ("p4", "b", "Haiku in English", ["寫作", "english"], 60, "completed"),
    ]
    for ident, owner, title, tags, days, status in practices:
        response = await put_practice(
            client,
            auth,
            f"{ident}-{unique}",
            f"{owner}-{unique}",
            title,
            [*tags, unique],
            duration_days=days,
            status=status,
        )
        assert response.status_code == 201, response.text


async def test_browse_lists_by_latest_change_and_by_creation(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    await showcase(client, auth, unique)
    ids = [f"practice:p{n}-{unique}" for n in (1, 2, 3, 4)]
    latest = await browse(client, auth, tags=unique)
    assert latest["query"] is None
    assert latest["sort"] == "updated"
    assert [h["id"] for h in latest["hits"]] == ids[::-1]
    assert all(h["score"] == 0 for h in latest["hits"])
    # A check-in is a change: its practice comes first.
    note = {"id": f"c-{unique}", "user_id": f"a-{unique}", "date": "2026-11-20", "note": "寫完了"}
    await client.post(f"/v1/practices/p1-{unique}/checkins", json=note, headers=auth("write"))
    latest = await browse(client, auth, tags=unique)
    assert [h["id"] for h in latest["hits"]] == [ids[0], ids[3], ids[2], ids[1]]
    created = await browse(client, auth, tags=unique, sort="created")
    assert [h["id"] for h in created["hits"]] == ids[::-1]
    # Pages follow on from each other.
    first = await browse(client, auth, tags=unique, limit=3)
    rest = await browse(client, auth, tags=unique, limit=3, cursor=first["next_cursor"])
    assert [h["id"] for h in first["hits"] + rest["hits"]] == [h["id"] for h in latest["hits"]]


async def test_filters_tags_all_status_and_length(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    await showcase(client, auth, unique)

    def found(body: dict[str, Any]) -> set[str]:
        return {h["id"].split(":")[1].split("-")[0] for h in body["hits"]}

    any_of = await browse(client, auth, tags=[unique, "日文"], limit=50)
    assert len(any_of["hits"]) >= 4, "any: each of them, and others holding 日文"
    both = await browse(client, auth, tags=[unique, "日文"], tags_mode="all")
    assert found(both) == {"p1", "p3"}
    done = await browse(client, auth, tags=unique, status="completed")
    assert found(done) == {"p2", "p4"}
    assert {h["status"] for h in done["hits"]} == {"completed"}
    short = await browse(client, auth, tags=unique, duration_days="-21")
    assert found(short) == {"p1", "p3"}
    middle = await browse(client, auth, tags=unique, duration_days="21-30")
    assert found(middle) == {"p1", "p2"}
    exact = await browse(client, auth, tags=unique, duration_days="60")
    assert found(exact) == {"p4"}
    assert exact["hits"][0]["duration_days"] == 60


async def test_facets_count_the_filtered_hits(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    await showcase(client, auth, unique)

    async def counts_match_hits() -> None:
        for filters in ({"tags": unique}, {"tags": unique, "status": "active"}):
            body = await browse(client, auth, **filters, facets="status,tags", limit=100)
            hits = body["hits"]
            statuses = Counter(h["status"] for h in hits)
            assert {f["value"]: f["count"] for f in body["facets"]["status"]} == statuses
            tags = Counter(t for h in hits for t in h["tags"])
            assert {f["value"]: f["count"] for f in body["facets"]["tags"]} == dict(tags)

    await counts_match_hits()
    # A facet for each field asked for, in a repeated or a comma-separated parameter.
    body = await browse(client, auth, tags=unique, facets=["kind", "language,status"])
    assert set(body["facets"]) == {"kind", "language", "status"}
    assert body["facets"]["kind"] == [{"value": "practice", "count": 4}]
    assert body["facets"]["language"] == [
        {"value": "zh-TW", "count": 3},
        {"value": "en", "count": 1},
    ]
    # After an update, a status change, a practice made private and one deleted, the counts
    # still follow the hits: no point counts twice or lingers.
    read_aloud = ("晨間日文朗讀", ["日文", "朗讀", unique])
    for ident, owner in (("p3", "b"), ("p1", "a")):
        response = await put_practice(
            client, auth, f"{ident}-{unique}", f"{owner}-{unique}", *read_aloud, status="completed"
        )
        assert response.status_code == 200, response.text
    response = await put_practice(
        client, auth, f"p2-{unique}", f"a-{unique}", *read_aloud, privacy="private"
    )
    assert response.status_code == 200, response.text
    response = await client.delete(f"/v1/practices/p4-{unique}", headers=auth("write"))
    assert response.status_code == 204, response.text
    body = await browse(client, auth, tags=unique, facets="status,tags")
    assert body["facets"]["status"] == [{"value": "completed", "count": 2}]
    # Three tags held twice each: equal counts list in the order of their values.
    tags = [(f["value"], f["count"]) for f in body["facets"]["tags"]]
    assert tags == [(tag, 2) for tag in sorted(["日文", "朗讀", unique])]
    await counts_match_hits()


async def test_a_query_sorted_by_date_and_the_fields_it_matched(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    await showcase(client, auth, unique)
    note = {
        "id": f"c-{unique}",
        "user_id": f"b-{unique}",
        "date": "2026-11-20",
        "note": "今天朗讀了俳句",
    }
    await client.post(f"/v1/practices/p3-{unique}/checkins", json=note, headers=auth("write"))
    relevant = await browse(client, auth, q="俳句", tags=unique, mode="keyword")
    assert relevant["sort"] == "relevance"
    by_id = {h["id"].split(":")[1].split("-")[0]: h for h in relevant["hits"]}
    assert set(by_id) == {"p1", "p3"}
    assert "title" in by_id["p1"]["matched_fields"]
    # p3 holds 俳句 only in a note: the hit says so.
    assert by_id["p3"]["matched_fields"] == ["notes"]
    newest = await browse(client, auth, q="俳句", tags=unique, mode="keyword", sort="updated")
    assert [h["id"] for h in newest["hits"]] == [f"practice:p3-{unique}", f"practice:p1-{unique}"]
    # Sorted by date, a hybrid query keeps only what it is about: the Python project, which the
    # relevance ranking lists last, is left out rather than shown first for being newer.
    python = ("30 天 Python 小專案", ["python", "程式", unique])
    await put_practice(client, auth, f"p2-{unique}", f"a-{unique}", *python, status="completed")
    ranked = await browse(client, auth, q="日文", tags=unique, limit=10)
    assert ranked["hits"][-1]["id"] == f"practice:p2-{unique}"
    dated = await browse(client, auth, q="日文", tags=unique, sort="updated")
    found = [h["id"].split(":")[1].split("-")[0] for h in dated["hits"]]
    assert {"p1", "p3"} <= set(found)
    assert "p2" not in found
    # One word of two is not enough once the order is by date: only p3 reads aloud in Japanese.
    both = {"q": "日文 朗讀", "tags": unique, "mode": "keyword"}
    ranked = await browse(client, auth, **both)
    assert {"p1", "p3"} <= {h["id"].split(":")[1].split("-")[0] for h in ranked["hits"]}
    dated = await browse(client, auth, **both, sort="updated")
    assert [h["id"] for h in dated["hits"]] == [f"practice:p3-{unique}"]


async def test_daodao_resources(client: httpx.AsyncClient, auth: Auth, unique: str) -> None:
    write = auth("write")
    resources = {
        "podcast": {
            "title": f"Podcast 學日文 {unique}",
            "resource_type": "podcast_content",
            "cost": "free",
            "level": "expert",
            "category": "語言",
            "subcategory": "日文",
            "image_url": "https://img.example/podcast.png",
        },
        "cert": {
            "title": f"雲端證照 {unique}",
            "resource_type": "professional_certificates",
            "cost": "paid",
            "level": "intermediate",
            "category": "科技",
        },
        "book": {"title": f"日文文法 {unique}", "kind": "book", "cost": "partial_free"},
    }
    for name, body in resources.items():
        response = await client.put(f"/v1/items/{name}-{unique}", json=body, headers=write)
        assert response.status_code == 201, response.text
    item = (await client.get(f"/v1/items/podcast-{unique}", headers=auth("read"))).json()
    assert (item["kind"], item["resource_type"], item["level"]) == (
        "other",
        "podcast_content",
        "expert",
    )
    cert = (await client.get(f"/v1/items/cert-{unique}", headers=auth("read"))).json()
    assert cert["kind"] == "course", "a certificate is a course when no kind is sent"

    async def names(**params: Any) -> set[str]:
        body = await browse(client, auth, q=unique, mode="keyword", **params)
        return {h["id"].split("-")[0] for h in body["hits"]}

    assert await names() == {"podcast", "cert", "book"}
    assert await names(cost="free") == {"podcast"}
    assert await names(cost=["paid", "partial_free"]) == {"cert", "book"}
    assert await names(resource_type="professional_certificates") == {"cert"}
    assert await names(level="expert") == {"podcast"}
    assert await names(category="語言", subcategory="日文") == {"podcast"}
    hit = (await browse(client, auth, q=unique, mode="keyword", cost="free"))["hits"][0]
    assert hit["image_url"] == "https://img.example/podcast.png"
    assert (hit["resource_type"], hit["cost"], hit["subcategory"]) == (
        "podcast_content",
        "free",
        "日文",
    )


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "q: send q to search, or at least one filter"),
        ({"q": "   "}, "q: must not be empty"),
        ({"kind": "practice", "sort": "relevance"}, "sort: relevance needs q"),
        ({"kind": "practice", "sort": "oldest"}, "sort"),
        ({"kind": "practice", "facets": "kind,colour"}, "facets: unknown field 'colour'"),
        ({"kind": "practice", "tags_mode": "most"}, "tags_mode"),
        ({"kind": "practice", "status": "draft"}, "status"),
        ({"kind": "practice", "duration_days": "a week"}, "duration_days: 'a week'"),
        ({"kind": "practice", "duration_days": "30-7"}, "ends before it starts"),
        ({"kind": "practice", "duration_days": "0-200"}, "days from 1 to 90"),
        ({"kind": "practice", "cost": "cheap"}, "cost"),
        ({"kind": "practice", "resource_type": "magazine"}, "resource_type"),
    ],
)
async def test_bad_search_parameters_name_what_to_fix(
    client: httpx.AsyncClient, auth: Auth, params: dict[str, Any], fragment: str
) -> None:
    response = await client.get("/v1/search", params=params, headers=auth("read"))
    assert response.status_code == 422, response.text
    assert fragment in response.json()["error"]["message"], response.text


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"title": "t"}, "kind: send kind, or resource_type"),
        ({"title": "t", "resource_type": "magazine"}, "resource_type"),
        ({"title": "t", "kind": "book", "cost": "cheap"}, "cost"),
        ({"title": "t", "kind": "book", "level": "master"}, "level"),
        ({"title": "t", "kind": "book", "image_url": "not a url"}, "image_url"),
    ],
)
async def test_bad_resources_name_the_field(
    client: httpx.AsyncClient, auth: Auth, unique: str, body: dict[str, Any], fragment: str
) -> None:
    response = await client.put(f"/v1/items/r-{unique}", json=body, headers=auth("write"))
    assert response.status_code == 422, response.text
    assert fragment in response.json()["error"]["message"], response.text
