"""Item-to-item models: item-KNN (cosine / BM25 via ``implicit``), EASE and DLAE (closed
forms)."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from threadpoolctl import threadpool_limits

from coldrec.data.dataset import Dataset
from coldrec.errors import ConfigError
from coldrec.models.base import Recommender

__all__ = ["DLAE", "EASE", "ItemKNN", "UserKNN", "binarized"]


def binarized(matrix: sp.spmatrix) -> sp.csr_matrix:
    """A float32 CSR copy with every stored value set to 1."""
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.data[:] = 1.0
    return out


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
        hist = binarized(history) if self.binary else history
        return np.asarray((hist @ self.similarity_).todense(), dtype=np.float32)

    def anchors(self, user: int, items: Any, history: Any = None) -> np.ndarray:
        hist = self.user_history(np.asarray([user], dtype=np.int64), history)
        cached = self.__dict__.get("_similarity_t")
        if cached is None or cached[0] is not self.similarity_:
            cached = self.__dict__["_similarity_t"] = (self.similarity_,
                                                       sp.csr_matrix(self.similarity_.T))
        picked = np.atleast_1d(np.asarray(items, dtype=np.int64))
        out = np.full(len(picked), -1, dtype=np.int64)
        weight = np.zeros(self.n_items_, dtype=np.float32)
        weight[hist.indices] = hist.data
        columns = cached[1]
        for pos, item in enumerate(picked):  # column j of S: the items that lead to j
            if not 0 <= item < columns.shape[0]:
                continue
            row = slice(columns.indptr[item], columns.indptr[item + 1])
            terms = weight[columns.indices[row]] * columns.data[row]
            if len(terms) and terms.max() > 0:
                out[pos] = columns.indices[row][int(terms.argmax())]
        return out


def largest_term(history: sp.csr_matrix, weights: Any, items: Any) -> np.ndarray:
    """Per item: the history item ``i`` with the largest ``h_i · W[i, item]`` (> 0), else
    -1 (items the item-to-item matrix ``W`` does not cover included)."""
    picked = np.atleast_1d(np.asarray(items, dtype=np.int64))
    hist = sp.csr_matrix(history)[0]
    mask = hist.indices < weights.shape[0]
    own, values = hist.indices[mask], hist.data[mask]
    out = np.full(len(picked), -1, dtype=np.int64)
    inside = (picked >= 0) & (picked < weights.shape[1])
    if not len(own) or not inside.any():
        return out
    block = weights[own][:, picked[inside]]
    block = block.toarray() if sp.issparse(block) else np.asarray(block)
    terms = block * values[:, None]
    best = terms.argmax(axis=0)
    found = terms[best, np.arange(terms.shape[1])] > 0
    out[np.flatnonzero(inside)[found]] = own[best[found]]
    return out


def check_dense(n_items: int, max_items: int, model: str) -> None:
    """Refuse a dense item × item model over more than ``max_items`` items."""
    if n_items > max_items:
        raise ConfigError(
            f"{model} needs a dense {n_items:,} × {n_items:,} item matrix "
            f"({n_items**2 * 8 / 2**30:.1f} GiB) but max_items is {max_items:,}; raise "
            "max_items or use another model")


def _design(data: Dataset, binary: bool, max_items: int, model: str) -> sp.csr_matrix:
    """The float64 user × item input of a dense item × item model, after the size check."""
    check_dense(data.n_items, max_items, model)
    return (data.binary_matrix if binary else data.matrix).astype(np.float64)


def _linear_autoencoder(X: sp.csr_matrix, lam: float, zero_diagonal: bool,
                        dropout: float = 0.0) -> np.ndarray:
    """``argmin ‖X − XB‖² + Σ_j penalty_j ‖B_j·‖²`` (row j of B penalised by
    ``penalty_j = λ + p/(1−p) · (XᵀX)_jj``, p = ``dropout``), with ``diag(B) = 0`` when
    ``zero_diagonal``.

    With ``P = (XᵀX + diag(penalty))⁻¹``: ``B = I − P · diag(1/diag(P))`` under the
    constraint (EASE's Lagrangian solution), ``B = I − P · diag(penalty)`` without it (that
    is ``(XᵀX + diag(penalty))⁻¹ XᵀX``).
    """
    with threadpool_limits(limits=None):
        gram = np.asarray((X.T @ X).todense(), dtype=np.float64)
        penalty = float(lam) + dropout / (1.0 - dropout) * np.diag(gram)
        gram[np.diag_indices_from(gram)] += penalty
        P = np.linalg.inv(gram)
    if zero_diagonal:
        B = P / (-np.diag(P))
        B[np.diag_indices_from(B)] = 0.0
    else:
        B = -P * penalty[None, :]
        B[np.diag_indices_from(B)] += 1.0
    return B


class EASE(Recommender):
    """EASE (Steck 2019): a closed-form item-item linear autoencoder.

    ``B = I - P · diag(1/diag(P))`` with ``P = (XᵀX + λI)⁻¹`` and ``diag(B) = 0``; score =
    history @ B. Dense in the number of items: refused above ``max_items`` (memory grows with
    its square).

    ``ips`` > 0 reweights popularity at training time: the item columns are weighted by
    ``w = count^-ips`` (normalised to mean 1) before the closed form, and the weighting is
    undone on output, ``B = diag(w) · B_w · diag(1/w)``, so rarely bought items weigh more in
    the regression without their scores being inflated by the weights themselves. Measured
    on ml-100k P1 (docs/benchmarks/): at λ=100 it raises NDCG@10 0.341 → 0.355, but it
    does not widen the tail; for tail reach use a re-ranker or BPR's popularity negatives.
    """

    name: ClassVar[str] = "ease"

    def __init__(self, lam: float = 500.0, ips: float = 0.0, binary: bool = True,
                 max_items: int = 30_000, random_state: int = 0) -> None:
        self.lam = lam
        self.ips = ips
        self.binary = binary
        self.max_items = max_items
        self.random_state = random_state

    def check_catalogue(self, n_items: int) -> None:
        check_dense(n_items, self.max_items, "EASE")

    def _fit(self, data: Dataset) -> None:
        X = _design(data, self.binary, self.max_items, "EASE")
        w = np.ones(data.n_items)
        if self.ips:
            w = np.maximum(np.asarray(data.binary_matrix.sum(axis=0)).ravel(), 1.0) ** -float(
                self.ips)
            w /= w.mean()
            X = X @ sp.diags(w)
        B = _linear_autoencoder(X, float(self.lam), zero_diagonal=True)
        if self.ips:
            B = w[:, None] * B / w[None, :]
        self.weights_ = B.astype(np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        hist = binarized(history) if self.binary else history
        return np.asarray(hist @ self.weights_, dtype=np.float32)

    def anchors(self, user: int, items: Any, history: Any = None) -> np.ndarray:
        hist = self.user_history(np.asarray([user], dtype=np.int64), history)
        return largest_term(hist, self.weights_, items)


class DLAE(Recommender):
    """Dropout linear autoencoder (Steck 2020, "Autoencoders that don't overfit towards the
    identity"), closed form.

    Training EASE's item-item regression on inputs with each item dropped with probability
    ``dropout`` (p) equals, in expectation, a ridge penalty that grows with the item's
    popularity: ``Λ = λI + p/(1−p) · diag(XᵀX)``. Popular items, which otherwise learn to
    predict themselves and their frequent companions, are held back most; rare ones keep
    their few but telling co-occurrences. ``zero_diagonal=False`` is DLAE,
    ``B = (XᵀX + Λ)⁻¹ XᵀX`` (the penalty alone keeps B from the identity);
    ``zero_diagonal=True`` is EDLAE (emphasised denoising: EASE's constraint with Λ).
    ``dropout=0, zero_diagonal=True`` is EASE. score = history @ B without the self term:
    a shopper's own item i is scored by their other items only (B's diagonal says how much an
    item predicts itself, nothing about what to recommend, and left in it makes the seen
    items outliers of every per-shopper standardisation a blend does). Unseen items' scores
    are exactly history @ B. Dense in the number of items (refused above ``max_items``).
    """

    name: ClassVar[str] = "dlae"

    def __init__(self, lam: float = 300.0, dropout: float = 0.5, zero_diagonal: bool = False,
                 binary: bool = True, max_items: int = 30_000, random_state: int = 0) -> None:
        self.lam = lam
        self.dropout = dropout
        self.zero_diagonal = zero_diagonal
        self.binary = binary
        self.max_items = max_items
        self.random_state = random_state

    def check_catalogue(self, n_items: int) -> None:
        check_dense(n_items, self.max_items, "DLAE")

    def _fit(self, data: Dataset) -> None:
        p = float(self.dropout)
        if not 0.0 <= p < 1.0:
            raise ConfigError(f"dlae dropout must be in [0, 1), not {self.dropout!r}")
        if float(self.lam) < 0 or (float(self.lam) == 0 and p == 0):
            raise ConfigError(f"dlae needs lam > 0 or dropout > 0 (lam={self.lam!r})")
        X = _design(data, self.binary, self.max_items, "DLAE")
        self.weights_ = _linear_autoencoder(X, float(self.lam), bool(self.zero_diagonal),
                                            dropout=p).astype(np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        hist = sp.csr_matrix(binarized(history) if self.binary else history)
        scores = np.asarray(hist @ self.weights_, dtype=np.float32)
        if not self.zero_diagonal:  # drop each history item's self term
            hist.sum_duplicates()
            rows = np.repeat(np.arange(hist.shape[0]), np.diff(hist.indptr))
            scores[rows, hist.indices] -= hist.data * np.diag(self.weights_)[hist.indices]
        return scores

    def anchors(self, user: int, items: Any, history: Any = None) -> np.ndarray:
        hist = self.user_history(np.asarray([user], dtype=np.int64), history)
        return largest_term(hist, self.weights_, items)


class UserKNN(Recommender):
    """User-based collaborative filtering with cosine similarity.

    For each queried shopper, the ``neighbors`` most similar training users (cosine over
    binary histories, the shopper themself excluded) vote for their items, weighted by
    similarity. Similarities are computed per batch against the sparse training matrix and
    cut to the top ``neighbors`` — there is no dense user×user matrix. New shoppers and
    new clicks fold in directly: their given history is compared with everybody's.
    """

    binary_history: ClassVar[bool] = True
    name: ClassVar[str] = "userknn"
    #: a known shopper never counts as their own neighbour; a new one with the same history
    #: does count that shopper, so fold-in is close to, not equal to, the trained answer
    fold_in_exact: ClassVar[bool] = False

    def __init__(self, neighbors: int = 50, shrink: float = 0.0, random_state: int = 0) -> None:
        self.neighbors = neighbors
        self.shrink = shrink
        self.random_state = random_state

    def _fit(self, data: Dataset) -> None:
        norms = np.sqrt(np.asarray(self.history_.sum(axis=1)).ravel())
        self.user_norms_ = norms.astype(np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        train = self.history_
        hist = binarized(history[:, : train.shape[1]])
        overlap = np.asarray((hist @ train.T).todense(), dtype=np.float32)  # batch × users
        q_norm = np.sqrt(np.asarray(hist.sum(axis=1)).ravel())
        sims = overlap / (q_norm[:, None] * self.user_norms_[None, :] + float(self.shrink)
                          + 1e-12)
        known = (users >= 0) & (users < self.n_users_)
        sims[np.flatnonzero(known), users[known]] = 0.0  # nobody is their own neighbour
        k = min(int(self.neighbors), sims.shape[1])
        if k < sims.shape[1]:
            cut = np.argpartition(-sims, k - 1, axis=1)[:, k:]
            np.put_along_axis(sims, cut, 0.0, axis=1)
        out = np.zeros((len(users), self.n_items_), dtype=np.float32)
        out[:, : train.shape[1]] = (sp.csr_matrix(sims) @ train).toarray()
        return out
