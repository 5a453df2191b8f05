"""One way to open an ONNX model for the embedding encoders: CPU, every core for one run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def cpu_session(path: Path, *, threads: int | None = None) -> Any:
    """An onnxruntime session on the CPU with full graph optimisation.

    One run uses every core (`threads`, default all); runs do not overlap (the Embedder holds a
    lock), so there is one thread pool and no inter-op parallelism.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    # Spin between the operators of a run, not after it: a request's own work (and the next
    # request) needs the cores then. Worth about 1 ms a search here.
    options.add_session_config_entry("session.force_spinning_stop", "1")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
