"""Popularity-aware re-rankers: a popularity penalty, calibrated popularity, a tail quota
and discovery slots."""

from __future__ import annotations

import numpy as np

from coldrec.data.popularity import head_items, popularity_groups
from coldrec.errors import ConfigError
from coldrec.rerank.base import (
    COUNT,
    NONNEG,
    SLOTS,
    UNIT,
    RerankContext,
    Reranker,
    greedy,
    relevance,
    truncate,
)

__all__ = ["MAX_SLOTS", "CalibratedPopularity", "DiscoverySlots", "PopularityPenalty",
           "TailQuota"]

#: the most list positions a slot re-ranker may reserve (longer than any list shown)
MAX_SLOTS = 1000


def _check_strength(strength: float, upper: float | None = 1.0) -> float:
    s = float(strength)
    if not np.isfinite(s) or s < 0 or (upper is not None and s > upper):
        bound = f"[0, {upper}]" if upper is not None else ">= 0"
        raise ConfigError(f"re-ranker strength must be in {bound}, got {strength!r}")
    return s


class PopularityPenalty(Reranker):
    """Scoring-time debiasing: ``relevance − strength · log-popularity`` per candidate.

    Relevance is the model score min-max scaled within the user's candidates; popularity is
    ``log(1 + count) / log(1 + max count)``, so both live in [0, 1] whatever the model.
    Products without any interaction (new arrivals ranked from their text) get the mean
    popularity term of the user's other candidates: this re-ranker counters collaborative
    popularity bias and neither buries nor floods the list with new arrivals.
    """

    name = "popularity"
    value_patterns = (NONNEG,)

    def __init__(self, strength: float = 0.3) -> None:
        self.strength = _check_strength(strength, upper=None)

    def rerank(self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if self.strength == 0:
            return truncate(ids, scores, k)
        raw = np.asarray(context.item_counts, dtype=np.float64)
        counts = np.log1p(raw)
        pop = counts / max(float(counts.max()), 1e-12)
        valid = ids >= 0
        cand_raw = np.where(valid, raw[np.maximum(ids, 0)], 0.0)
        cand_pop = np.where(valid, pop[np.maximum(ids, 0)], 0.0)
        warm = valid & (cand_raw > 0)
        row_mean = (cand_pop * warm).sum(axis=1) / np.maximum(warm.sum(axis=1), 1)
        cand_pop = np.where(warm, cand_pop, row_mean[:, None])
        objective = relevance(scores) - self.strength * np.where(valid, cand_pop, 0.0)
        objective[ids < 0] = -np.inf
        order = np.argsort(-objective, axis=1, kind="stable")
        return truncate(np.take_along_axis(ids, order, axis=1),
                        np.take_along_axis(objective, order, axis=1), k)


class CalibratedPopularity(Reranker):
    """Match each shopper's own head / mid / tail mix (calibrated popularity).

    Greedy list building maximising ``(1 − λ) · Σ relevance − λ · KL(p ‖ q̃)`` where ``p`` is
    the user's history over the popularity groups and ``q̃ = (1 − α) q + α p`` the smoothed
    mix of the list so far (Steck 2018; Abdollahpouri et al. 2021). Users without history
    are calibrated to the catalogue's interaction mix.
    """

    name = "calibrated"
    value_patterns = (UNIT, UNIT)

    def __init__(self, strength: float = 0.5, alpha: float = 0.01) -> None:
        self.strength = _check_strength(strength)
        self.alpha = _check_strength(alpha)  # the smoothing share, in [0, 1]

    def rerank(self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if self.strength == 0:
            return truncate(ids, scores, k)
        n = ids.shape[0]
        groups = popularity_groups(context.item_counts)
        counts = np.asarray(context.item_counts, dtype=np.float64)
        overall = np.bincount(groups, weights=counts, minlength=3) / max(counts.sum(), 1e-12)
        hist = context.user_history(np.arange(n) if rows is None else rows)
        target = np.tile(overall, (n, 1))
        if hist is not None:
            per_user = np.zeros((n, 3))
            coo = hist.tocoo()
            np.add.at(per_user, (coo.row, groups[coo.col]), 1.0)
            has = per_user.sum(axis=1) > 0
            target[has] = per_user[has] / per_user[has].sum(axis=1, keepdims=True)
        rel = relevance(scores)
        cand_groups = np.where(ids >= 0, groups[np.maximum(ids, 0)], 0)
        onehot = np.eye(3)[cand_groups]  # (n, depth, 3)
        lam, alpha = self.strength, self.alpha

        def gain(r: int, chosen: list[int], free: np.ndarray) -> np.ndarray:
            p = target[r]
            mix = onehot[r][chosen].sum(axis=0) if chosen else np.zeros(3)
            q = (mix[None, :] + onehot[r]) / (len(chosen) + 1)
            q = (1 - alpha) * q + alpha * p[None, :]
            safe_p = np.where(p > 0, p, 1.0)[None, :]
            ratio = np.where(q > 0, safe_p / np.where(q > 0, q, 1.0), 1.0)
            kl = np.sum(np.where(p > 0, p * np.log(ratio), 0.0), axis=1)
            base = rel[r][chosen].sum() if chosen else 0.0
            return (1 - lam) * (base + np.where(free, rel[r], 0.0)) - lam * kl

        return greedy(ids, rel, k, gain)


class TailQuota(Reranker):
    """At least ``slots`` long-tail products in every list.

    The tail is every item outside the head (the top ``head_share`` of items by training
    interactions) with at least ``min_count`` interactions (new arrivals have their own
    shelf; the quota is for products that sell, but rarely). A list that already holds
    enough tail items is left alone; otherwise its
    last head items give way to the user's best-ranked tail candidates, appended in their
    own order — naturally well-ranked tail items are never moved down.
    """

    name = "tail"
    value_patterns = (SLOTS, UNIT, COUNT)

    def __init__(self, slots: float = 2, head_share: float = 0.2, min_count: int = 1) -> None:
        if not 0 <= float(slots) <= MAX_SLOTS or float(slots) != int(slots):
            raise ConfigError(f"tail quota slots must be a whole number in 0..{MAX_SLOTS}, "
                              f"got {slots!r}")
        if not 0 <= float(head_share) <= 1:
            raise ConfigError(f"tail quota head_share must be in [0, 1], got {head_share!r}")
        if not 0 <= float(min_count) <= 1e9 or float(min_count) != int(min_count):
            raise ConfigError(f"tail quota min_count must be a whole number >= 0, "
                              f"got {min_count!r}")
        self.slots = int(slots)
        self.head_share = float(head_share)
        self.min_count = int(min_count)

    def rerank(self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        out_ids, out_scores = truncate(ids, scores, k)
        quota = min(self.slots, k)
        if quota == 0:
            return out_ids, out_scores
        counts = np.asarray(context.item_counts)
        tail = ~head_items(counts, self.head_share) & (counts >= self.min_count)
        valid = ids >= 0
        is_tail = valid & tail[np.maximum(ids, 0)]
        for r in range(ids.shape[0]):
            top_tail = int(is_tail[r, :k].sum())
            missing = quota - top_tail
            if missing <= 0:
                continue
            extra = np.flatnonzero(is_tail[r, k:])[:missing] + k
            if not len(extra):
                continue
            keep_tail = is_tail[r, :k] | ~valid[r, :k]
            head_pos = np.flatnonzero(~keep_tail)
            drop = set(head_pos[len(head_pos) - len(extra):].tolist())
            kept = [j for j in range(k) if j not in drop]
            chosen = kept + extra.tolist()
            out_ids[r] = ids[r, chosen]
            out_scores[r] = scores[r, chosen]
        return out_ids, out_scores


class DiscoverySlots(Reranker):
    """The last ``slots`` places of every list go to discoveries; the rest stays as ranked.

    The first ``k − slots`` items are the model's own top; the remaining places take the
    best of the other candidates under a popularity penalty, ``relevance − strength ·
    log-popularity`` (as :class:`PopularityPenalty`, whose list-wide re-ordering this
    confines to the bottom of the list, where a miss costs NDCG least). Each shopper's
    discoveries are their own well-scored, less-sold products, so catalogue coverage grows
    with the number of shoppers while the top of every list is untouched.
    """

    name = "discovery"
    value_patterns = (SLOTS, NONNEG)

    def __init__(self, slots: float = 2, strength: float = 2.0) -> None:
        if not 0 <= float(slots) <= MAX_SLOTS or float(slots) != int(slots):
            raise ConfigError(f"discovery slots must be a whole number in 0..{MAX_SLOTS}, "
                              f"got {slots!r}")
        self.slots = int(slots)
        self.strength = _check_strength(strength, upper=None)

    def rerank(self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        keep = max(k - self.slots, 0)
        if keep >= k or ids.shape[1] <= keep:
            return truncate(ids, scores, k)
        penalised = PopularityPenalty(self.strength)
        if keep == 0:
            return penalised.rerank(ids, scores, k, context, rows)
        tail_ids, tail_scores = penalised.rerank(ids[:, keep:], scores[:, keep:], k - keep,
                                                 context, rows)
        # the penalty's objective (≤ 1) orders the discoveries; the kept head scores
        # 2 + relevance, so the returned scores still sort the whole list
        head_scores = 2.0 + relevance(scores[:, :keep])
        return truncate(np.hstack([ids[:, :keep], tail_ids]),
                        np.hstack([head_scores, tail_scores]), k)
