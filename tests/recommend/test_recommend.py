"""Recommendations through the HTTP API, on the real PostgreSQL, Valkey and Qdrant Edge."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import opencc
import pytest
from fastapi import FastAPI

from ai_backend.app import sync_indexes
from ai_backend.history import repository as histories
from ai_backend.history.actions import Action, History
from ai_backend.infra.cache import make_redis
from ai_backend.infra.embedded import EmbeddedValkey
from ai_backend.infra.embedder import Embedder
from ai_backend.recommend.cache import RecommendationCache
from ai_backend.recommend.model import Interaction, _ease, _popularity
from ai_backend.recommend.sources import member_weights
from tests.conftest import TimedASGITransport
from tests.eventually import eventually
from tests.stack import Stack, open_stack

TO_TAIWAN = opencc.OpenCC("s2tw")

Auth = Callable[..., dict[str, str]]
TOPICS = ["pottery", "astronomy", "knitting", "chess", "beekeeping", "calligraphy"]


def stamp(days_ago: float = 0.0) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


async def put_user(client: httpx.AsyncClient, auth: Auth, user_id: str, **profile: Any) -> None:
    body = {"display_name": user_id, **profile}
    response = await client.put(f"/v1/users/{user_id}", json=body, headers=auth("write"))
    assert response.status_code in (200, 201), response.text


async def put_items(client: httpx.AsyncClient, auth: Auth, items: list[dict[str, Any]]) -> None:
    response = await client.post("/v1/items:batch", json={"items": items}, headers=auth("write"))
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["failed"] == 0, response.text


async def post_events(
    client: httpx.AsyncClient, auth: Auth, events: list[dict[str, Any]]
) -> httpx.Response:
    return await client.post("/v1/events", json={"events": events}, headers=auth("write"))


def event(
    event_id: str, user: str, item: str, kind: str = "view", days_ago: float = 0
) -> dict[str, Any]:
    return {
        "id": event_id,
        "user_id": user,
        "item_id": item,
        "type": kind,
        "occurred_at": stamp(days_ago),
    }


async def recommend(
    client: httpx.AsyncClient, auth: Auth, user: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/users/{user}/recommendations", params=params, headers=auth("read")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(page: dict[str, Any]) -> list[str]:
    return [entry["id"] for entry in page["items"]]


async def topic_catalogue(
    client: httpx.AsyncClient, auth: Auth, marker: str, per_topic: int = 4
) -> dict[str, list[str]]:
    """Items in several topics, each topic's items sharing a tag and words."""
    by_topic: dict[str, list[str]] = {}
    items = []
    for topic in TOPICS:
        for n in range(per_topic):
            item_id = f"{marker}-{topic}-{n}"
            by_topic.setdefault(topic, []).append(item_id)
            items.append(
                {
                    "id": item_id,
                    "kind": "course" if n % 2 else "book",
                    "title": f"{topic.title()} {marker} lesson {n}",
                    "description": f"A {topic} course about {topic} technique, part {n}.",
                    "tags": [f"{topic}{marker}"],
                    "language": "en",
                }
            )
    await put_items(client, auth, items)
    return by_topic


# -- events ----------------------------------------------------------------------------------


async def test_events_are_idempotent_by_id(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    await put_user(client, auth, f"u-{unique}")
    await put_items(client, auth, [{"id": f"i-{unique}", "kind": "book", "title": "A book"}])
    batch = [
        event(f"e1-{unique}", f"u-{unique}", f"i-{unique}"),
        event(f"e2-{unique}", f"u-{unique}", f"i-{unique}", "like"),
    ]
    first = await post_events(client, auth, batch)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 2, "created": 2, "duplicates": 0}
    again = await post_events(client, auth, [*batch, batch[0]])
    assert again.json() == {"received": 3, "created": 0, "duplicates": 3}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"type": "purchase"}, "events.0.type"),
        ({"occurred_at": "2026-01-01T10:00:00"}, "events.0.occurred_at"),
        ({"item_id": ""}, "events.0.item_id"),
        ({"extra": 1}, "events.0.extra"),
    ],
)
async def test_malformed_events_are_rejected_whole(
    client: httpx.AsyncClient, auth: Auth, unique: str, change: dict[str, Any], fragment: str
) -> None:
    await put_user(client, auth, f"u-{unique}")
    await put_items(client, auth, [{"id": f"i-{unique}", "kind": "book", "title": "A book"}])
    good = event(f"ok-{unique}", f"u-{unique}", f"i-{unique}")
    bad = {**event(f"bad-{unique}", f"u-{unique}", f"i-{unique}"), **change}
    response = await post_events(client, auth, [bad, good])
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(f"body.{fragment}")
    # Nothing of the batch was stored: the good event is new when sent alone.
    alone = await post_events(client, auth, [good])
    assert alone.json()["created"] == 1


