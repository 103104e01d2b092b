"""Item-to-item models: item-KNN (cosine / BM25 via ``implicit``) and EASE (closed form)."""

from __future__ import annotations

import warnings
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from threadpoolctl import threadpool_limits

from coldrec.data.dataset import Dataset
from coldrec.errors import ConfigError
from coldrec.models.base import Recommender

__all__ = ["EASE", "ItemKNN"]


class ItemKNN(Recommender):
    """Item-based nearest neighbours: score = history @ item-item similarity.

    The similarity keeps the ``neighbors`` most similar items per item, computed by
    ``implicit`` with cosine or BM25 weighting of the user×item matrix. New clicks fold in
    directly: pass them as ``history``.
    """

    name: ClassVar[str] = "itemknn"

    def __init__(self, neighbors: int = 100, similarity: Literal["cosine", "bm25"] = "cosine",
                 K1: float = 1.2, B: float = 0.75, binary: bool = True,
                 random_state: int = 0) -> None:
        self.neighbors = neighbors
        self.similarity = similarity
        self.K1 = K1
        self.B = B
        self.binary = binary
        self.random_state = random_state

    def _fit(self, data: Dataset) -> None:
        if self.similarity == "cosine":
            knn = CosineRecommender(K=int(self.neighbors))
        elif self.similarity == "bm25":
            knn = BM25Recommender(K=int(self.neighbors), K1=float(self.K1), B=float(self.B))
        else:
            raise ConfigError(f"similarity must be cosine or bm25, not {self.similarity!r}")
        matrix = data.binary_matrix if self.binary else data.matrix
        with warnings.catch_warnings():
            # implicit converts its own intermediate COO result and warns about it
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            knn.fit(sp.csr_matrix(matrix, dtype=np.float32), show_progress=False)
        self.similarity_ = sp.csr_matrix(knn.similarity, dtype=np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        hist = history
        if self.binary:
            hist = hist.copy()
            hist.data[:] = 1.0
        return np.asarray((hist @ self.similarity_).todense(), dtype=np.float32)


class EASE(Recommender):
    """EASE (Steck 2019): a closed-form item-item linear autoencoder.

    ``B = I - P · diag(1/diag(P))`` with ``P = (XᵀX + λI)⁻¹`` and ``diag(B) = 0``; score =
    history @ B. Dense in the number of items: refused above ``max_items`` (memory grows with
    its square).
    """

    name: ClassVar[str] = "ease"

    def __init__(self, lam: float = 500.0, binary: bool = True, max_items: int = 30_000,
                 random_state: int = 0) -> None:
        self.lam = lam
        self.binary = binary
        self.max_items = max_items
        self.random_state = random_state

    def _fit(self, data: Dataset) -> None:
        if data.n_items > self.max_items:
            raise ConfigError(
                f"EASE needs an {data.n_items}×{data.n_items} dense matrix "
                f"({data.n_items**2 * 8 / 2**30:.1f} GiB); raise max_items or use another model"
            )
        X = (data.binary_matrix if self.binary else data.matrix).astype(np.float64)
        with threadpool_limits(limits=None):
            gram = np.asarray((X.T @ X).todense(), dtype=np.float64)
            gram[np.diag_indices_from(gram)] += float(self.lam)
            P = np.linalg.inv(gram)
        B = P / (-np.diag(P))
        B[np.diag_indices_from(B)] = 0.0
        self.weights_ = B.astype(np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        hist = history
        if self.binary:
            hist = hist.copy()
            hist.data[:] = 1.0
        return np.asarray(hist @ self.weights_, dtype=np.float32)
