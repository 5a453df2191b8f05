"""Recommendation quality on MovieLens, and recommendation speed over HTTP.

`daodao-ai bench recommend --data DIR [--out FILE]` takes a MovieLens-layout folder (`ratings.csv`,
`movies.csv`), starts a private stack, and loads it through the service's own APIs: movies as
items (title and genres as text), members, and each member's ratings split 80/20 at random with a
fixed seed, the 80 % sent as events (4 stars and up as `like`, the rest as `view`: every rating
is an implicit positive). It asks the service for every member's top 10 (seen items are excluded
by the service itself) and scores them against the held-out 20 % with binary relevance, next to
a most-popular and an item-kNN baseline computed from the same split in the same run.

Then what a 👎 does: for the first 100 members, the top item of their 20 is disliked, and the
item's 10 nearest neighbours (`/similar`) are counted in the 20 before and after.

Then, on the same server: cached recommendations against `/healthz` with wrk (requests/s, p50,
p99), the uncached latency at 10k items and 1k members, each request right after the member
acted (so their cached lists are retired and the answer is computed), and partner suggestions
(never cached) for 300 of 1k practices, a practice per member, half of them from 50 templates.
"""

from __future__ import annotations

import asyncio
import csv
import json
import math
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from scipy import sparse

from ai_backend.client import ingest, service_token
from ai_backend.config import Settings
from ai_backend.history.schemas import EARLIEST_EVENT
from bench.common import WRK_CONNECTIONS, WRK_SECONDS, print_table, write_result, wrk
from bench.stack import NO_RATE_LIMIT, running_stack

SEED = 42
TOP = 10
KNN_NEIGHBOURS = (20, 50, 100)
TARGET_VS_KNN = 1.05
TARGET_VS_POPULAR = 1.8
TARGET_RPS_RATIO = 0.8
TARGET_P99_RATIO = 1.5
TARGET_UNCACHED_P50_MS = 25.0
SIZE_ITEMS, SIZE_USERS = 10_000, 1_000
UNCACHED_REQUESTS = 300
DISLIKE_MEMBERS = 100
TARGET_DISLIKE_RATIO = 0.5
TEMPLATES = 50
TARGET_PARTNERS_P50_MS = 25.0


# -- the data and its split ------------------------------------------------------------------


def load_movielens(
    folder: Path,
) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str, float, int]]]:
    movies = {}
    with (folder / "movies.csv").open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            genres = [] if row["genres"] == "(no genres listed)" else row["genres"].split("|")
            movies[f"m{row['movieId']}"] = {"title": row["title"].strip(), "genres": genres}
    ratings = []
    with (folder / "ratings.csv").open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            ratings.append(
                (
                    f"ml{row['userId']}",
                    f"m{row['movieId']}",
                    float(row["rating"]),
                    int(row["timestamp"]),
                )
            )
    return movies, since_2000(ratings)


def since_2000(
    ratings: list[tuple[str, str, float, int]],
) -> list[tuple[str, str, float, int]]:
    """The service takes events from 2000-01-01 on, and MovieLens starts in 1996: every rating
    moves forward by the same amount, so their order and the gaps between them stay."""
    earliest = int(EARLIEST_EVENT.timestamp())
    shift = max(0, earliest - min((stamp for *_, stamp in ratings), default=earliest))
    return [(user, item, rating, stamp + shift) for user, item, rating, stamp in ratings]


def split(
    ratings: list[tuple[str, str, float, int]], seed: int = SEED
) -> tuple[dict[str, list[tuple[str, float, int]]], dict[str, set[str]]]:
    """Each member's ratings, shuffled with a fixed seed: 80 % to learn from, 20 % held out."""
    by_user: dict[str, list[tuple[str, float, int]]] = {}
    for user, item, rating, stamp in ratings:
        by_user.setdefault(user, []).append((item, rating, stamp))
    rng = np.random.default_rng(seed)
    train, test = {}, {}
    for user in sorted(by_user, key=lambda u: int(u[2:])):
        rows = sorted(by_user[user])
        order = rng.permutation(len(rows))
        cut = round(len(rows) * 0.8)
        train[user] = [rows[i] for i in order[:cut]]
        test[user] = {rows[i][0] for i in order[cut:]}
    return train, test


