"""Top-k selection with the protocol tie rule, shared by models and the evaluator.

Ranking is by descending score; exact ties are broken by a fixed item order (``tie_rank``:
among equal scores the item with the lower tie rank comes first), so a constant scorer is
exactly a random ranking and results never depend on sort stability. Items scored ``-inf``
(excluded or filtered) are never returned: their slots hold id ``-1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ZDirection", "embedding_stats", "kth_largest", "tie_ranks", "topk", "zscore"]


def tie_ranks(n_items: int, seed: int = 0) -> np.ndarray:
    """Tie rank of every item: its position in ``default_rng(seed).permutation(n_items)``."""
    perm = np.random.default_rng(seed).permutation(n_items)
    rank = np.empty(n_items, dtype=np.int64)
    rank[perm] = np.arange(n_items)
    return rank


def kth_largest(scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k``-th largest value of each row (exactly ``np.partition``'s answer).

    ``np.partition`` slows down twentyfold on rows with many equal values (the zeros of a
    sparse score), so wide rows first take a threshold from a sample, then partition only
    the values above it (or take the threshold itself when it is the answer)."""
    n, m = scores.shape
    if m <= 8192 or k * 64 > m:
        return np.partition(scores, m - k, axis=1)[:, m - k]
    out = np.empty(n, dtype=scores.dtype)
    sample = scores[:, :: max(1, m // 2048)]
    cut = np.partition(sample, sample.shape[1] - 4 * k, axis=1)[:, sample.shape[1] - 4 * k]
    for r in range(n):
        row, t = scores[r], cut[r]
        above = row[row > t]
        if len(above) >= k:
            out[r] = np.partition(above, len(above) - k)[len(above) - k]
        elif len(above) + int((row == t).sum()) >= k:
            out[r] = t
        else:  # fewer than k values reach the sample's cut
            out[r] = np.partition(row, m - k)[m - k]
    return out


def topk(scores: np.ndarray, k: int, tie_rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best columns of each row of ``scores`` and their scores.

    Vectorised: one ``np.partition`` finds each row's k-th value; rows where more items tie
    at that value than there are free slots pick the tied items in ``tie_rank`` order.
    Returns ``(ids, values)`` of shape ``(n_rows, k)``; slots without a finite-scored item
    hold id ``-1`` and value ``-inf``.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError("scores must be a 2-d array (rows × items)")
    n, m = scores.shape
    k_eff = min(int(k), m)
    ids = np.full((n, int(k)), -1, dtype=np.int64)
    vals = np.full((n, int(k)), -np.inf, dtype=np.float64)
    if n == 0 or k_eff <= 0:
        return ids, vals
    if np.isnan(scores).any():
        scores = np.where(np.isnan(scores), -np.inf, scores)
    thr = kth_largest(scores, k_eff)
    greater = scores > thr[:, None]
    equal = scores == thr[:, None]
    need = k_eff - greater.sum(axis=1)
    ambiguous = np.flatnonzero(equal.sum(axis=1) > need)
    selected = greater | equal
    if len(ambiguous):
        order = np.argsort(tie_rank, kind="stable")  # columns in tie order
        eq_in_order = equal[ambiguous][:, order]
        keep = eq_in_order & (np.cumsum(eq_in_order, axis=1) <= need[ambiguous, None])
        chosen = np.zeros_like(eq_in_order)
        chosen[:, order] = keep
        selected[ambiguous] = greater[ambiguous] | chosen
    _, cols = np.nonzero(selected)
    cols = cols.reshape(n, k_eff)
    top_vals = np.take_along_axis(scores, cols, axis=1).astype(np.float64)
    order_in_row = np.lexsort((tie_rank[cols], -top_vals), axis=-1)
    cols = np.take_along_axis(cols, order_in_row, axis=1)
    top_vals = np.take_along_axis(top_vals, order_in_row, axis=1)
    cols[~np.isfinite(top_vals) & (top_vals < 0)] = -1
    ids[:, :k_eff] = cols
    vals[:, :k_eff] = top_vals
    return ids, vals


def zscore(scores: np.ndarray) -> np.ndarray:
    """Per-row standardisation (mean 0, sd 1) of finite scores; constant rows become 0."""
    scores = np.asarray(scores, dtype=np.float32)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


def embedding_stats(vectors: np.ndarray, chunk: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) covariance over the rows of ``vectors``, in float64."""
    n, d = vectors.shape
    total = np.zeros(d)
    gram = np.zeros((d, d))
    for start in range(0, n, chunk):
        block = np.asarray(vectors[start:start + chunk], dtype=np.float64)
        total += block.sum(axis=0)
        gram += block.T @ block
    mean = total / max(n, 1)
    return mean, gram / max(n, 1) - np.outer(mean, mean)


@dataclass(frozen=True)
class ZDirection:
    """Per-row z-scores of linear scores ``V @ x`` over the rows of ``V`` (items), kept as
    a direction: ``zscore(V @ x) = V @ (x/σ) − μ·x/σ`` with ``μ`` and ``Σ`` the mean and
    covariance of ``V``'s rows and ``σ² = xᵀΣx`` (:func:`zscore`'s rule: constant scores
    become 0). A weighted sum of several is one pass over ``V`` instead of one each."""

    vectors: np.ndarray  # users × d, already divided by σ
    offsets: np.ndarray  # users

    @classmethod
    def of(cls, x: np.ndarray, stats: tuple[np.ndarray, np.ndarray]) -> ZDirection:
        mean, cov = stats
        x64 = np.asarray(x, dtype=np.float64)
        sd = np.sqrt(np.maximum(((x64 @ cov) * x64).sum(axis=1), 0.0))
        scale = np.where(sd > 1e-12, 1.0 / np.maximum(sd, 1e-300), 0.0)
        return cls((x64 * scale[:, None]).astype(np.float32), (x64 @ mean) * scale)

    @property
    def nbytes(self) -> int:
        return int(self.vectors.nbytes + self.offsets.nbytes)

    def full(self, matrix: np.ndarray) -> np.ndarray:
        """The z-scores of every row of ``matrix`` (users × items, float32)."""
        return (self.vectors @ matrix.T - self.offsets[:, None]).astype(np.float32)

    def at(self, matrix: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The z-scores of ``items`` only (users × len(items))."""
        return self.vectors @ matrix[items].T - self.offsets[:, None]

    @staticmethod
    def blend(matrix: np.ndarray, parts: list[tuple[float, ZDirection]]) -> np.ndarray:
        """``Σ weight · zscore`` over ``parts`` with one product with ``matrix``."""
        used = [(w, d) for w, d in parts if w]
        if not used:
            n = parts[0][1].vectors.shape[0] if parts else 0
            return np.zeros((n, matrix.shape[0]), dtype=np.float32)
        vectors = sum(np.float32(w) * d.vectors for w, d in used)
        offsets = sum(w * d.offsets for w, d in used)
        return (vectors @ matrix.T - np.asarray(offsets, dtype=np.float32)[:, None]
                ).astype(np.float32)
