"""The hybrid's final score for a few shoppers without a pass over every item vector.

The hybrid's score of item ``j`` is ``S_j = A_j + c_j · (e_j · v)``: the sentence-vector
parts (semantic, transfer) are one direction ``v`` over the item vectors ``e_j``, and
everything else (collaborative, words, prior, the blend weights and z-scores) is the
per-item ``A_j`` and slope ``c_j ≥ 0`` (:class:`Blend`). The z-score of the content part
needs its mean and variance over *all* items; they follow from the moments of the item
vectors and the TF-IDF × vector products kept in :class:`ItemSide`, so they cost
dimensions², not items × dimensions.

Ranking one shopper (:func:`top_scores`) then reads item vectors only where ``c_j > 0``
(with the default ``item_trust = 0``: products without interactions), gathering them when
they are few; when they are many (``item_trust > 0``) an inverted-file index over the item
vectors retrieves the ``N`` highest ``e_j · v`` and bounds the rest by the ``N``-th value:
``S_j ≤ A_j + c_j · bound``, so only items whose bound reaches the ``k``-th best exact score
are scored exactly. The result is the exact top ``k`` whenever the index finds the true top
``N`` of ``e · v`` (an inverted file scores exactly inside the cells it probes).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from coldrec.models.ann import VectorIndex

__all__ = ["FULL_PASS_ITEMS", "GATHER_ITEMS", "RETRIEVE_ITEMS", "Blend", "ItemSide", "top_scores"]

#: up to this many items needing their vector score, gather them instead of an index search
GATHER_ITEMS = 4096
#: when more items than this pass the bound, one full pass is cheaper than gathering them
FULL_PASS_ITEMS = 32_768
#: items the index retrieves per shopper (at least; ``8 k`` when that is more)
RETRIEVE_ITEMS = 512
#: catalogues smaller than this are scanned instead of indexed
INDEX_FROM = 20_000


class ItemSide:
    """What ranking needs from the item side, kept while the items are: the item vectors'
    sums (mean and covariance), the TF-IDF matrix transposed, TF-IDF × vectors (terms ×
    dimensions) and an inverted-file index over the vectors, each built on first use and
    grown in place when products are added."""

    def __init__(self, embeddings: np.ndarray, lexical: sp.csr_matrix) -> None:
        self.embeddings = embeddings
        self.lexical = lexical
        self._lock = threading.Lock()
        self._sums: tuple[np.ndarray, np.ndarray, int] | None = None
        self._stats: tuple[np.ndarray, np.ndarray] | None = None
        self._lexical_t: sp.csr_matrix | None = None
        self._lexical_emb: np.ndarray | None = None
        self._index: VectorIndex | None = None

    def holds(self, embeddings: np.ndarray, lexical: sp.csr_matrix) -> bool:
        return self.embeddings is embeddings and self.lexical is lexical

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and population covariance of the item vectors (float64)."""
        with self._lock:
            if self._stats is None:
                if self._sums is None:
                    self._sums = _sums(self.embeddings)
                total, gram, n = self._sums
                mean = total / max(n, 1)
                self._stats = (mean, gram / max(n, 1) - np.outer(mean, mean))
            return self._stats

    def lexical_t(self) -> sp.csr_matrix:
        """The TF-IDF matrix transposed (terms × items)."""
        with self._lock:
            if self._lexical_t is None:
                self._lexical_t = sp.csr_matrix(self.lexical.T)
            return self._lexical_t

    def lexical_embeddings(self) -> np.ndarray:
        """``Lᵀ E``: per term, the TF-IDF-weighted sum of the item vectors (terms × d,
        float32)."""
        with self._lock:
            if self._lexical_emb is None:
                self._lexical_emb = np.asarray(
                    self.lexical.T @ np.asarray(self.embeddings, dtype=np.float64),
                    dtype=np.float32)
            return self._lexical_emb

    def index(self) -> VectorIndex:
        """An inverted-file index over the item vectors (built on first use)."""
        with self._lock:
            if self._index is None:
                self._index = VectorIndex(self.embeddings, exact_below=INDEX_FROM,
                                          probe_share=0.1)
            return self._index

    def grow(self, embeddings: np.ndarray, lexical: sp.csr_matrix, n_new: int) -> None:
        """Products appended (the last ``n_new`` rows): every kept part grows in place."""
        new_e = np.asarray(embeddings[-n_new:], dtype=np.float64)
        new_l = sp.csr_matrix(lexical[-n_new:])
        with self._lock:
            if self._sums is not None:
                total, gram, n = self._sums
                self._sums = (total + new_e.sum(axis=0), gram + new_e.T @ new_e, n + n_new)
            self._stats = None
            self._lexical_t = None  # cheap to redo; a transposed append is not
            if self._lexical_emb is not None:
                self._lexical_emb = self._lexical_emb + np.asarray(new_l.T @ new_e,
                                                                   dtype=np.float32)
            if self._index is not None:
                self._index.add(embeddings[-n_new:])
            self.embeddings, self.lexical = embeddings, lexical


