"""Top-k maximum-inner-product retrieval over item vectors: a faiss inverted-file index for
big catalogues, exact numpy search below a threshold."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["VectorIndex", "exact_search", "recall_at"]


class VectorIndex:
    """Item vectors searchable by inner product.

    With at least ``exact_below`` items the vectors go into a faiss ``IndexIVFFlat`` with the
    inner-product metric: k-means splits the catalogue into ``nlist`` cells (default
    ``√n``), and a query scans the ``probe_share`` of cells whose centroids score highest,
    computing exact inner products inside them. Below the threshold, search is one exact
    matrix product. Measured on Complete Journey ALS vectors (68,509 items): recall@100
    0.98 against exact search at 35 % of cells (docs/benchmarks/). HNSW was tried first:
    factor vectors have widely spread norms, and HNSW (inner product directly, or after the
    MIPS→L2 reduction) stayed at recall@100 0.83–0.87. ``add`` appends new items to their
    nearest cell, so products added live stay retrievable. A query whose probed cells hold
    fewer than ``k`` items is answered exactly.
    """

    def __init__(self, vectors: np.ndarray, *, exact_below: int = 20_000,
                 nlist: int | None = None, probe_share: float = 0.35,
                 random_state: int = 0) -> None:
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dim = vecs.shape[1]
        self.exact = len(vecs) < exact_below
        self._vectors = vecs
        self._index = None
        if not self.exact:
            import faiss

            cells = int(nlist or max(1, round(math.sqrt(len(vecs)))))
            quantizer = faiss.IndexFlatIP(self.dim)
            index = faiss.IndexIVFFlat(quantizer, self.dim, cells, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = int(random_state)
            index.train(vecs)
            index.add(vecs)
            index.nprobe = max(1, math.ceil(probe_share * cells))
            self._quantizer = quantizer  # keep it alive as long as the index
            self._index = index

    def __len__(self) -> int:
        return len(self._vectors)

    def add(self, vectors: np.ndarray) -> None:
        vecs = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        self._vectors = np.vstack([self._vectors, vecs])
        if self._index is not None:
            self._index.add(vecs)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, scores)`` of the ``k`` highest inner products per query row (``-1`` /
        ``-inf`` where fewer items are found)."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if self._index is not None:
            scores, ids = self._index.search(q, int(k))
            ids = ids.astype(np.int64)
            scores = np.where(ids >= 0, scores, -np.inf)
            short = np.flatnonzero((ids >= 0).sum(axis=1) < min(int(k), len(self)))
            if len(short):  # the probed cells held too few items: answer those exactly
                ids[short], scores[short] = exact_search(self._vectors, q[short], int(k))
            return ids, scores
        return exact_search(self._vectors, q, int(k))


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` inner products (ties by lower index)."""
    scores = queries @ vectors.T
    n = scores.shape[1]
    kk = min(k, n)
    ids = np.full((len(queries), k), -1, dtype=np.int64)
    vals = np.full((len(queries), k), -np.inf, dtype=np.float32)
    if kk == 0:
        return ids, vals
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=-1)
    ids[:, :kk] = np.take_along_axis(part, order, axis=1)
    vals[:, :kk] = np.take_along_axis(part_scores, order, axis=1)
    return ids, vals


def recall_at(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each exact top-k list found in the approximate one."""
    hits = [len(set(a[a >= 0]) & set(e[e >= 0])) / max(1, int((e >= 0).sum()))
            for a, e in zip(approx, exact, strict=True)]
    return float(np.mean(hits)) if hits else 0.0
