"""The hybrid's components for a batch of shoppers, each z-scored over every item: the
collaborative scores, the TF-IDF (lexical) scores, the user tower's prior, and the
sentence-vector parts (semantic, transfer) kept as directions; memoised for grid searches
and per request (:class:`HybridComponents`, mixed into :class:`~coldrec.models.hybrid.Hybrid`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.models.attributes import AttributeEncoder
from coldrec.models.blend import ItemSide
from coldrec.models.content import row_normalise
from coldrec.models.ranking import ZDirection, zscore

__all__ = ["FEW_USERS", "HybridComponents", "Parts"]

MEMO_BYTES = 4 << 30  # component scores kept per fitted model for grid searches
FEW_USERS = 8  # batches up to this size are ranked without a pass over every item vector
_SIDE_LOCK = threading.Lock()


class Parts(NamedTuple):
    """The z-scored components of a batch: full arrays, the sentence-vector ones as
    directions, and the words' raw side (the shoppers' TF-IDF profiles and the mean and
    standard deviation of their raw lexical scores) for :meth:`Hybrid._blend`."""

    arrays: dict[str, np.ndarray]
    directions: dict[str, ZDirection]
    terms: sp.csr_matrix
    lexical_moments: np.ndarray  # users × 2

    def row(self, r: int) -> Parts:
        """The parts of the ``r``-th shopper alone."""
        return Parts({k: v[r:r + 1] for k, v in self.arrays.items()},
                     {k: ZDirection(d.vectors[r:r + 1], d.offsets[r:r + 1])
                      for k, d in self.directions.items()},
                     sp.csr_matrix(self.terms[r]), self.lexical_moments[r:r + 1])

    @property
    def nbytes(self) -> int:
        return (sum(v.nbytes for v in self.arrays.values())
                + sum(d.nbytes for d in self.directions.values())
                + self.terms.data.nbytes + self.lexical_moments.nbytes)


def _parts_key(users: np.ndarray, history: sp.csr_matrix, attributes: pd.DataFrame | None,
               n_items: int) -> tuple[Any, ...]:
    """What the components of a batch depend on (besides the fitted state)."""
    history = sp.csr_matrix(history)
    return (users.tobytes(), history.indptr.tobytes(), history.indices.tobytes(),
            history.data.tobytes(), n_items, None if attributes is None else
            repr((list(attributes.columns), attributes.to_numpy(dtype=object).tolist())))


class HybridComponents:
    """Component computation of the hybrid (its fitted state lives on the model)."""

    cf_model_: Any
    lexical_: sp.csr_matrix
    item_embeddings_: np.ndarray
    tower_: np.ndarray
    user_features_: np.ndarray
    attribute_encoder_: dict[str, Any]
    transfer_: np.ndarray
    transfer_kernel: str
    n_items_: int
    n_users_: int

    _text_kernel: Callable[[int], np.ndarray]  # the model's item × item text kernel

    def _prior(self, users: np.ndarray, attributes: pd.DataFrame | None,
               history: sp.csr_matrix) -> np.ndarray:
        n_feats = self.user_features_.shape[1]
        known = (users >= 0) & (users < self.n_users_)
        feats = np.zeros((len(users), n_feats), dtype=np.float32)
        feats[:, 0] = 1.0
        feats[known] = self.user_features_[users[known]]
        if attributes is not None:
            given = pd.notna(attributes.to_numpy(dtype=object)).any(axis=1)
            if given.any():
                feats[given] = self._attribute_encoder().transform(
                    attributes.iloc[np.flatnonzero(given)])
        prior = np.asarray(sp.csr_matrix(feats) @ self.tower_[:n_feats])  # one-hot: sparse
        n_fit = self.tower_.shape[0] - n_feats  # items the cold-start tower reads (else 0)
        if n_fit:
            prior += np.asarray(sp.csr_matrix(history[:, :n_fit]) @ self.tower_[n_feats:])
        return prior

    def _attribute_encoder(self) -> AttributeEncoder:
        """The fitted attribute encoder (rebuilt from its JSON once per fit)."""
        cached = self.__dict__.get("_encoder")
        if cached is None or cached[0] is not self.attribute_encoder_:
            cached = self.__dict__["_encoder"] = (
                self.attribute_encoder_, AttributeEncoder.from_json(self.attribute_encoder_))
        return cached[1]

    def component_scores(self, users: np.ndarray, history: sp.csr_matrix,
                         attributes: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
        """The components (collaborative, lexical, semantic, transfer, prior), each z-scored
        per shopper over all items."""
        parts = self._parts(users, history, attributes)
        emb = self.item_embeddings_
        return {**parts.arrays, **{name: d.full(emb) for name, d in parts.directions.items()}}

    def _parts(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> Parts:
        """The z-scored components (:class:`Parts`).

        Batches (an evaluation) are memoised per (users, history) within a memory budget,
        so a grid over the score-time blend parameters computes them once; a request (one
        shopper, or a few answered together) is remembered per thread until the next, each
        shopper's row on its own too, so the reasons of a list reuse the scores that made it.
        """
        key = _parts_key(users, history, attributes, self.n_items_)
        if len(users) <= FEW_USERS:
            recent = self.__dict__.setdefault("_last", threading.local())
            found = getattr(recent, "parts", {}).get(key)
            if found is None:
                found = self._components(users, history, attributes)
                recent.parts = {key: found}
                if len(users) > 1:
                    for r in range(len(users)):
                        recent.parts[_parts_key(
                            users[r:r + 1], history[r],
                            None if attributes is None else attributes.iloc[[r]],
                            self.n_items_)] = found.row(r)
            return found
        if attributes is None:
            memo = self.__dict__.setdefault("_memo", {})
            if key in memo:
                return memo[key]
        parts = self._components(users, history, attributes)
        if attributes is None:
            used = sum(c.nbytes for c in memo.values())
            if used + parts.nbytes <= MEMO_BYTES:
                memo[key] = parts
        return parts

    def _components(self, users: np.ndarray, history: sp.csr_matrix,
                    attributes: pd.DataFrame | None) -> Parts:
        n_cf = self.cf_model_.n_items_
        cf = np.zeros((len(users), self.n_items_), dtype=np.float32)
        cf[:, :n_cf] = self.cf_model_._score(users, sp.csr_matrix(history[:, :n_cf]), None)
        profile = row_normalise(history)
        terms = sp.csr_matrix(profile @ self.lexical_)
        lexical = self._lexical_scores(terms)
        moments = np.stack([lexical.mean(axis=1), lexical.std(axis=1)], axis=1)
        arrays = {"collaborative": zscore(cf), "lexical": zscore(lexical),
                  "prior": zscore(self._prior(users, attributes, history))}
        emb = self.item_embeddings_
        stats = self._side().stats()
        # z-scores do not see a positive scale: the history's vector sum serves both the
        # semantic part (its mean) and the transfer's input
        summed = np.asarray(history @ emb)
        directions = {"semantic": ZDirection.of(summed, stats)}
        # the map reads each item through its text features: the embeddings, or in kernel
        # form its kernel row against the fitted items
        if self.transfer_kernel == "text":
            feats = self._text_kernel(self.transfer_.shape[0])
            arrays["transfer"] = zscore((np.asarray(history @ feats) @ self.transfer_)
                                        @ feats.T)
        else:
            directions["transfer"] = ZDirection.of(summed @ self.transfer_, stats)
        return Parts(arrays, directions, terms, moments)

    def _lexical_scores(self, terms: sp.csr_matrix) -> np.ndarray:
        """TF-IDF cosine of each profile (users × terms) with every item: through the
        posting lists of the profile's terms when they are short (a light shopper), else
        one pass over the TF-IDF matrix per shopper; batches in one sparse product."""
        side = self._side()
        if len(terms.indptr) - 1 > FEW_USERS:
            return (terms @ side.lexical_t()).toarray()
        postings = np.diff(side.lexical_t().indptr)
        if postings[terms.indices].sum() * 3 < self.lexical_.nnz:
            return (terms @ side.lexical_t()).toarray()
        return np.ascontiguousarray(np.asarray(self.lexical_ @ terms.toarray().T).T)

    def _side(self) -> ItemSide:
        """The item side of ranking (:class:`ItemSide`), kept while the items are."""
        with _SIDE_LOCK:
            side = self.__dict__.get("_item_side")
            if side is None or not side.holds(self.item_embeddings_, self.lexical_):
                side = self.__dict__["_item_side"] = ItemSide(self.item_embeddings_,
                                                              self.lexical_)
            return side