def _sums(vectors: np.ndarray, chunk: int = 16384) -> tuple[np.ndarray, np.ndarray, int]:
    n, d = vectors.shape
    total, gram = np.zeros(d), np.zeros((d, d))
    for start in range(0, n, chunk):
        block = np.asarray(vectors[start:start + chunk], dtype=np.float64)
        total += block.sum(axis=0)
        gram += block.T @ block
    return total, gram, n


@dataclass
class Blend:
    """Final scores of a few shoppers as ``base + slope · (E @ direction)`` per row."""

    base: np.ndarray  # users × items
    slope: np.ndarray  # users × items, ≥ 0
    direction: np.ndarray  # users × d

    def full(self, embeddings: np.ndarray) -> np.ndarray:
        """Every item's score (one pass over the item vectors)."""
        return self.base + self.slope * (self.direction.astype(np.float32) @ embeddings.T)


def top_scores(blend: Blend, side: ItemSide, usable: np.ndarray, k: int) -> np.ndarray:
    """Scores exact for every usable item that can be among a row's ``k`` best, below the
    ``k``-th best elsewhere, ``-inf`` where not ``usable`` (see the module docstring)."""
    emb = side.embeddings
    out = np.array(blend.base, dtype=np.float32)
    for r in range(out.shape[0]):
        c, v = blend.slope[r], blend.direction[r].astype(np.float32)
        need = np.flatnonzero(usable[r] & (c > 0))
        if len(need) <= GATHER_ITEMS:
            out[r, need] += c[need] * (emb[need] @ v)
        else:
            out[r] = _bounded(out[r], c, v, usable[r], k, side)
        out[r, ~usable[r]] = -np.inf
    return out


def _bounded(base: np.ndarray, c: np.ndarray, v: np.ndarray, usable: np.ndarray, k: int,
             side: ItemSide) -> np.ndarray:
    """One row through the index: retrieved items exact, the rest bounded by the last
    retrieved value and scored exactly only where the bound reaches the ``k``-th best."""
    emb = side.embeddings
    ids, vals = side.index().search(v[None, :], max(RETRIEVE_ITEMS, 8 * k))
    keep = ids[0] >= 0
    found, dots = ids[0][keep], vals[0][keep].astype(np.float64)
    row = base.copy()
    row[found] += c[found] * dots
    bound = dots[-1] if len(found) == ids.shape[1] else -np.inf
    exact = usable & (c == 0)
    exact[found] = usable[found]
    tau = _kth(row[exact], k)
    rest = np.flatnonzero(usable & ~exact)
    upper = base[rest] + c[rest] * bound
    extra = rest[upper >= tau]
    if len(extra) > FULL_PASS_ITEMS:  # the bound did not prune: one full pass
        return base + c * (emb @ v)
    row[rest] = upper  # below the k-th best: not shown, so its exact value is not needed
    row[extra] = base[extra] + c[extra] * (emb[extra] @ v)
    return row


def _kth(values: np.ndarray, k: int) -> float:
    if len(values) < k:
        return -np.inf
    return float(np.partition(values, len(values) - k)[len(values) - k])
