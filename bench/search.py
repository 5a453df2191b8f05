"""Search quality and ingestion throughput on any BEIR-layout folder.

`daodao-ai bench search --data DIR --split NAME [--out FILE]` starts a private stack, measures the
embedding model's raw throughput, ingests the corpus through `POST /v1/items:batch`, then runs every
query in each mode through `GET /v1/search` and reports nDCG@10 and Recall@100, with the model
and the fusion that produced them. `make bench` runs it on every set in ../shared/data.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from ai_backend.client import ingest, service_token
from ai_backend.config import Settings
from ai_backend.db.points import item_text
from ai_backend.infra.embedder import DEFAULT_MODEL_NAME, Embedder
from ai_backend.resources import build_embedder
from bench.common import print_table, write_result
from bench.stack import running_stack

MODES = ("hybrid", "keyword", "semantic")
RAW_SAMPLE = 1000
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,54}$")


def load_beir(
    folder: Path, split: str
) -> tuple[dict[str, dict[str, str]], dict[str, str], dict[str, dict[str, int]]]:
    corpus = {}
    with (folder / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            corpus[str(doc["_id"])] = {
                "title": doc.get("title") or "",
                "text": doc.get("text") or "",
            }
    queries = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            query = json.loads(line)
            queries[str(query["_id"])] = query["text"]
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as lines:
        next(lines)  # header
        for line in lines:
            qid, did, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels.setdefault(qid, {})[did] = int(score)
    return corpus, {q: t for q, t in queries.items() if q in qrels}, qrels


def as_items(corpus: dict[str, dict[str, str]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Corpus documents as catalogue items; ids the API would refuse are mapped to safe ones."""
    items, back = [], {}
    for n, (doc_id, doc) in enumerate(corpus.items()):
        item_id = doc_id if _SAFE_ID.match(doc_id) else f"doc-{n}"
        back[item_id] = doc_id
        text = doc["text"]
        title = doc["title"].strip()[:300]
        if not title:
            # An untitled document (a sentence): its opening is the title, said once.
            title, text = text[:80].strip() or item_id, text[80:]
        language = "zh-TW" if _CJK.search(title + text[:200]) else "en"
        items.append(
            {
                "id": item_id,
                "kind": "article",
                "title": title,
                "description": text[:20_000],
                "language": language,
            }
        )
    return items, back


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def raw_throughput(embedder: Embedder, items: list[dict[str, Any]]) -> float:
    """Documents per second through the bare model, on the same text ingestion embeds."""
    # An evenly spread sample, so its lengths match the corpus that ingestion embeds.
    step = max(1, len(items) // RAW_SAMPLE)
    sample = [item_text(_Doc(i)) for i in items[::step][:RAW_SAMPLE]]
    embedder.encode_passages(sample[:32])  # warm-up
    started = time.perf_counter()
    embedder.encode_passages(sample)
    return len(sample) / (time.perf_counter() - started)


class _Doc:
    def __init__(self, item: dict[str, Any]) -> None:
        self.title: str = item["title"]
        self.description: str = item["description"]
        self.tags: list[str] = []


async def evaluate(
    client: httpx.AsyncClient,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    back: dict[str, str],
) -> dict[str, dict[str, float]]:
    results = {}
    for mode in MODES:
        ndcg, recall, latencies = [], [], []
        for qid, text in queries.items():
            started = time.perf_counter()
            response = await client.get(
                "/v1/search", params={"q": text[:500], "mode": mode, "limit": 100}
            )
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            ranked = [back.get(h["id"], h["id"]) for h in response.json()["hits"]]
            ndcg.append(ndcg_at(ranked, qrels[qid], 10))
            recall.append(recall_at(ranked, qrels[qid], 100))
        latencies.sort()
        results[mode] = {
            "ndcg@10": round(sum(ndcg) / len(ndcg), 4),
            "recall@100": round(sum(recall) / len(recall), 4),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        }
        print(
            f"  {mode:<8} nDCG@10 {results[mode]['ndcg@10']:.4f}  "
            f"Recall@100 {results[mode]['recall@100']:.4f}",
            flush=True,
        )
    return results


async def script_overlap(client: httpx.AsyncClient, queries: dict[str, str]) -> float | None:
    """Mean top-10 overlap of each Chinese query in its Simplified and its Traditional form
    (converted with OpenCC both ways), hybrid; None for a set whose queries are not Chinese."""
    import opencc

    chinese = [q for q in queries.values() if _CJK.search(q)]
    if len(chinese) < len(queries) / 2:
        return None
    to_simplified, to_traditional = opencc.OpenCC("tw2sp"), opencc.OpenCC("s2twp")
    overlaps = []
    for text in chinese:
        tops = []
        for form in (to_simplified.convert(text), to_traditional.convert(text)):
            response = await client.get("/v1/search", params={"q": form[:500], "limit": 10})
            response.raise_for_status()
            tops.append({h["id"] for h in response.json()["hits"]})
        overlaps.append(len(tops[0] & tops[1]) / max(len(tops[0]), len(tops[1]), 1))
    overlap = sum(overlaps) / len(overlaps)
    print(f"  简/繁 forms of {len(chinese)} queries: mean top-10 overlap {overlap:.3f}", flush=True)
    return overlap


def run(
    data: Path, split: str, out: Path | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    corpus, queries, qrels = load_beir(data, split)
    items, back = as_items(corpus)
    name = data.name
    print(f"{name}: {len(items)} documents, {len(queries)} queries (split {split})", flush=True)
    with tempfile.TemporaryDirectory(prefix="daodao-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        with running_stack(data_dir, env={"LOAD_DEMO_DATA": "false", **(env or {})}) as stack:
            # The same configuration as the stack's (EMBEDDING_MODEL and the like from the
            # environment), so the raw figure is the model ingestion runs.
            settings = Settings(data_dir=data_dir)
            embedder = build_embedder(settings)
            raw = raw_throughput(embedder, items)
            print(f"  raw embedding: {raw:.1f} docs/s", flush=True)
            del embedder

            async def go() -> tuple[float, dict[str, dict[str, float]], float | None]:
                token = service_token(settings, ["read", "write"])
                async with httpx.AsyncClient(
                    base_url=stack.api_url,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=httpx.Timeout(600, connect=5),
                ) as client:
                    report = await ingest(client, items)
                    if report.counts["failed"]:
                        raise RuntimeError(f"ingestion failed: {report.errors[:3]}")
                    rate = len(items) / report.seconds
                    print(f"  ingestion: {rate:.1f} docs/s end to end", flush=True)
                    modes = await evaluate(client, queries, qrels, back)
                    return rate, modes, await script_overlap(client, queries)

            ingest_rate, modes, overlap = asyncio.run(go())
    result = {
        "dataset": name,
        "split": split,
        "model": settings.embedding_model or DEFAULT_MODEL_NAME,
        "fusion": settings.search_fusion,
        "documents": len(items),
        "queries": len(queries),
        "modes": modes,
        "embed_raw_per_s": round(raw, 1),
        "ingest_per_s": round(ingest_rate, 1),
        "ingest_vs_raw": round(ingest_rate / raw, 3),
        "script_top10_overlap": None if overlap is None else round(overlap, 4),
    }
    rows = [{"mode": m, **v} for m, v in modes.items()]
    print_table(
        f"search quality: {name} ({split}), {result['model']}, fusion {result['fusion']}", rows
    )
    print(
        f"embedding raw {raw:.1f} docs/s; ingestion {ingest_rate:.1f} docs/s "
        f"({ingest_rate / raw:.2f} x raw)"
    )
    path = write_result(f"search-{name}", rows, **result)
    if out is not None:
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
        path = out
    print(f"wrote {path}")
    return result


# Every search set in ../shared/data: (folder, split).
SEARCH_SETS = [
    ("tatoeba-zh-en/para-zh", "dev"),
    ("tatoeba-zh-en/xling-en-zh", "dev"),
    ("tatoeba-zh-en/xling-zh-en", "dev"),
    ("drcd-zh-dev", "dev"),
    ("cmrc2018-zh", "test"),
    ("scifact-train", "train"),
]


def only_split(folder: Path) -> str:
    """The split of a BEIR folder with one qrels file."""
    splits = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
    if len(splits) != 1:
        raise ValueError(f"{folder} has qrels {splits}: name one with --split")
    return splits[0]


def run_all(data: Path) -> list[dict[str, Any]]:
    """Every set of the shared data folder in turn, then one summary table."""
    results = [run(data / folder, split) for folder, split in SEARCH_SETS]
    rows = [
        {
            "dataset": r["dataset"],
            **{f"{mode}_ndcg@10": r["modes"][mode]["ndcg@10"] for mode in MODES},
            "hybrid_recall@100": r["modes"]["hybrid"]["recall@100"],
            "ingest_vs_raw": r["ingest_vs_raw"],
            "简繁_overlap": r["script_top10_overlap"],
        }
        for r in results
    ]
    model, fusion = results[0]["model"], results[0]["fusion"]
    print_table(f"search quality, every set ({model}, fusion {fusion})", rows)
    print(f"wrote {write_result('search-summary', rows, model=model, fusion=fusion)}")
    return results