def scores(ranked: list[str], relevant: set[str]) -> tuple[float, float]:
    """NDCG@10 and Recall@10 (hits over all held-out items), binary relevance."""
    gains = [
        1.0 / math.log2(rank + 2) for rank, item in enumerate(ranked[:TOP]) if item in relevant
    ]
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(TOP, len(relevant))))
    hits = sum(1 for item in ranked[:TOP] if item in relevant)
    return (sum(gains) / ideal if ideal else 0.0), hits / len(relevant)


def evaluate(lists: dict[str, list[str]], test: dict[str, set[str]]) -> dict[str, float]:
    pairs = [scores(lists.get(u, []), relevant) for u, relevant in test.items() if relevant]
    return {
        "ndcg@10": round(float(np.mean([p[0] for p in pairs])), 4),
        "recall@10": round(float(np.mean([p[1] for p in pairs])), 4),
    }


def baselines(
    train: dict[str, list[tuple[str, float, int]]], test: dict[str, set[str]]
) -> dict[str, dict[str, float]]:
    """Most popular, and item-kNN (cosine on who-rated-what, top-k neighbours, best k)."""
    items = sorted({item for rows in train.values() for item, _, _ in rows})
    index = {item: i for i, item in enumerate(items)}
    users = sorted(train)
    cells = [(u, index[item]) for u, user in enumerate(users) for item, _, _ in train[user]]
    matrix = sparse.csr_matrix(
        (np.ones(len(cells), np.float32), ([c[0] for c in cells], [c[1] for c in cells])),
        shape=(len(users), len(items)),
    )
    counts = np.asarray(matrix.sum(axis=0)).ravel()

    def top(score: np.ndarray, user_row: int) -> list[str]:
        score = score.astype(np.float64)
        score[matrix[user_row].indices] = -np.inf
        best = np.argpartition(-score, TOP)[:TOP]
        return [items[i] for i in best[np.argsort(-score[best])]]

    results = {"popular": evaluate({u: top(counts.copy(), r) for r, u in enumerate(users)}, test)}
    gram = (matrix.T @ matrix).toarray()
    norms = np.sqrt(np.diag(gram))
    norms[norms == 0] = 1.0
    cosine = gram / norms[:, None] / norms[None, :]
    np.fill_diagonal(cosine, 0.0)
    best_knn: dict[str, Any] = {}
    for k in KNN_NEIGHBOURS:
        keep = np.argpartition(-cosine, k, axis=1)[:, :k]
        rows = np.repeat(np.arange(len(items)), k)
        neighbours = sparse.csr_matrix(
            (cosine[rows, keep.ravel()], (rows, keep.ravel())), shape=cosine.shape
        )
        predicted = (matrix @ neighbours).toarray()
        figures = evaluate({u: top(predicted[r], r) for r, u in enumerate(users)}, test)
        print(f"  item-kNN, k={k}: {figures}", flush=True)
        if not best_knn or figures["ndcg@10"] > best_knn["ndcg@10"]:
            best_knn = {**figures, "k": k}
    results["itemknn"] = best_knn
    return results


# -- loading through the API -----------------------------------------------------------------


def movie_items(movies: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": movie_id,
            "kind": "video",
            "title": movie["title"][:300],
            "description": "Genres: " + ", ".join(movie["genres"]),
            "tags": [g.lower() for g in movie["genres"]],
            "category": "movie",
            "language": "en",
        }
        for movie_id, movie in movies.items()
    ]


def as_events(user: str, rows: list[tuple[str, float, int]]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{user}-{item}",
            "user_id": user,
            "item_id": item,
            "type": "like" if rating >= 4.0 else "view",
            "occurred_at": datetime.fromtimestamp(stamp, UTC).isoformat(),
        }
        for item, rating, stamp in rows
    ]


