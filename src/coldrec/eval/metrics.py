"""Ranking and beyond-accuracy metrics, vectorised over users.

Definitions (PROTOCOLS.md), for a user with truth set T and top-k list L:

* ``recall@k`` = |L ∩ T| / |T| (not divided by min(k, |T|));
* ``ndcg@k`` — binary gains, DCG = Σ 1/log2(rank+1) over hits, IDCG over min(k, |T|);
* ``hit@k`` = 1 if any hit; ``precision@k`` = |L ∩ T| / k;
* ``mrr@k`` = 1 / rank of the first hit (0 without a hit in the top k);
* ``map@k`` = Σ_{hits at rank r} precision@r / min(k, |T|);
* ``coverage@k`` — share of the candidate items that appear in at least one top-k list;
* ``gini@k`` — Gini coefficient of how often each candidate item is recommended (zeros
  included; 0 = even exposure, → 1 = one item everywhere);
* ``avg_pop@k`` — mean popularity of recommended items (share of training users who
  interacted with the item);
* ``tail_share@k`` — share of recommended slots that hold tail items;
* ``ild@k`` — intra-list diversity: mean pairwise cosine distance ``1 − cos`` between the
  text vectors of the items in a list (needs ``item_vectors``);
* ``tail_recall@k`` — recall restricted to truth items outside the head (the top 20 % of items
  by training count, ties: lower index is more popular), averaged over users with ≥ 1 such
  item.

Per-user metrics are averaged over the evaluated users (users with at least one truth item).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from coldrec.data.popularity import head_items, round_half_up
from coldrec.errors import ConfigError

__all__ = [
    "ACCURACY_METRICS",
    "BEYOND_METRICS",
    "gini",
    "head_items",
    "hit_matrix",
    "intra_list_diversity",
    "per_user_metrics",
    "ranking_metrics",
    "round_half_up",
]

ACCURACY_METRICS = ("recall", "ndcg", "hit", "precision", "mrr", "map")
BEYOND_METRICS = ("coverage", "gini", "avg_pop", "tail_share", "tail_recall", "ild")


def hit_matrix(rec_ids: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """``hits[u, r]`` is True when the item at rank ``r`` of user ``u`` is in the truth."""
    truth = sp.csr_matrix(truth)
    truth.sort_indices()
    n_items = truth.shape[1]
    rows = np.repeat(np.arange(truth.shape[0], dtype=np.int64), np.diff(truth.indptr))
    truth_keys = rows * n_items + truth.indices.astype(np.int64)
    rec = np.asarray(rec_ids, dtype=np.int64)
    valid = rec >= 0
    rec_keys = np.arange(rec.shape[0], dtype=np.int64)[:, None] * n_items + np.where(valid, rec, 0)
    if len(truth_keys) == 0:
        return np.zeros(rec.shape, dtype=bool)
    pos = np.searchsorted(truth_keys, rec_keys)
    pos = np.minimum(pos, len(truth_keys) - 1)
    return (truth_keys[pos] == rec_keys) & valid


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0 when all equal or all zero)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n = len(x)
    total = x.sum()
    if n == 0 or total == 0:
        return 0.0
    index = np.arange(1, n + 1)
    return float((2.0 * np.sum(index * x)) / (n * total) - (n + 1.0) / n)


def intra_list_diversity(top: np.ndarray, item_vectors: np.ndarray) -> float:
    """Mean over lists of the mean pairwise cosine distance between their items' vectors.

    Empty slots (``-1``) are skipped; lists with fewer than two items are ignored.
    """
    vectors = np.asarray(item_vectors, dtype=np.float64)
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    top = np.asarray(top, dtype=np.int64)
    valid = top >= 0
    emb = vectors[np.maximum(top, 0)] * valid[..., None]  # (users, k, d)
    n = valid.sum(axis=1).astype(np.float64)
    summed = emb.sum(axis=1)
    # Σ_{i≠j} cos = |Σ v|² − Σ |v|²  (unit vectors: Σ |v|² = n)
    pair_sum = (summed ** 2).sum(axis=1) - n
    pairs = n * (n - 1)
    ok = pairs > 0
    if not ok.any():
        return 0.0
    return float(np.mean(1.0 - pair_sum[ok] / pairs[ok]))


def _rows_with_truth(rec_ids: np.ndarray, truth: sp.csr_matrix,
                     ) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    """The lists, truth rows and truth sizes (float) of the users with at least one truth
    item: the users every metric averages over."""
    truth = sp.csr_matrix(truth)
    n_truth = np.diff(truth.indptr)
    keep = n_truth > 0
    return np.asarray(rec_ids)[keep], truth[keep], n_truth[keep].astype(np.float64)


def _accuracy(name: str, hits: np.ndarray, n_truth: np.ndarray) -> np.ndarray:
    """One accuracy metric per user from the users × k hit matrix and the truth sizes."""
    k = hits.shape[1]
    n_hit = hits.sum(axis=1)
    if name == "recall":
        return n_hit / n_truth
    if name == "hit":
        return (n_hit > 0).astype(np.float64)
    if name == "precision":
        return n_hit / k
    if name == "mrr":
        first = hits.argmax(axis=1) + 1
        return np.where(hits.any(axis=1), 1.0 / first, 0.0)
    if name == "map":
        prec_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
        return (prec_at * hits).sum(axis=1) / np.minimum(k, n_truth)
    if name == "ndcg":
        discounts = 1.0 / np.log2(np.arange(2, k + 2))
        ideal = np.concatenate([[0.0], np.cumsum(discounts)])
        return (hits * discounts).sum(axis=1) / ideal[np.minimum(k, n_truth).astype(np.int64)]
    raise ConfigError(f"unknown accuracy metric {name!r}; choose from {ACCURACY_METRICS}")


def per_user_metrics(rec_ids: np.ndarray, truth: sp.csr_matrix, ks: Sequence[int],
                     metrics: Iterable[str] = ("recall", "ndcg")) -> dict[str, np.ndarray]:
    """Accuracy metrics per user (``"recall@20"`` → one value per user with truth).

    Rows of ``truth`` without items are left out, as in :func:`ranking_metrics`, whose
    accuracy figures are the means of these arrays. Two models ranked on the same task give
    arrays aligned user by user, for paired comparisons (:mod:`coldrec.eval.stats`).
    """
    rec, truth, n_truth = _rows_with_truth(rec_ids, truth)
    hits = hit_matrix(rec, truth)
    return {f"{name}@{k}": _accuracy(name, hits[:, :k], n_truth)
            for k in ks for name in metrics}


def ranking_metrics(
    rec_ids: np.ndarray,
    truth: sp.csr_matrix,
    ks: Sequence[int],
    *,
    candidates: np.ndarray | None = None,
    item_counts: np.ndarray | None = None,
    n_train_users: int | None = None,
    head: np.ndarray | None = None,
    focus: np.ndarray | None = None,
    focus_name: str = "focus",
    metrics: Iterable[str] | None = None,
    item_vectors: np.ndarray | None = None,
) -> dict[str, float]:
    """All metrics at every k in ``ks`` for top lists ``rec_ids`` (users × ≥max(ks)).

    ``truth`` has one row per row of ``rec_ids``; rows without truth items are ignored.
    ``candidates`` (item indices) is the shelf for coverage and Gini (default: all items).
    ``item_counts`` (training count per item) enables ``avg_pop``; ``head`` (boolean mask)
    enables ``tail_share`` and ``tail_recall``; ``focus`` (item indices) adds
    ``<focus_name>_share@k``, the share of recommended slots holding those items.
    """
    rec, truth, n_truth = _rows_with_truth(rec_ids, truth)
    n_items = truth.shape[1]
    wanted = set(metrics) if metrics is not None else set(ACCURACY_METRICS + BEYOND_METRICS)
    out: dict[str, float] = {}
    if len(rec) == 0:
        return out
    hits = hit_matrix(rec, truth)
    tail_truth = None
    if head is not None:
        tail_truth = truth.copy()
        tail_truth.data = tail_truth.data * (~head[tail_truth.indices])
        tail_truth.eliminate_zeros()
    shelf = np.arange(n_items) if candidates is None else np.asarray(candidates, dtype=np.int64)
    for k in ks:
        for name in ACCURACY_METRICS:
            if name in wanted:
                out[f"{name}@{k}"] = float(np.mean(_accuracy(name, hits[:, :k], n_truth)))
        top = rec[:, :k]
        valid = top[top >= 0]
        counts = np.bincount(valid, minlength=n_items)[shelf]
        if "coverage" in wanted:
            out[f"coverage@{k}"] = float(np.mean(counts > 0)) if len(shelf) else 0.0
        if "gini" in wanted:
            out[f"gini@{k}"] = gini(counts)
        if "avg_pop" in wanted and item_counts is not None and len(valid):
            denom = float(n_train_users or max(1, np.max(item_counts)))
            out[f"avg_pop@{k}"] = float(np.mean(np.asarray(item_counts)[valid]) / denom)
        if head is not None and "tail_share" in wanted and len(valid):
            out[f"tail_share@{k}"] = float(np.mean(~head[valid]))
        if tail_truth is not None and "tail_recall" in wanted:
            n_tail = np.diff(tail_truth.indptr)
            users = n_tail > 0
            if users.any():
                tail_hits = hit_matrix(top[users], tail_truth[users]).sum(axis=1)
                out[f"tail_recall@{k}"] = float(np.mean(tail_hits / n_tail[users]))
            else:
                out[f"tail_recall@{k}"] = 0.0
        if item_vectors is not None and "ild" in wanted:
            out[f"ild@{k}"] = intra_list_diversity(top, item_vectors)
        if focus is not None and len(valid):
            mask = np.zeros(n_items, dtype=bool)
            mask[np.asarray(focus, dtype=np.int64)] = True
            out[f"{focus_name}_share@{k}"] = float(np.mean(mask[valid]))
    out["users"] = len(rec)
    return out
