"""Head and tail of a catalogue by popularity: the rules re-rankers, metrics and reports
share."""

from __future__ import annotations

import numpy as np

__all__ = ["head_items", "popularity_groups", "round_half_up"]


def round_half_up(x: float) -> int:
    """``floor(x + 0.5)``."""
    return int(np.floor(x + 0.5))


def head_items(item_counts: np.ndarray, share: float = 0.2) -> np.ndarray:
    """Boolean mask of the head: the top ``round_half_up(share·n)`` items by count,
    sorted by count descending with a stable sort (equal counts: lower index first)."""
    n = len(item_counts)
    order = np.argsort(-np.asarray(item_counts, dtype=np.float64), kind="stable")
    mask = np.zeros(n, dtype=bool)
    mask[order[: round_half_up(share * n)]] = True
    return mask


def popularity_groups(item_counts: np.ndarray, head: float = 0.2, tail: float = 0.2
                      ) -> np.ndarray:
    """Group of each item: 0 = head, 1 = mid, 2 = tail.

    Items sorted by count (descending, ties by index); the head is the most popular items
    that together hold the first ``head`` share of interactions, the tail the least popular
    that hold the last ``tail`` share (Abdollahpouri et al. 2021).
    """
    counts = np.asarray(item_counts, dtype=np.float64)
    order = np.argsort(-counts, kind="stable")
    share = np.cumsum(counts[order]) / max(counts.sum(), 1e-12)
    groups = np.ones(len(counts), dtype=np.int64)
    groups[order[share <= head]] = 0
    groups[order[share > 1.0 - tail]] = 2
    groups[order[0]] = 0
    return groups
