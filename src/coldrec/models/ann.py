"""Top-k maximum-inner-product retrieval over item vectors: faiss HNSW for big catalogues,
exact numpy search below a threshold."""

from __future__ import annotations

import numpy as np

__all__ = ["VectorIndex", "recall_at"]


class VectorIndex:
    """Item vectors searchable by inner product.

    With at least ``exact_below`` items the vectors go into a faiss ``IndexHNSWFlat``
    (``m`` links per node, ``ef_search`` candidates explored per query); below it, search
    is an exact matrix product. Inner-product search is reduced to nearest-neighbour search
    (Bachrach et al. 2014): every item gets one extra coordinate ``sqrt(R² − |x|²)`` so all
    items lie on a sphere of radius ``R`` and L2 order equals inner-product order; the
    ``oversample × k`` candidates are re-scored exactly. ``add`` appends new items (HNSW inserts
    incrementally; a new item longer than ``R`` is clipped to the sphere for retrieval
    only), so products added live stay retrievable.
    """

    def __init__(self, vectors: np.ndarray, *, exact_below: int = 20_000, m: int = 32,
                 ef_construction: int = 200, ef_search: int = 400,
                 oversample: int = 3) -> None:
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dim = vecs.shape[1]
        self.exact = len(vecs) < exact_below
        self._vectors = vecs
        self._index = None
        self.oversample = int(oversample)
        self._radius = float(np.linalg.norm(vecs, axis=1).max()) if len(vecs) else 1.0
        if not self.exact:
            import faiss

            index = faiss.IndexHNSWFlat(self.dim + 1, int(m))
            index.hnsw.efConstruction = int(ef_construction)
            index.hnsw.efSearch = int(ef_search)
            index.add(self._augment(vecs))
            self._index = index

    def _augment(self, vecs: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        vecs = np.where(norms > self._radius, vecs * (self._radius / np.maximum(norms, 1e-12)),
                        vecs)
        norms2 = np.einsum("ij,ij->i", vecs, vecs)
        extra = np.sqrt(np.maximum(self._radius ** 2 - norms2, 0.0))[:, None]
        return np.ascontiguousarray(np.hstack([vecs, extra]), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._vectors)

    def add(self, vectors: np.ndarray) -> None:
        vecs = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        self._vectors = np.vstack([self._vectors, vecs])
        if self._index is not None:
            self._index.add(self._augment(vecs))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, scores)`` of the ``k`` highest inner products per query row (``-1`` /
        ``-inf`` where fewer items exist)."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = int(k)
        if self._index is not None:
            padded = np.hstack([q, np.zeros((len(q), 1), dtype=np.float32)])
            _, ids = self._index.search(np.ascontiguousarray(padded), k * self.oversample)
            ids = ids.astype(np.int64)
            scores = np.einsum("qd,qkd->qk", q, self._vectors[np.maximum(ids, 0)])
            scores = np.where(ids >= 0, scores, -np.inf)
            order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            return np.take_along_axis(ids, order, 1), np.take_along_axis(scores, order, 1)
        return exact_search(self._vectors, q, k)


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
