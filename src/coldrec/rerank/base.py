"""The re-ranking contract: candidate lists in, shorter re-ordered lists out.

A re-ranker works on any model's output: ``ids`` and ``scores`` of shape
``(n_users, depth)`` (best first, ``-1`` / ``-inf`` in empty slots), and returns the final
``(n_users, k)`` lists. What it may know about items and shoppers (popularity, text
vectors, prices, categories, histories) comes in a :class:`RerankContext`, built once from
a :class:`~coldrec.data.Dataset`; re-rankers never see a model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from coldrec.data.dataset import Dataset
from coldrec.errors import ConfigError

__all__ = ["COUNT", "NONNEG", "POSUNIT", "SLOTS", "UNIT", "Chain", "RerankContext", "Reranker",
           "relevance"]

#: written values: a number ≥ 0; one in [0, 1]; one in (0, 1]; a slot count 0..1000; a count
NONNEG = r"\d{1,6}(?:\.\d{1,6})?"
UNIT = r"(?:0(?:\.\d{1,6})?|1(?:\.0{1,6})?)"
POSUNIT = r"(?:0\.\d{0,5}[1-9]\d{0,5}|1(?:\.0{1,6})?)"
SLOTS = r"(?:\d{1,3}|1000)(?:\.0{1,6})?"
COUNT = r"\d{1,9}(?:\.0{1,6})?"


@dataclass
class RerankContext:
    """What re-rankers may use, indexed by internal item / user index.

    ``item_counts``: training interactions per item (popularity); ``history``: the users'
    known items (CSR, rows = the users being re-ranked, or ``None``); ``item_vectors``:
    L2-normalised text vectors (for diversity); ``catalog``: the item table (price,
    category, ``in_stock`` ...), row ``i`` describing item ``i``.
    """

    item_counts: np.ndarray
    history: sp.csr_matrix | None = None
    item_vectors: np.ndarray | None = None
    catalog: object | None = field(default=None, repr=False)

    @classmethod
    def from_dataset(cls, data: Dataset, *, history: sp.csr_matrix | None = None,
                     item_vectors: np.ndarray | None = None) -> RerankContext:
        """Popularity and catalog from ``data``; ``history`` defaults to its user rows."""
        vectors = None
        if item_vectors is not None:
            vectors = np.asarray(item_vectors, dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        return cls(item_counts=np.asarray(data.item_counts, dtype=np.float64),
                   history=data.binary_matrix if history is None else history,
                   item_vectors=vectors, catalog=data.catalog)

    def user_history(self, rows: np.ndarray) -> sp.csr_matrix | None:
        """History rows of the users being re-ranked (``rows`` index ``history``)."""
        return None if self.history is None else self.history[rows]


def relevance(scores: np.ndarray) -> np.ndarray:
    """Per-row min-max scaling of finite scores to [0, 1] (empty slots stay ``-inf``)."""
    finite = np.isfinite(scores)
    lo = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
    hi = np.where(finite, scores, -np.inf).max(axis=1, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    out = np.where(finite, (scores - np.where(np.isfinite(lo), lo, 0.0)) / span, -np.inf)
    return out


class Reranker(ABC):
    """Re-orders candidate lists. ``strength`` 0 must return the input order."""

    name: str = "reranker"
    #: the written form of each constructor value in a spec (``NAME:value:value``), as
    #: regular expressions (:data:`coldrec.rerank.SPEC_PATTERN` is built from them)
    value_patterns: tuple[str, ...] = ()

    @property
    def needs_item_vectors(self) -> bool:
        """True when the re-ranker reads ``context.item_vectors`` (MMR)."""
        return False

    @abstractmethod
    def rerank(self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The top ``k`` of each candidate row after re-ranking.

        ``rows`` are the users' rows in ``context.history`` (default ``0..n-1``). Returns
        ``(ids, scores)`` of shape ``(n, k)``; the scores are the re-ranker's objective, so
        they only order a row and mean nothing across re-rankers.
        """

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


class Chain(Reranker):
    """Re-rankers applied in turn. Every stage picks its top ``k``; for the next stage the
    candidates it did not pick follow in the order the stage gives the whole depth, so
    later stages still see every candidate, best first by the stages so far."""

    name = "chain"

    def __init__(self, stages: Sequence[Reranker]) -> None:
        if not stages:
            raise ConfigError("a re-ranker chain needs at least one stage")
        self.stages = list(stages)

    @property
    def needs_item_vectors(self) -> bool:
        return any(stage.needs_item_vectors for stage in self.stages)

    def rerank(self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        for i, stage in enumerate(self.stages):
            top_ids, top_scores = stage.rerank(ids, scores, k, context, rows)
            if i == len(self.stages) - 1:
                return top_ids, top_scores
            full_ids, full_scores = stage.rerank(ids, scores, ids.shape[1], context, rows)
            ids, scores = _append_rest(top_ids, top_scores, full_ids, full_scores)
        raise AssertionError("unreachable")


def _append_rest(top_ids: np.ndarray, top_scores: np.ndarray, ids: np.ndarray,
                 scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``top`` followed by the rest of ``ids`` (not in ``top``) in their order."""
    n, depth = ids.shape
    out_ids = np.full((n, depth), -1, dtype=np.int64)
    out_scores = np.full((n, depth), -np.inf)
    for r in range(n):
        chosen = top_ids[r][top_ids[r] >= 0]
        rest = ~np.isin(ids[r], chosen) & (ids[r] >= 0)
        merged_ids = np.concatenate([chosen, ids[r][rest]])[:depth]
        merged = np.concatenate([top_scores[r][top_ids[r] >= 0], scores[r][rest]])[:depth]
        out_ids[r, : len(merged_ids)] = merged_ids
        out_scores[r, : len(merged)] = merged
    return out_ids, out_scores


def truncate(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` columns, padded with empty slots when the rows are shorter."""
    n, depth = ids.shape
    if depth >= k:
        return ids[:, :k].copy(), scores[:, :k].astype(np.float64)
    out_ids = np.full((n, k), -1, dtype=np.int64)
    out_scores = np.full((n, k), -np.inf)
    out_ids[:, :depth] = ids
    out_scores[:, :depth] = scores
    return out_ids, out_scores


def greedy(ids: np.ndarray, rel: np.ndarray, k: int, gain) -> tuple[np.ndarray, np.ndarray]:
    """Greedy list building shared by the set-aware re-rankers.

    For each row, ``gain(row, chosen, candidates_mask)`` returns the objective of adding
    each candidate given the slots already chosen; the best valid candidate is appended.
    """
    n, _depth = ids.shape
    out_ids = np.full((n, k), -1, dtype=np.int64)
    out_scores = np.full((n, k), -np.inf)
    for r in range(n):
        free = (ids[r] >= 0) & np.isfinite(rel[r])
        chosen: list[int] = []
        for slot in range(min(k, int(free.sum()))):
            objective = np.where(free, gain(r, chosen, free), -np.inf)
            best = int(np.argmax(objective))
            chosen.append(best)
            free[best] = False
            out_ids[r, slot] = ids[r, best]
            out_scores[r, slot] = objective[best]
    return out_ids, out_scores
