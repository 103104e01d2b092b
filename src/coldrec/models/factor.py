"""Matrix-factorisation models: a shared factor base and ALS (through ``implicit``)."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from coldrec.data.dataset import Dataset
from coldrec.models.base import Recommender
from coldrec.models.capabilities import RetrievalVectors

__all__ = ["ALS", "FactorModel"]


class FactorModel(RetrievalVectors, Recommender):
    """score(u, i) = user_factors[u] · item_factors[i].

    Users whose query-time history differs from their stored one (new users, new clicks)
    are folded in with :meth:`_fold_in`, without retraining.
    """

    user_state: ClassVar[tuple[str, ...]] = ("user_factors_",)
    user_factors_: np.ndarray
    item_factors_: np.ndarray

    @abstractmethod
    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """User factors for history rows (one row per user)."""

    def _stored_rows(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Which rows of ``history`` are exactly the stored history of a known user."""
        known = (users >= 0) & (users < self.n_users_)
        same = np.zeros(len(users), dtype=bool)
        for row in np.flatnonzero(known):
            given = history.indices[history.indptr[row]:history.indptr[row + 1]]
            stored = self.history_.indices[self.history_.indptr[users[row]]:
                                           self.history_.indptr[users[row] + 1]]
            same[row] = len(given) == len(stored) and np.array_equal(np.sort(given),
                                                                     np.sort(stored))
        return same

    def user_vectors(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Factor of each queried user: stored when the history is the trained one."""
        vectors = np.zeros((len(users), self.item_factors_.shape[1]), dtype=np.float32)
        stored = self._stored_rows(users, history)
        vectors[stored] = self.user_factors_[users[stored]]
        fold = np.flatnonzero(~stored & (np.diff(history.indptr) > 0))
        if len(fold):
            vectors[fold] = self._fold_in(sp.csr_matrix(history[fold]))
        return vectors

    def item_vectors(self) -> np.ndarray:
        return self.item_factors_

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        n_known = self.item_factors_.shape[0]
        out = np.zeros((len(users), self.n_items_), dtype=np.float32)
        vectors = self.user_vectors(users, sp.csr_matrix(history[:, :n_known]))
        out[:, :n_known] = vectors @ self.item_factors_.T
        return out


class ALS(FactorModel):
    """Implicit-feedback ALS (Hu, Koren, Volinsky 2008) via ``implicit``; fold-in of new
    users and clicks by one exact least-squares step (``recalculate_user``)."""

    name: ClassVar[str] = "als"

    def __init__(self, factors: int = 64, regularization: float = 10.0, alpha: float = 1.0,
                 iterations: int = 15, binary: bool = True, random_state: int = 0) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.binary = binary
        self.random_state = random_state

    def _solver(self) -> AlternatingLeastSquares:
        with threadpool_limits(limits=1, user_api="blas"):  # implicit checks BLAS threads
            return AlternatingLeastSquares(
                factors=int(self.factors), regularization=float(self.regularization),
                alpha=float(self.alpha), iterations=int(self.iterations),
                random_state=int(self.random_state), num_threads=0)

    def _history_matrix(self, data: Dataset) -> sp.csr_matrix:
        return (data.binary_matrix if self.binary else data.matrix).astype(np.float32)

    def _fit(self, data: Dataset) -> None:
        solver = self._solver()
        with threadpool_limits(limits=1, user_api="blas"):
            solver.fit(sp.csr_matrix(self.history_), show_progress=False)
        self.item_factors_ = np.asarray(solver.item_factors, dtype=np.float32)
        # one last user half-step against the final item factors: stored users and the same
        # history folded in for a new user then get exactly the same vector
        self.user_factors_ = self._fold_in(sp.csr_matrix(self.history_))

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        solver = self._solver()
        solver.item_factors = self.item_factors_
        solver.user_factors = np.zeros((1, self.item_factors_.shape[1]), dtype=np.float32)
        rows = history.copy()
        if self.binary:
            rows.data[:] = 1.0
        with threadpool_limits(limits=1, user_api="blas"):
            return np.asarray(solver.recalculate_user(np.arange(rows.shape[0]), rows),
                              dtype=np.float32)

