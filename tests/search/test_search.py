"""`/v1/search` and `/similar` over the real model and Qdrant Edge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

Auth = Callable[..., dict[str, str]]


@pytest.fixture
async def catalogue(client: httpx.AsyncClient, auth: Auth, unique: str) -> str:
    """Six items sharing the marker `unique`, in both languages."""
    items = [
        (
            "de",
            "course",
            "beginner",
            "zh-TW",
            f"德語 A1 自學 {unique}",
            "發音、基本句型與日常會話",
            ["德語"],
        ),
        (
            "de2",
            "book",
            "intermediate",
            "zh-TW",
            f"德語 B1 文法總複習 {unique}",
            "格位、從屬子句與被動語態",
            ["德語", f"grammar{unique}"],
        ),
        (
            "py",
            "course",
            "beginner",
            "en",
            f"Python for absolute beginners {unique}",
            "Variables, loops and functions with small projects.",
            ["python"],
        ),
        (
            "ml",
            "video",
            "advanced",
            "en",
            f"Neural networks from scratch {unique}",
            "Backpropagation and gradient descent by hand.",
            ["ai"],
        ),
        (
            "gt",
            "video",
            "beginner",
            "zh-TW",
            f"吉他自學：和弦與刷法 {unique}",
            "從四個和弦開始，一個月彈唱第一首歌。",
            ["吉他", "音樂"],
        ),
        (
            "run",
            "article",
            "all",
            "en",
            f"Couch to 5K running plan {unique}",
            "Walk-run intervals over nine weeks.",
            ["running"],
        ),
    ]
    entries = [
        {
            "id": f"{key}-{unique}",
            "kind": kind,
            "level": level,
            "language": lang,
            "title": title,
            "description": text,
            "tags": [*tags, unique],
        }
        for key, kind, level, lang, title, text, tags in items
    ]
    response = await client.post("/v1/items:batch", json={"items": entries}, headers=auth("write"))
    assert response.json()["counts"]["created"] == len(items)
    return unique


async def search(client: httpx.AsyncClient, auth: Auth, **params: Any) -> httpx.Response:
    return await client.get("/v1/search", params=params, headers=auth("read"))


async def test_english_and_chinese_queries_find_by_meaning(
    client: httpx.AsyncClient, auth: Auth, catalogue: str
) -> None:
    english = (await search(client, auth, q="learn to program in Python", tags=catalogue)).json()
    assert english["hits"][0]["id"] == f"py-{catalogue}"
    assert set(english["hits"][0]["matched"]) == {"semantic", "keyword"}

    chinese = (
        await search(client, auth, q="德語文法", tags=catalogue, kind=["course", "book"], limit=5)
    ).json()
    ids = [h["id"] for h in chinese["hits"]]
    assert f"de2-{catalogue}" in ids[:2]

    guitar = (await search(client, auth, q="學吉他 和弦", tags=catalogue)).json()
    assert guitar["hits"][0]["id"] == f"gt-{catalogue}"
    hit = guitar["hits"][0]
    assert hit["kind"] == "video"
    assert hit["title"].startswith("吉他自學")
    assert "和弦" in hit["snippet"]
    assert hit["score"] > 0


async def test_modes_and_filters(client: httpx.AsyncClient, auth: Auth, catalogue: str) -> None:
    keyword = (await search(client, auth, q=catalogue, mode="keyword", limit=100)).json()
    assert len(keyword["hits"]) == 6
    assert all(h["matched"] == ["keyword"] for h in keyword["hits"])
    videos = (await search(client, auth, q=catalogue, mode="keyword", kind="video")).json()
    assert {h["id"] for h in videos["hits"]} == {f"ml-{catalogue}", f"gt-{catalogue}"}
    combined = (
        await search(
            client,
            auth,
            q=catalogue,
            mode="keyword",
            kind=["video", "course"],
            language="zh-TW",
            level="beginner",
        )
    ).json()
    assert {h["id"] for h in combined["hits"]} == {f"de-{catalogue}", f"gt-{catalogue}"}
    tagged = (
        await search(
            client, auth, q=catalogue, mode="semantic", tags=f"grammar{catalogue}", limit=50
        )
    ).json()
    assert [h["id"] for h in tagged["hits"]] == [f"de2-{catalogue}"]
    semantic = (
        await search(client, auth, q="running plan for beginners", mode="semantic", tags=catalogue)
    ).json()
    assert semantic["hits"][0]["matched"] == ["semantic"]


async def test_cursor_walks_the_pages(
    client: httpx.AsyncClient, auth: Auth, catalogue: str
) -> None:
    params = {"q": catalogue, "mode": "keyword", "limit": 4}
    first = (await search(client, auth, **params)).json()
    assert len(first["hits"]) == 4
    assert first["next_cursor"]
    second = (await search(client, auth, **params, cursor=first["next_cursor"])).json()
    assert second["offset"] == 4
    assert len(second["hits"]) == 2
    assert second["next_cursor"] is None
    seen = [h["id"] for h in first["hits"] + second["hits"]]
    assert len(set(seen)) == 6

    by_offset = (await search(client, auth, **params, offset=4)).json()
    assert [h["id"] for h in by_offset["hits"]] == [h["id"] for h in second["hits"]]
    other = await search(client, auth, q="something else", limit=4, cursor=first["next_cursor"])
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "invalid_cursor"


async def test_similar_items(client: httpx.AsyncClient, auth: Auth, catalogue: str) -> None:
    response = await client.get(
        f"/v1/items/de2-{catalogue}/similar", params={"limit": 3}, headers=auth("read")
    )
    assert response.status_code == 200
    ids = [h["id"] for h in response.json()["hits"]]
    assert f"de2-{catalogue}" not in ids
    # Other tests' copies of the fixture share the index: what matters is that the nearest
    # items are about learning German, not which copy they come from.
    assert all(hit["title"].startswith("德語") for hit in response.json()["hits"])
    # Each says how close it is, nearest first.
    scores = [hit["score"] for hit in response.json()["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert 0 < scores[-1] <= scores[0] <= 1
    missing = await client.get("/v1/items/no-such-item/similar", headers=auth("read"))
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   \t "}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": "x" * 2001}, "q"),
        ({"q": "ok", "kind": "podcast"}, "kind"),
        ({"q": "ok", "level": "master"}, "level"),
        ({"q": "ok", "language": "not a language"}, "language"),
        ({"q": "ok", "mode": "fuzzy"}, "mode"),
        ({"q": "ok", "limit": 0}, "limit"),
        ({"q": "ok", "limit": 101}, "limit"),
        ({"q": "ok", "offset": -1}, "offset"),
        ({"q": "ok", "offset": 5000}, "offset"),
        ({"q": "ok", "cursor": "garbage"}, "cursor"),
        ({"q": "ok", "cursor": "e30", "offset": 3}, "cursor"),
        ({"q": "ok", "tags": "x" * 65}, "tags"),
    ],
)
async def test_bad_queries_name_the_field(
    client: httpx.AsyncClient, auth: Auth, params: dict[str, Any], names: str
) -> None:
    response = await search(client, auth, **params)
    assert response.status_code == 422, response.text
    assert names in response.json()["error"]["message"]


async def test_search_needs_read_scope(client: httpx.AsyncClient, auth: Auth) -> None:
    assert (await search(client, auth, q="x")).status_code == 200
    denied = await client.get("/v1/search", params={"q": "x"}, headers=auth("write"))
    assert denied.status_code == 403


async def test_chinese_paraphrase_and_other_script_find_the_item(
    client: httpx.AsyncClient, auth: Auth, catalogue: str
) -> None:
    # Same meaning, other words: no bigram of the query is in the title or description.
    paraphrase = (await search(client, auth, q="想自己彈吉他唱歌", tags=catalogue)).json()
    assert paraphrase["hits"][0]["id"] == f"gt-{catalogue}"
    # Simplified and Traditional forms of one query share their top hit.
    simplified = (await search(client, auth, q="学习德语语法", tags=catalogue)).json()
    traditional = (await search(client, auth, q="學習德語語法", tags=catalogue)).json()
    assert simplified["hits"][0]["id"] == traditional["hits"][0]["id"] == f"de2-{catalogue}"


async def test_queries_cross_languages(
    client: httpx.AsyncClient, auth: Auth, catalogue: str
) -> None:
    # English finds a Chinese item: no word of the query is in it.
    guitar = (await search(client, auth, q="how to play the guitar", tags=catalogue)).json()
    assert guitar["hits"][0]["id"] == f"gt-{catalogue}"
    assert guitar["hits"][0]["matched"] == ["semantic"]
    german = (await search(client, auth, q="German grammar", tags=catalogue)).json()
    assert german["hits"][0]["id"] == f"de2-{catalogue}"
    # And Chinese finds an English one.
    running = (await search(client, auth, q="五公里跑步計畫", tags=catalogue)).json()
    assert running["hits"][0]["id"] == f"run-{catalogue}"
    neural = (await search(client, auth, q="神經網路與反向傳播", tags=catalogue)).json()
    assert neural["hits"][0]["id"] == f"ml-{catalogue}"


async def test_the_demo_catalogue_answers_a_plain_question(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    """A long question in everyday words ranks what it asks for, not what shares 一 and 個."""
    from ai_backend.demo.loader import read_catalog

    demo = read_catalog()
    practices = [
        {
            "id": f"practice-{p['id']}",
            "kind": "practice",
            "title": p["title"],
            "description": p["practice_action"],
            "tags": p["tags"],
            "language": "en" if p["title"].isascii() else "zh-TW",
        }
        for p in demo["practices"]
        if p["privacy"] == "public"
    ]
    items = [
        {
            **{k: v for k, v in item.items() if k not in ("owner_id", "practice_id")},
            "id": f"{item['id'].replace(':', '-')}-{unique}",
            "tags": [*item.get("tags", []), unique],
        }
        for item in demo["items"] + practices
    ]
    response = await client.post("/v1/items:batch", json={"items": items}, headers=auth("write"))
    assert response.json()["counts"]["failed"] == 0, response.text
    question = "我想準備日文檢定，但一個人讀不下去"
    for form in (question, "我想准备日文检定，但一个人读不下去"):
        hits = (await search(client, auth, q=form, tags=unique, limit=5)).json()["hits"]
        assert hits[0]["title"] == "日檢 N3 文法與閱讀", [h["title"] for h in hits]