async def put_users(client: httpx.AsyncClient, users: list[str], in_flight: int = 8) -> None:
    slots = asyncio.Semaphore(in_flight)

    async def put(user: str) -> None:
        async with slots:
            response = await client.put(f"/v1/users/{user}", json={"display_name": user})
            response.raise_for_status()

    await asyncio.gather(*(put(u) for u in users))


async def post_events(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 1000):
        response = await client.post("/v1/events", json={"events": events[start : start + 1000]})
        if response.status_code != 200:
            raise RuntimeError(f"POST /v1/events: {response.status_code} {response.text[:300]}")


async def service_lists(client: httpx.AsyncClient, users: list[str]) -> dict[str, list[str]]:
    slots = asyncio.Semaphore(4)
    lists: dict[str, list[str]] = {}

    async def ask(user: str) -> None:
        async with slots:
            response = await client.get(f"/v1/users/{user}/recommendations", params={"limit": TOP})
            response.raise_for_status()
            lists[user] = [entry["id"] for entry in response.json()["items"]]

    await asyncio.gather(*(ask(u) for u in users))
    return lists


# -- speed -----------------------------------------------------------------------------------


async def grow_to_size(
    client: httpx.AsyncClient,
    movies: dict[str, dict[str, Any]],
    train: dict[str, list[tuple[str, float, int]]],
) -> list[str]:
    """Top the catalogue up to 10k items and 1k members, the new members with histories drawn
    from the real ones; return the ids of every member."""
    extra_items = [
        {
            "id": f"x{n}",
            "kind": "article",
            "title": f"Study notes {n}",
            "description": "Notes on "
            + ", ".join(
                random.Random(n).sample(
                    sorted({g for m in movies.values() for g in m["genres"]}), 2
                )
            ),
            "language": "en",
        }
        for n in range(max(0, SIZE_ITEMS - len(movies)))
    ]
    if extra_items:
        await ingest(client, extra_items)
    existing = sorted(train)
    new_users = [f"syn{n}" for n in range(max(0, SIZE_USERS - len(existing)))]
    await put_users(client, new_users)
    rng = random.Random(SEED)
    events = []
    for user in new_users:
        template = train[rng.choice(existing)]
        rows = rng.sample(template, max(1, len(template) // 2))
        events += as_events(user, rows)
    await post_events(client, events)
    return existing + new_users


async def uncached_latency(client: httpx.AsyncClient, users: list[str]) -> dict[str, float]:
    """Each request right after the member acted: their cached lists are retired by the event."""
    rng = random.Random(SEED)
    timings = []
    item_ids = [f"x{n}" for n in range(200)]
    for n in range(UNCACHED_REQUESTS):
        user = rng.choice(users)
        event = {
            "id": f"bench-{n}",
            "user_id": user,
            "item_id": rng.choice(item_ids),
            "type": "view",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        (await client.post("/v1/events", json={"events": [event]})).raise_for_status()
        started = time.perf_counter()
        response = await client.get(f"/v1/users/{user}/recommendations", params={"limit": TOP})
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        if response.json()["cache"] != "miss":
            raise RuntimeError("an uncached request was served from the cache")
    timings.sort()
    return {
        "p50_ms": round(timings[len(timings) // 2], 2),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 2),
    }


async def top(client: httpx.AsyncClient, user: str, limit: int) -> list[str]:
    response = await client.get(f"/v1/users/{user}/recommendations", params={"limit": limit})
    response.raise_for_status()
    return [entry["id"] for entry in response.json()["items"]]


async def dislike_effect(client: httpx.AsyncClient, users: list[str]) -> dict[str, Any]:
    """How often the 10 nearest neighbours of a disliked item are in the member's 20, before
    the dislike and right after."""
    before_total = after_total = 0
    for user in users:
        before = await top(client, user, 20)
        if not before:
            continue
        disliked = before[0]
        response = await client.get(f"/v1/items/{disliked}/similar", params={"limit": 10})
        neighbours = {hit["id"] for hit in response.json()["hits"]}
        before_total += len(neighbours & set(before))
        event = {
            "id": f"dislike-{user}",
            "user_id": user,
            "item_id": disliked,
            "type": "dislike",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        (await client.post("/v1/events", json={"events": [event]})).raise_for_status()
        after_total += len(neighbours & set(await top(client, user, 20)))
    return {
        "members": len(users),
        "neighbours_before": before_total,
        "neighbours_after": after_total,
        "ratio": round(after_total / before_total, 3) if before_total else None,
        "target_ratio": TARGET_DISLIKE_RATIO,
    }


async def partner_latency(
    client: httpx.AsyncClient, users: list[str], movies: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A practice per member (half from one of 50 templates), then partners for 300 of them."""
    genres = sorted({g for m in movies.values() for g in m["genres"]} - {"(no genres listed)"})
    rng = random.Random(SEED)
    slots = asyncio.Semaphore(8)

    async def setup(n: int, user: str) -> None:
        first, second = rng.sample(genres, 2)
        profile = {"display_name": user, "interests": [first.lower(), second.lower()]}
        practice = {
            "owner_id": user,
            "title": f"A {first} and {second} film a day",
            "practice_action": f"Watch one {first.lower()} film and note what worked",
            "tags": [first.lower(), second.lower()],
            "duration_days": 30,
            "status": "active",
            "privacy": "public",
            "template_id": f"tpl-{n % TEMPLATES}" if n % 2 == 0 else None,
        }
        async with slots:
            (await client.put(f"/v1/users/{user}", json=profile)).raise_for_status()
            (await client.put(f"/v1/practices/bp-{n}", json=practice)).raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(setup(n, u) for n, u in enumerate(users)))
    print(f"  {len(users)} practices written ({time.perf_counter() - started:.0f} s)", flush=True)
    timings, found = [], 0
    for _ in range(UNCACHED_REQUESTS):
        practice = f"bp-{rng.randrange(len(users))}"
        started = time.perf_counter()
        response = await client.get(f"/v1/practices/{practice}/partners", params={"limit": 10})
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        found += len(response.json()["partners"])
    timings.sort()
    return {
        "practices": len(users),
        "p50_ms": round(timings[len(timings) // 2], 2),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 2),
        "partners_per_answer": round(found / UNCACHED_REQUESTS, 1),
        "target_p50_ms": TARGET_PARTNERS_P50_MS,
    }


# -- the run ---------------------------------------------------------------------------------


def run(folder: Path, out: Path | None = None) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `make tools` installs it (Debian package wrk)")
    movies, ratings = load_movielens(folder)
    train, test = split(ratings)
    print(f"  {len(movies)} items, {len(train)} members, {len(ratings)} ratings", flush=True)
    reference = baselines(train, test)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="daodao-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        with running_stack(data_dir, env={"LOAD_DEMO_DATA": "false", **NO_RATE_LIMIT}) as stack:
            token = service_token(Settings(data_dir=data_dir), ["read", "write", "admin"])
            header = f"Authorization: Bearer {token}"

            async def go() -> dict[str, Any]:
                async with httpx.AsyncClient(
                    base_url=stack.api_url,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=httpx.Timeout(900, connect=5),
                ) as client:
                    started = time.perf_counter()
                    report = await ingest(client, movie_items(movies))
                    print(
                        f"  items loaded: {report.counts} ({time.perf_counter() - started:.0f} s)",
                        flush=True,
                    )
                    await put_users(client, sorted(train))
                    await post_events(
                        client, [e for u, rows in train.items() for e in as_events(u, rows)]
                    )
                    trained = (await client.post("/v1/admin/recommender/train")).json()
                    print(f"  model: {trained}", flush=True)
                    started = time.perf_counter()
                    lists = await service_lists(client, sorted(train))
                    asked = time.perf_counter() - started
                    service = evaluate(lists, test)
                    print(
                        f"  service: {service} ({len(lists)} members in {asked:.0f} s)", flush=True
                    )
                    dislike = await dislike_effect(client, sorted(train)[:DISLIKE_MEMBERS])
                    print(f"  dislike: {dislike}", flush=True)

                    users = await grow_to_size(client, movies, train)
                    await client.post("/v1/admin/recommender/train")
                    uncached = await uncached_latency(client, users)
                    partners = await partner_latency(client, users, movies)
                    print(f"  partners: {partners}", flush=True)
                    warm = users[:200]
                    await service_lists(client, warm)
                    return {
                        "service": service,
                        "model": trained,
                        "uncached": uncached,
                        "dislike": dislike,
                        "partners": partners,
                        "warm": warm,
                    }

            measured = asyncio.run(go())
            healthz = wrk(f"{stack.api_url}/healthz")
            paths = [f"/v1/users/{u}/recommendations?limit={TOP}" for u in measured["warm"]]
            cached = wrk(stack.api_url, header=header, paths=paths)
            healthz_again = wrk(f"{stack.api_url}/healthz")
    service = measured["service"]
    popular, knn = reference["popular"], reference["itemknn"]
    base = {
        "rps": round((healthz["rps"] + healthz_again["rps"]) / 2),
        "p50_ms": round((healthz["p50_ms"] + healthz_again["p50_ms"]) / 2, 3),
        "p99_ms": round((healthz["p99_ms"] + healthz_again["p99_ms"]) / 2, 3),
    }
    result = {
        "dataset": folder.name,
        "seed": SEED,
        "service": service,
        "popular": popular,
        "itemknn": knn,
        "vs_itemknn": round(service["ndcg@10"] / knn["ndcg@10"], 3),
        "vs_popular": round(service["ndcg@10"] / popular["ndcg@10"], 3),
        "model": measured["model"],
        "http": {
            "healthz": base,
            "cached_recommendations": cached,
            "rps_ratio": round(cached["rps"] / base["rps"], 3),
            "p99_ratio": round(cached["p99_ms"] / base["p99_ms"], 3),
            "wrk": f"1 thread, {WRK_CONNECTIONS} connections, {WRK_SECONDS} s each",
        },
        "uncached": {"items": SIZE_ITEMS, "members": SIZE_USERS, **measured["uncached"]},
        "dislike": measured["dislike"],
        "partners": measured["partners"],
        "targets": {
            "vs_itemknn": TARGET_VS_KNN,
            "vs_popular": TARGET_VS_POPULAR,
            "rps_ratio": TARGET_RPS_RATIO,
            "p99_ratio": TARGET_P99_RATIO,
            "uncached_p50_ms": TARGET_UNCACHED_P50_MS,
        },
    }
    rows = [
        {"ranker": name, **figures}
        for name, figures in (("service", service), ("popular", popular), ("item-kNN", knn))
    ]
    print_table(f"MovieLens ({folder.name}), random 80/20 per member, seed {SEED}", rows)
    print(
        f"\nservice / item-kNN: {result['vs_itemknn']} (target >= {TARGET_VS_KNN}); "
        f"service / popular: {result['vs_popular']} (target >= {TARGET_VS_POPULAR})"
    )
    print_table(
        "cached recommendations vs /healthz, same server, same run (wrk)",
        [{"route": "/healthz", **base}, {"route": "recommendations (cached)", **cached}],
    )
    print(
        f"\nrequests/s ratio {result['http']['rps_ratio']} (target >= {TARGET_RPS_RATIO}); "
        f"p99 ratio {result['http']['p99_ratio']} (target <= {TARGET_P99_RATIO})"
    )
    print(
        f"uncached at {SIZE_ITEMS} items / {SIZE_USERS} members: {measured['uncached']} "
        f"(target p50 <= {TARGET_UNCACHED_P50_MS} ms)"
    )
    print(
        f"a disliked item's 10 neighbours in the next 20: {measured['dislike']} "
        f"(target ratio <= {TARGET_DISLIKE_RATIO})"
    )
    print(
        f"partners, uncached, {SIZE_USERS} members: {measured['partners']} "
        f"(target p50 <= {TARGET_PARTNERS_P50_MS} ms)"
    )
    path = write_result("recommend", [], **result)
    print(f"wrote {path}")
    if out is not None:
        out.write_text(json.dumps(result, indent=2))
    return result
