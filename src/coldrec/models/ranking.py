"""Top-k selection with the protocol tie rule, shared by models and the evaluator.

Ranking is by descending score; exact ties are broken by a fixed item order (``tie_rank``:
among equal scores the item with the lower tie rank comes first), so a constant scorer is
exactly a random ranking and results never depend on sort stability. Items scored ``-inf``
(excluded or filtered) are never returned: their slots hold id ``-1``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["tie_ranks", "topk", "zscore"]


def tie_ranks(n_items: int, seed: int = 0) -> np.ndarray:
    """Tie rank of every item: its position in ``default_rng(seed).permutation(n_items)``."""
    perm = np.random.default_rng(seed).permutation(n_items)
    rank = np.empty(n_items, dtype=np.int64)
    rank[perm] = np.arange(n_items)
    return rank


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
    thr = np.partition(scores, m - k_eff, axis=1)[:, m - k_eff]
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
