"""The collaborative model: item-to-item weights mined from every member's history, and
time-decayed popularity.

The item-to-item weights are EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data",
WWW 2019): a ridge regression of each item's column on all the others, in closed form from the
item Gram matrix. It reads as "members who did X went on to Y", with negative weights where two
items rarely go together. The model covers the `max_items` most-used items seen by at least two
members; the rest get no collaborative signal and are reached by the other sources.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.linalg import lapack

from ai_backend.history.actions import NEGATIVE, action_weight

Floats = npt.NDArray[np.float32]
MAX_HISTORY = 500


@dataclass(frozen=True, slots=True)
class Interaction:
    user_id: str
    item_id: str
    type: str
    occurred_at: datetime
    kind: str


@dataclass
class CollaborativeModel:
    item_ids: list[str]
    weights: Floats  # items x items, EASE's B with a zero diagonal
    popular_ids: list[str]  # most popular first
    popular_scores: list[float]
    popular_kinds: list[str]
    users: int = 0
    interactions: int = 0
    trained_at: datetime | None = None
    took_ms: int | None = None
    index: dict[str, int] = field(init=False)
    kind_of: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {item: i for i, item in enumerate(self.item_ids)}
        self.kind_of = dict(zip(self.popular_ids, self.popular_kinds, strict=True))

    @classmethod
    def empty(cls) -> CollaborativeModel:
        return cls([], np.zeros((0, 0), np.float32), [], [], [])

    def score(self, history: dict[str, float]) -> tuple[list[int], Floats]:
        """Scores of every model item for a weighted history, and the history rows used.

        Only the `MAX_HISTORY` heaviest actions count: past that, each adds little (MovieLens:
        NDCG@10 0.364 at 300, 0.376 with all) and costs a row of the weights.
        """
        known = sorted((i for i in history if i in self.index), key=lambda i: -history[i])
        rows = [self.index[i] for i in known[:MAX_HISTORY]]
        if not rows:
            return [], np.zeros(len(self.item_ids), np.float32)
        weights = np.array([history[self.item_ids[r]] for r in rows], np.float32)
        return rows, weights @ self.weights[rows]

    def strongest_sources(
        self, rows: list[int], history: dict[str, float], items: list[str]
    ) -> dict[str, str]:
        """For each item, the history item that contributed most to its collaborative score."""
        known = [i for i in items if i in self.index]
        if not rows or not known:
            return {}
        weights = np.array([history[self.item_ids[r]] for r in rows], np.float32)
        block = self.weights[np.ix_(rows, [self.index[i] for i in known])] * weights[:, None]
        best = np.argmax(block, axis=0)
        return {item: self.item_ids[rows[int(b)]] for item, b in zip(known, best, strict=True)}

    def to_bytes(self) -> bytes:
        """A compact form for other processes (half precision weights)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            item_ids=np.array(self.item_ids, dtype=object),
            weights=self.weights.astype(np.float16),
            popular_ids=np.array(self.popular_ids, dtype=object),
            popular_scores=np.array(self.popular_scores, np.float64),
            popular_kinds=np.array(self.popular_kinds, dtype=object),
            meta=np.array(
                [
                    self.users,
                    self.interactions,
                    self.took_ms or 0,
                    self.trained_at.timestamp() if self.trained_at else 0,
                ],
                np.float64,
            ),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CollaborativeModel:
        data = np.load(io.BytesIO(raw), allow_pickle=True)
        users, interactions, took_ms, trained = data["meta"].tolist()
        return cls(
            item_ids=[str(i) for i in data["item_ids"]],
            weights=data["weights"].astype(np.float32),
            popular_ids=[str(i) for i in data["popular_ids"]],
            popular_scores=[float(s) for s in data["popular_scores"]],
            popular_kinds=[str(k) for k in data["popular_kinds"]],
            users=int(users),
            interactions=int(interactions),
            took_ms=int(took_ms),
            trained_at=datetime.fromtimestamp(trained, UTC) if trained else None,
        )


def _popularity(
    rows: Sequence[Interaction], *, half_life_days: float
) -> tuple[list[str], list[float], list[str]]:
    """Type-weighted counts, each halved per half-life before the newest action (floor 1/2)."""
    if not rows:
        return [], [], []
    newest = max(r.occurred_at for r in rows).timestamp()
    scores: dict[str, float] = {}
    kinds: dict[str, str] = {}
    for row in rows:
        age = newest - row.occurred_at.timestamp()
        weight = action_weight(row.type, age, half_life_days)
        scores[row.item_id] = scores.get(row.item_id, 0.0) + weight
        kinds[row.item_id] = row.kind
    ranked = sorted(scores, key=lambda i: (-scores[i], i))
    return ranked, [round(scores[i], 6) for i in ranked], [kinds[i] for i in ranked]


def _ease(matrix: sparse.csr_matrix, l2: float) -> Floats:
    """B = I - P / diag(P) with P = (XᵀX + λI)⁻¹, by Cholesky, in single precision, in place."""
    gram = (matrix.T @ matrix).toarray().astype(np.float32)
    gram[np.diag_indices_from(gram)] += l2
    factor, info = lapack.spotrf(gram, lower=False, overwrite_a=True, clean=True)
    if info != 0:
        raise ArithmeticError(f"Gram matrix is not positive definite (potrf info {info})")
    inverse, info = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ArithmeticError(f"cannot invert the Gram matrix (potri info {info})")
    upper = np.triu(inverse)
    del inverse
    upper += np.triu(upper, 1).T  # potri fills one triangle only
    diagonal = np.diag(upper).copy()
    upper /= -diagonal
    upper[np.diag_indices_from(upper)] = 0.0
    result: Floats = upper
    return result


def fit(
    rows: Sequence[Interaction], *, max_items: int, l2: float, half_life_days: float
) -> CollaborativeModel:
    started = time.perf_counter()
    positive = [r for r in rows if r.type not in NEGATIVE]
    popular_ids, popular_scores, popular_kinds = _popularity(
        positive, half_life_days=half_life_days
    )
    users = sorted({r.user_id for r in positive})
    user_index = {u: i for i, u in enumerate(users)}
    # Items seen by at least two members carry co-occurrence; keep the most used of them.
    members: dict[str, set[str]] = {}
    for row in positive:
        members.setdefault(row.item_id, set()).add(row.user_id)
    shared = [i for i, who in members.items() if len(who) >= 2]
    shared.sort(key=lambda i: (-len(members[i]), i))
    item_ids = sorted(shared[:max_items])
    index = {item: i for i, item in enumerate(item_ids)}
    pairs = {(user_index[r.user_id], index[r.item_id]) for r in positive if r.item_id in index}
    if pairs:
        user_rows, item_cols = zip(*pairs, strict=True)
        matrix = sparse.csr_matrix(
            (np.ones(len(pairs), np.float32), (user_rows, item_cols)),
            shape=(len(users), len(item_ids)),
        )
        weights = _ease(matrix, l2)
    else:
        weights = np.zeros((len(item_ids), len(item_ids)), np.float32)
    return CollaborativeModel(
        item_ids=item_ids,
        weights=weights,
        popular_ids=popular_ids,
        popular_scores=popular_scores,
        popular_kinds=popular_kinds,
        users=len(users),
        interactions=len(positive),
        trained_at=datetime.now(UTC),
        took_ms=round((time.perf_counter() - started) * 1000),
    )