async def test_unknown_references_reject_the_batch(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    await put_user(client, auth, f"u-{unique}")
    await put_items(client, auth, [{"id": f"i-{unique}", "kind": "book", "title": "A book"}])
    good = event(f"ok-{unique}", f"u-{unique}", f"i-{unique}")
    response = await post_events(
        client, auth, [good, event(f"x-{unique}", f"nobody-{unique}", f"nothing-{unique}")]
    )
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert f"unknown user_id: 'nobody-{unique}'" in message
    assert f"unknown item_id: 'nothing-{unique}'" in message
    assert (await post_events(client, auth, [good])).json()["created"] == 1


async def test_event_batch_limits(client: httpx.AsyncClient, auth: Auth) -> None:
    assert (await post_events(client, auth, [])).status_code == 422
    many = [event(f"e{i}", "u", "i") for i in range(1001)]
    assert (await post_events(client, auth, many)).status_code == 422
    response = await client.post("/v1/events", json={"events": []}, headers=auth("read"))
    assert response.status_code == 403


# -- recommendations of items ------------------------------------------------------------


async def test_hide_and_dislike_apply_to_the_very_next_response(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    topics = await topic_catalogue(client, auth, unique)
    user = f"u-{unique}"
    await put_user(client, auth, user, interests=[f"pottery{unique}"])
    first = await recommend(client, auth, user, limit=5)
    assert first["cache"] == "miss"
    assert not first["degraded"]
    cached = await recommend(client, auth, user, limit=5)
    assert cached["cache"] == "hit"
    assert ids(cached) == ids(first)

    top = ids(cached)[0]
    assert top in topics["pottery"]
    response = await post_events(client, auth, [event(f"h-{unique}", user, top, "hide")])
    assert response.status_code == 200
    after_hide = await recommend(client, auth, user, limit=5)
    assert after_hide["cache"] == "miss", "an action retires the member's cached lists"
    assert top not in ids(after_hide)

    second = ids(after_hide)[0]
    await post_events(client, auth, [event(f"d-{unique}", user, second, "dislike")])
    after_dislike = await recommend(client, auth, user, limit=5)
    assert {top, second}.isdisjoint(ids(after_dislike))
    # For good: the exclusions hold on every later list, cached or not.
    again = await recommend(client, auth, user, limit=5)
    assert again["cache"] == "hit"
    assert {top, second}.isdisjoint(ids(again))


async def test_seen_items_and_exclude_ids_never_come_back(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    topics = await topic_catalogue(client, auth, unique)
    user = f"u-{unique}"
    await put_user(client, auth, user)
    seen = topics["astronomy"][:2]
    await post_events(
        client,
        auth,
        [event(f"v{n}-{unique}", user, item, "complete") for n, item in enumerate(seen)],
    )
    page = await recommend(client, auth, user, limit=20)
    assert page["items"], "a member with history gets recommendations"
    assert set(seen).isdisjoint(ids(page))
    # Content: the rest of the topic the member completed comes first.
    assert ids(page)[0] in topics["astronomy"][2:]

    excluded = topics["astronomy"][2:]
    body = {"user_id": user, "limit": 20, "exclude_ids": excluded}
    response = await client.post("/v1/recommend", json=body, headers=auth("read"))
    assert response.status_code == 200
    assert set(excluded + seen).isdisjoint(ids(response.json()))
    # Repeated and comma-separated forms of the query parameter both work.
    page = await recommend(
        client, auth, user, limit=20, exclude_ids=[",".join(excluded[:1]), excluded[1]]
    )
    assert set(excluded).isdisjoint(ids(page))


async def test_kind_filter_and_private_items(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    await topic_catalogue(client, auth, unique)
    user = f"u-{unique}"
    await put_user(client, auth, user, interests=[f"chess{unique}"])
    books = await recommend(client, auth, user, limit=10, kind="book")
    assert books["items"]
    assert {entry["kind"] for entry in books["items"]} == {"book"}

    hidden = ids(books)[0]
    item = {"kind": "book", "title": f"Chess {unique} lesson", "visibility": "private"}
    assert (
        await client.put(f"/v1/items/{hidden}", json=item, headers=auth("write"))
    ).status_code == 200
    after = await recommend(client, auth, user, limit=10, kind="book")
    assert hidden not in ids(after), "a private item leaves every cached list at once"
    assert after["cache"] == "miss"


async def test_cold_start_member_gets_results_from_their_profile(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    topics = await topic_catalogue(client, auth, unique)
    # Make another topic the popular one, so "popular" alone would point elsewhere.
    fan = f"fan-{unique}"
    await put_user(client, auth, fan)
    await post_events(
        client,
        auth,
        [event(f"p{n}-{unique}", fan, i, "like") for n, i in enumerate(topics["knitting"])],
    )
    user = f"u-{unique}"
    await put_user(
        client, auth, user, interests=[f"beekeeping{unique}"], professional_field="apiculture"
    )
    page = await recommend(client, auth, user, limit=4)
    assert set(ids(page)) == set(topics["beekeeping"])
    for entry in page["items"]:
        codes = {reason["code"] for reason in entry["reasons"]}
        assert "interest" in codes, entry
        assert "popular" not in codes


async def test_reasons_name_real_items(client: httpx.AsyncClient, auth: Auth, unique: str) -> None:
    topics = await topic_catalogue(client, auth, unique)
    # Members who completed calligraphy 0 went on to pottery 3: the collaborative signal.
    events = []
    for n in range(12):
        member = f"m{n}-{unique}"
        await put_user(client, auth, member)
        events += [
            event(f"a{n}-{unique}", member, topics["calligraphy"][0], "complete", 2),
            event(f"b{n}-{unique}", member, topics["pottery"][3], "complete", 1),
        ]
    await post_events(client, auth, events)
    trained = await client.post("/v1/admin/recommender/train", headers=auth("admin"))
    assert trained.status_code == 200, trained.text
    assert trained.json()["items"] >= 2

    user = f"u-{unique}"
    await put_user(client, auth, user)
    await post_events(
        client, auth, [event(f"c-{unique}", user, topics["calligraphy"][0], "complete")]
    )
    page = await recommend(client, auth, user, limit=5)
    assert topics["pottery"][3] in ids(page)
    entry = next(e for e in page["items"] if e["id"] == topics["pottery"][3])
    collaborative = [r for r in entry["reasons"] if r["code"] == "collaborative"]
    assert collaborative, entry
    assert collaborative[0]["ref"] == topics["calligraphy"][0]
    assert "Calligraphy" in collaborative[0]["detail"]
    for entry in page["items"]:
        assert entry["reasons"], entry
        for reason in entry["reasons"]:
            if reason["code"] == "similar_to":
                got = await client.get(f"/v1/items/{reason['ref']}", headers=auth("read"))
                assert got.status_code == 200
                assert got.json()["title"] in reason["detail"]


QUOTED = re.compile(r"「[^」]*」|“[^”]*”")
HAN = re.compile(r"[\u4e00-\u9fff]")


def worded_in(detail: str, locale: str) -> bool:
    """Whether a reason reads in the locale, leaving aside the titles it quotes."""
    words = QUOTED.sub("", detail)
    if locale == "en":
        return not HAN.search(words) and "「" not in detail
    return bool(HAN.search(words)) and TO_TAIWAN.convert(words) == words


async def test_reasons_speak_the_members_language(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    topics = await topic_catalogue(client, auth, unique)
    for locale in ("zh-TW", "en"):
        user = f"{locale}-{unique}"
        await put_user(client, auth, user, locale=locale, interests=[f"pottery{unique}"])
        await post_events(
            client, auth, [event(f"e-{locale}-{unique}", user, topics["calligraphy"][0], "like")]
        )
    pages = {
        "zh-TW": await recommend(client, auth, f"zh-TW-{unique}"),
        "en": await recommend(client, auth, f"en-{unique}"),
        # An explicit locale overrides the profile's, and is a cache entry of its own.
        "en-asked": await recommend(client, auth, f"zh-TW-{unique}", locale="en"),
        "zh-asked": await recommend(client, auth, f"en-{unique}", locale="zh-TW"),
    }
    for name, page in pages.items():
        locale = "en" if name.startswith("en") else "zh-TW"
        details = [r["detail"] for entry in page["items"] for r in entry["reasons"]]
        assert details, name
        assert all(worded_in(d, locale) for d in details), (name, details)
    codes = [[r["code"] for r in e["reasons"]] for e in pages["zh-TW"]["items"]]
    assert codes == [[r["code"] for r in e["reasons"]] for e in pages["en-asked"]["items"]]
    bad = await client.get(
        f"/v1/users/en-{unique}/recommendations", params={"locale": "fr"}, headers=auth("read")
    )
    assert bad.status_code == 422
    assert "locale" in bad.json()["error"]["message"]


def test_similar_to_needs_a_shared_tag_or_category_and_a_close_vector() -> None:
    from ai_backend.infra.vector_index import StoredPoint
    from ai_backend.recommend.explain import SIMILAR_TO_MIN, similar_to
    from ai_backend.recommend.reasons import Phrases

    def point(key: str, vector: list[float], **payload: Any) -> StoredPoint:
        return StoredPoint(key=key, payload={"title": key, **payload}, vector=vector)

    near = [1.0, 0.02, 0.0]
    far = [1.0, 0.6, 0.6]
    assert float(np.dot(near, [1, 0, 0]) / np.linalg.norm(near)) >= SIMILAR_TO_MIN
    assert float(np.dot(far, [1, 0, 0]) / np.linalg.norm(far)) < SIMILAR_TO_MIN
    candidate = point("德語 A1", [1.0, 0.0, 0.0], tags=["德語"], category="language")
    phrases = Phrases("zh-TW")
    unrelated = {"UX": point("UX 研究", near, tags=["ux"], category="design")}
    assert similar_to(candidate, unrelated, phrases) is None
    distant = {"B1": point("德語 B1", far, tags=["德語"])}
    assert similar_to(candidate, distant, phrases) is None
    practices = {"p": point("德語練習", near, kind="practice", category="practice")}
    practice = point("每天讀書", [1.0, 0.0, 0.0], kind="practice", category="practice")
    assert similar_to(practice, practices, phrases) is None
    related = {"B1": point("德語 B1", near, tags=["德語"]), **unrelated}
    reason = similar_to(candidate, related, phrases)
    assert reason is not None
    assert (reason.ref, reason.detail) == ("B1", "和你學過的「德語 B1」很像")


# -- people ----------------------------------------------------------------------------------


async def test_people_share_interests_and_never_include_self_or_hidden_members(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    interest = f"origami{unique}"
    me = f"me-{unique}"
    await put_user(client, auth, me, interests=[interest, "folding"], bio="I fold paper cranes.")
    await put_user(client, auth, f"peer-{unique}", interests=[interest], bio="Paper folding.")
    await put_user(
        client, auth, f"shy-{unique}", interests=[interest], bio="Paper.", discoverable=False
    )
    await put_user(client, auth, f"other-{unique}", interests=["rowing"], bio="I row boats.")
    page = await recommend(client, auth, me, target="people", limit=50)
    found = ids(page)
    assert f"peer-{unique}" in found
    assert me not in found
    assert f"shy-{unique}" not in found
    peer = next(e for e in page["items"] if e["id"] == f"peer-{unique}")
    assert peer["kind"] == "person"
    interest_reasons = [r for r in peer["reasons"] if r["code"] == "interest"]
    assert interest_reasons
    assert interest in interest_reasons[0]["detail"]
    others = [e["score"] for e in page["items"] if e["id"] == f"other-{unique}"]
    assert all(peer["score"] > score for score in others)


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"limit": 0}, 422, "query.limit"),
        ({"limit": 101}, 422, "query.limit"),
        ({"target": "groups"}, 422, "query.target"),
        ({"kind": "podcast"}, 422, "query.kind"),
        ({"target": "people", "kind": "book"}, 422, "kind: applies to target=items only"),
        ({"exclude_ids": ",".join(f"x{i}" for i in range(501))}, 422, "exclude_ids"),
        ({"exclude_ids": "bad id!"}, 422, "query.exclude_ids"),
    ],
)
async def test_bad_recommendation_requests(
    client: httpx.AsyncClient,
    auth: Auth,
    unique: str,
    params: dict[str, Any],
    status: int,
    fragment: str,
) -> None:
    await put_user(client, auth, f"u-{unique}")
    response = await client.get(
        f"/v1/users/u-{unique}/recommendations", params=params, headers=auth("read")
    )
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["message"]


async def test_unknown_user_is_404_and_the_body_route_validates(
    client: httpx.AsyncClient, auth: Auth, unique: str
) -> None:
    response = await client.get(f"/v1/users/nobody-{unique}/recommendations", headers=auth("read"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_user"
    response = await client.post(
        "/v1/recommend", json={"user_id": "u", "limit": 1000}, headers=auth("read")
    )
    assert response.status_code == 422
    response = await client.post("/v1/recommend", json={"user_id": "u"}, headers=auth())
    assert response.status_code == 403


# -- the model -------------------------------------------------------------------------------


def test_training_and_ranking_weigh_an_action_the_same() -> None:
    # Popularity (trained for everyone) and a member's own weights (at ranking) both decay an
    # action over the time before the newest one: written once, they cannot drift apart.
    newest = datetime(2026, 12, 1, tzinfo=UTC)
    actions = [
        Action("a", "like", newest),
        Action("b", "view", newest - timedelta(days=30)),  # one half-life: 3/4 of its weight
        Action("c", "complete", newest - timedelta(days=3000)),  # long ago: half, not nothing
        Action("a", "checkin", newest - timedelta(days=30)),
    ]
    ranked = member_weights(History(actions, frozenset()), half_life_days=30)
    trained = _popularity(
        [Interaction("u", a.item_id, a.type, a.occurred_at, "book") for a in actions],
        half_life_days=30,
    )
    assert ranked == pytest.approx({"a": 2.0 + 2.0 * 0.75, "b": 0.75, "c": 1.5}, abs=1e-3)
    assert dict(zip(trained[0], trained[1], strict=True)) == pytest.approx(ranked)


def test_ease_matches_its_closed_form() -> None:
    from scipy import sparse

    rng = np.random.default_rng(7)
    dense = (rng.random((40, 12)) < 0.3).astype(np.float32)
    weights = _ease(sparse.csr_matrix(dense), 5.0)
    inverse = np.linalg.inv(dense.T @ dense + 5.0 * np.eye(12))
    expected = -inverse / np.diag(inverse)
    np.fill_diagonal(expected, 0.0)
    assert np.allclose(weights, expected, atol=1e-4)


# -- the cache on a private stack: stale-while-revalidate, then Redis down and back ---------


@pytest.fixture
async def private(
    tmp_path: Path, embedder: Embedder
) -> AsyncIterator[tuple[FastAPI, EmbeddedValkey]]:
    # Cache timings are what these tests watch: start after the start-up index sync, which
    # retires cached answers when it indexes anything.
    timings = {"reco_fresh_seconds": 1, "reco_ttl_seconds": 120}
    async with open_stack(tmp_path, embedder, after_index_sync=True, **timings) as stack:
        yield stack.app, stack.valkey


async def poll(
    fetch: Callable[[], Any], done: Callable[[dict[str, Any]], bool], *, within: float, what: str
) -> dict[str, Any]:
    """The first page `fetch` returns that is `done`."""

    async def probe() -> dict[str, Any] | None:
        page: dict[str, Any] = await fetch()
        return page if done(page) else None

    return await eventually(probe, within=within, what=what)


async def test_stale_while_revalidate_and_redis_outage(
    private: tuple[FastAPI, EmbeddedValkey], auth: Auth, unique: str
) -> None:
    app, valkey = private
    transport = TimedASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        topics = await topic_catalogue(client, auth, unique)
        user = f"u-{unique}"
        await put_user(client, auth, user, interests=[f"pottery{unique}"])

        def fetch() -> Any:
            return recommend(client, auth, user, limit=3)

        first = await fetch()
        assert first["cache"] == "miss"
        # Once the entry is older than RECO_FRESH_SECONDS it is served stale, unchanged...
        stale = await poll(fetch, lambda p: p["cache"] == "stale", within=10, what="stale")
        assert ids(stale) == ids(first)
        assert stale["generated_at"] == first["generated_at"]
        # ...while a background task recomputes it; the next answers are fresh hits.
        fresh = await poll(
            fetch,
            lambda p: p["cache"] == "hit" and p["generated_at"] > first["generated_at"],
            within=10,
            what="a refreshed entry",
        )
        assert ids(fresh)[0] in topics["pottery"]

        valkey.stop()
        # Within moments of the subscription dropping, answers are computed and degraded.
        down = await poll(fetch, lambda p: p["degraded"], within=10, what="degraded answers")
        assert down["cache"] == "miss"
        assert ids(down)[0] in topics["pottery"]
        hidden = ids(down)[0]
        # Actions still land while Redis is down, and apply at once.
        assert (
            await post_events(client, auth, [event(f"h-{unique}", user, hidden, "hide")])
        ).status_code == 200
        assert hidden not in ids(await fetch())
        people = await recommend(client, auth, user, target="people")
        assert people["degraded"] is True

        valkey.start()
        # Recovery needs no restart; entries from before the outage are never served.
        back = await poll(
            fetch, lambda p: not p["degraded"], within=15, what="the cache to come back"
        )
        assert hidden not in ids(back)
        cached = await poll(fetch, lambda p: p["cache"] == "hit", within=10, what="a hit")
        assert hidden not in ids(cached)


# -- the local tier across processes ---------------------------------------------------------


async def test_local_tiers_follow_invalidations_from_other_processes(
    redis_url: str, unique: str
) -> None:
    def cache() -> RecommendationCache:
        return RecommendationCache(
            make_redis(redis_url, max_connections=4),
            fresh_seconds=60,
            ttl_seconds=120,
            local_entries=100,
        )

    writer, reader = cache(), cache()
    writer.start()
    reader.start()
    try:
        for tier in (writer, reader):
            await eventually(
                lambda t=tier: t.local.enabled, within=5, every=0.02, what="the subscription"
            )
        lookup = await reader.lookup(unique, "k")
        assert lookup.entry is None
        await reader.store(unique, "k", lookup, b'"items":[]')
        assert reader.local.get(unique, "k") is not None
        assert (await reader.lookup(unique, "k")).entry is not None

        # Another process records an action: this process's copy goes at once.
        await writer.invalidate([unique])
        await eventually(
            lambda: reader.local.get(unique, "k") is None,
            within=5,
            every=0.02,
            what="the local entry to go",
        )
        assert (await reader.lookup(unique, "k")).entry is None

        # A list computed under the old token and stored late is never served.
        late = await reader.lookup(unique, "k")
        await writer.invalidate([unique])
        await eventually(
            lambda: reader.local._latest.get(unique) is not None,
            within=5,
            every=0.02,
            what="the token",
        )
        await reader.store(unique, "k", late, b'"items":[]')
        assert reader.local.get(unique, "k") is None
        assert (await reader.lookup(unique, "k")).entry is None
    finally:
        for tier in (writer, reader):
            await tier.close()
            await tier.redis.aclose()


async def test_cached_answers_before_routing_keep_every_check(
    client: httpx.AsyncClient, auth: Auth, unique: str, token: Callable[..., str]
) -> None:
    await topic_catalogue(client, auth, unique)
    user = f"u-{unique}"
    await put_user(client, auth, user, interests=[f"chess{unique}"])
    path = f"/v1/users/{user}/recommendations"
    first = await client.get(path, params={"limit": 3}, headers=auth("read"))
    hit = await client.get(
        path, params={"limit": 3}, headers={**auth("read"), "X-Request-ID": "r-1"}
    )
    assert hit.json()["cache"] == "hit"
    assert hit.json()["items"] == first.json()["items"]
    assert hit.headers["x-request-id"] == "r-1"
    assert hit.headers["content-type"] == "application/json"
    # The same cached list, asked without a token, with the wrong scope or a bad parameter.
    assert (await client.get(path, params={"limit": 3})).status_code == 401
    wrong = {"Authorization": f"Bearer {token('write')}"}
    assert (await client.get(path, params={"limit": 3}, headers=wrong)).status_code == 403
    bad = await client.get(path, params={"limit": 3, "kind": "podcast"}, headers=auth("read"))
    assert bad.status_code == 422
    forged = {"Authorization": f"Bearer {token('read')[:-2]}xx"}
    assert (await client.get(path, params={"limit": 3}, headers=forged)).status_code == 401

    def hits(metrics: str) -> float:
        line = 'daodao_recommendation_answers_total{state="hit"} '
        return sum(float(row[len(line) :]) for row in metrics.splitlines() if row.startswith(line))

    before = hits((await client.get("/metrics")).text)
    await client.get(path, params={"limit": 3}, headers=auth("read"))
    assert hits((await client.get("/metrics")).text) == before + 1


async def test_checkins_count_as_history(
    client: httpx.AsyncClient, auth: Auth, app: FastAPI, unique: str
) -> None:

    owner, member = f"o-{unique}", f"u-{unique}"
    await put_user(client, auth, owner)
    await put_user(client, auth, member)
    practice = {"owner_id": owner, "title": f"Sketch {unique} daily", "duration_days": 30}
    response = await client.put(f"/v1/practices/p-{unique}", json=practice, headers=auth("write"))
    assert response.status_code == 201, response.text
    checkin = {"id": f"c-{unique}", "user_id": member, "date": "2026-11-01", "mood": "good"}
    response = await client.post(
        f"/v1/practices/p-{unique}/checkins", json=checkin, headers=auth("write")
    )
    assert response.status_code == 201, response.text
    async with app.state.resources.sessions() as session:
        history = await histories.history(session, member)
    assert [(a.item_id, a.type) for a in history.actions] == [(f"practice:p-{unique}", "checkin")]
    assert f"practice:p-{unique}" in history.excluded


async def test_filling_the_index_at_start_up_retires_cached_answers(
    stack: Stack, auth: Auth, unique: str
) -> None:
    # An answer computed while the start-up sync was still filling the index lacks the catalogue;
    # it must not be served as fresh once the index is full. Its own servers and index: emptying
    # the shared index would disturb tests running alongside.
    client, app = stack.client, stack.app
    await put_user(client, auth, f"u-{unique}", interests=["knitting"])
    knitting = {
        "id": f"k-{unique}",
        "kind": "course",
        "title": f"Knitting {unique}",
        "tags": ["knitting"],
    }
    await put_items(client, auth, [knitting])
    path = f"/v1/users/u-{unique}/recommendations"
    await client.get(path, headers=auth("read"))
    assert (await client.get(path, headers=auth("read"))).json()["cache"] == "hit"
    resources = app.state.resources
    await resources.index.clear()
    assert await sync_indexes(resources) >= 1
    assert (await client.get(path, headers=auth("read"))).json()["cache"] == "miss"
