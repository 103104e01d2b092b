"""Diversity and exposure re-rankers: MMR over text vectors and per-item exposure caps."""

from __future__ import annotations

import math

import numpy as np

from coldrec.errors import ConfigError
from coldrec.rerank.base import (
    POSUNIT,
    UNIT,
    RerankContext,
    Reranker,
    greedy,
    relevance,
    truncate,
)
from coldrec.rerank.popularity import _check_strength

__all__ = ["MMR", "ExposureCap"]


class MMR(Reranker):
    """Maximal marginal relevance: ``(1 − λ) · relevance − λ · max cosine to the chosen``.

    Similarity is between the items' text vectors (``context.item_vectors``), so five
    near-identical products do not fill a top-10 even when the model loves all five.
    """

    name = "mmr"
    value_patterns = (UNIT,)

    def __init__(self, strength: float = 0.3) -> None:
        self.strength = _check_strength(strength)

    @property
    def needs_item_vectors(self) -> bool:
        return self.strength > 0

    def rerank(self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if self.strength == 0:
            return truncate(ids, scores, k)
        if context.item_vectors is None:
            raise ConfigError("the mmr re-ranker needs item text vectors (item_vectors)")
        vectors = context.item_vectors
        rel = relevance(scores)
        lam = self.strength

        def gain(r: int, chosen: list[int], free: np.ndarray) -> np.ndarray:
            if not chosen:
                return rel[r].copy()
            cand = vectors[np.maximum(ids[r], 0)]
            sim = cand @ vectors[ids[r][chosen]].T
            relevant = np.where(np.isfinite(rel[r]), (1 - lam) * rel[r], -np.inf)
            return relevant - lam * sim.max(axis=1)

        return greedy(ids, rel, k, gain)


class ExposureCap(Reranker):
    """No item in more than ``max_share`` of the users' lists in one batch.

    Users are served in row order; once an item has been shown ``ceil(max_share · n)``
    times, later users get their next-best candidate instead.
    """

    name = "cap"
    value_patterns = (POSUNIT,)

    def __init__(self, max_share: float = 0.1) -> None:
        share = float(max_share)
        if not 0 < share <= 1:
            raise ConfigError(f"exposure cap max_share must be in (0, 1], got {max_share!r}")
        self.max_share = share

    def rerank(self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        n = ids.shape[0]
        cap = max(1, math.ceil(self.max_share * n))
        shown = np.zeros(len(context.item_counts), dtype=np.int64)
        out_ids = np.full((n, k), -1, dtype=np.int64)
        out_scores = np.full((n, k), -np.inf)
        for r in range(n):
            valid = (ids[r] >= 0) & np.isfinite(scores[r])
            room = valid & (shown[np.maximum(ids[r], 0)] < cap)
            pick = np.flatnonzero(room)[:k]
            out_ids[r, : len(pick)] = ids[r, pick]
            out_scores[r, : len(pick)] = scores[r, pick]
            shown[ids[r, pick]] += 1
        return out_ids, out_scores
