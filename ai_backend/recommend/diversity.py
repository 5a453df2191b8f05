"""Diversity: maximal marginal relevance over the items' vectors."""

from __future__ import annotations

import numpy as np


def unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def mmr(
    ranked: list[tuple[str, float]], vectors: dict[str, np.ndarray], limit: int, diversity: float
) -> list[tuple[str, float]]:
    """Maximal marginal relevance: trade a little score for items unlike those already picked."""
    if diversity <= 0 or len(ranked) <= 1:
        return ranked[:limit]
    best = ranked[0][1] or 1.0
    relevance = np.array([score / best for _, score in ranked], np.float32)
    matrix = np.stack([unit(vectors[key]) for key, _ in ranked])
    # The highest similarity of each candidate to anything picked so far.
    closest = np.zeros(len(ranked), np.float32)
    open_ = np.ones(len(ranked), bool)
    chosen: list[tuple[str, float]] = []
    while open_.any() and len(chosen) < limit:
        value = np.where(open_, (1 - diversity) * relevance - diversity * closest, -np.inf)
        pick = int(np.argmax(value))
        open_[pick] = False
        chosen.append(ranked[pick])
        closest = np.maximum(closest, matrix @ matrix[pick])
    return chosen
