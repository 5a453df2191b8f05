"""The ONNX encoder reproduces sentence-transformers, and the query cache behaves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ai_backend.infra.embedder import Embedder, OnnxEncoder, TorchEncoder, bundled_model_path

TEXTS = [
    "How do I learn German grammar on my own?",
    "德語 B1 文法：從屬子句與被動語態",
    "React 前端開發實戰：hooks 與狀態管理",
    "a",
    "",
    "word " * 400,  # longer than the model's 256 tokens: truncated the same way
]


@pytest.fixture(scope="module")
def reference() -> TorchEncoder:
    return TorchEncoder(str(bundled_model_path()))


def test_onnx_matches_sentence_transformers(embedder: Embedder, reference: TorchEncoder) -> None:
    catalog = json.loads(
        (Path(__file__).parents[1] / "ai_backend/demo/catalog.json").read_text(encoding="utf-8")
    )
    texts = TEXTS + [f"{i['title']}\n{i['description']}" for i in catalog["items"][:60]]
    ours = embedder.encode(texts)
    theirs = reference.encode(texts)
    cosine = (ours * theirs).sum(axis=1)
    assert ours.shape == (len(texts), 384)
    assert cosine.min() >= 0.999, f"worst cosine {cosine.min():.6f}"
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_batching_does_not_change_vectors(embedder: Embedder) -> None:
    together = embedder.encode(TEXTS)
    alone = np.stack([embedder.encode([t])[0] for t in TEXTS])
    assert ((together * alone).sum(axis=1) > 0.99999).all()


async def test_query_vectors_are_cached(embedder: Embedder) -> None:
    first = await embedder.embed_query("cache me please")
    assert embedder.cached_query("cache me please") is first
    assert embedder.cached_query("never asked") is None
    assert (await embedder.embed_query("cache me please")) is first


def test_export_is_reused_and_int8_is_an_option(tmp_path: Path, reference: TorchEncoder) -> None:
    model = str(bundled_model_path())
    OnnxEncoder.load_or_export(model, tmp_path)
    exported = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    OnnxEncoder.load_or_export(model, tmp_path)
    assert [p for p in tmp_path.iterdir() if not p.name.startswith(".")] == exported
    quantized = OnnxEncoder.load_or_export(model, tmp_path, quantize="int8")
    cosine = (quantized.encode(TEXTS[:3]) * reference.encode(TEXTS[:3])).sum(axis=1)
    # int8 trades exactness for speed: close to the reference, but not the default.
    assert cosine.min() > 0.9
