"""The default model: collaborative filtering and language-model signals in one ranking.

Components, each z-scored per shopper over all items before they are combined:

* **collaborative** — a warm-start model (EASE by default, item-KNN where the catalogue is too
  big for EASE's dense matrix, or DLAE: ``cf="dlae"`` with ``cf_lam``/``cf_dropout``) over
  the shopper's history;
* **content** — what the text says: TF-IDF cosine between the shopper's history and each
  product (lexical), sentence-encoder cosine (semantic, ``semantic_weight``), and a
  *collaborative transfer* (``transfer_weight``): a linear map learned on warm items that
  takes text embeddings into collaborative space. It is the closed-form denoising linear
  autoencoder in text space: ``M = argmin E‖R − (R̃E) M Eᵀ‖² + λ‖M‖²`` with item-dropout
  ``p`` on the input R̃ (the DropoutNet idea, solved exactly), so a product with zero
  interactions gets collaborative-quality scores from its text alone (``transfer_lam``,
  ``transfer_dropout`` and the output ridge ``transfer_lam_out`` are its settings). With
  ``transfer_kernel="text"`` the same map is solved in kernel form
  (:func:`fit_kernel_transfer`) over the item × item text kernel ``K = EEᵀ/s + TTᵀ``
  (sentence-encoder cosine, averaged over the encoder's members, plus TF-IDF cosine), so it
  reads the words too, not only the sentence embedding; it needs a dense item × item matrix
  like EASE. ``lexical_weight`` (default 1) weighs the TF-IDF cosine in the content part;
  0 leaves the words to the kernel transfer;
* **prior** — a user tower: ridge regression from the shopper's attributes (one-hot
  categories, binned numbers) to the items they interact with; with no attributes it is
  popularity. ``tower="cold-start"`` instead trains it on *simulated* new shoppers
  (:func:`fit_cold_start_tower`): every training shopper is replayed with only their first
  k interactions revealed (k in ``tower_reveal``, 0 = attributes only), and the ridge
  regression learns attributes + revealed items → the shopper's other items. It is the
  situation of a brand-new shopper after 0, 1, 3 … clicks, learned directly, with the
  popularity prior as its intercept.

Blend: per item, ``α = n_i / (n_i + item_trust)`` (training interactions of the item) mixes
collaborative and content; products without any interaction get ``new_item_boost`` on top
(their content z-scores compete with heavy-tailed collaborative z-scores on a mixed shelf; a
negative boost keeps them off warm shoppers' lists where validation says they do not belong);
per shopper, ``β = n_u / (n_u + user_trust)`` mixes that with the prior. Trust constants 0
mean "any evidence is trusted fully". All weights, trust constants and the boost are
score-time parameters chosen on validation by the protocol runner.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.dataset import Dataset
from coldrec.errors import ConfigError
from coldrec.models.attributes import AttributeEncoder
from coldrec.models.base import Recommender
from coldrec.models.blend import Blend, top_scores
from coldrec.models.content import TextItemsMixin
from coldrec.models.hybrid_parts import FEW_USERS, HybridComponents, Parts, _parts_key
from coldrec.models.neighbors import DLAE, EASE, ItemKNN
from coldrec.models.ranking import ZDirection, zscore

__all__ = ["Hybrid", "fit_cold_start_tower", "fit_kernel_transfer", "fit_transfer"]



def fit_transfer(matrix: sp.csr_matrix, embeddings: np.ndarray, lam: float = 1.0,
                 lam_out: float = 10.0, dropout: float = 0.7) -> np.ndarray:
    """Closed-form denoising linear map in text space (see the module docstring).

    With ``A = R E`` (users × d) and item counts ``g``, the expected normal equations under
    input dropout ``p`` give ``M = [(1-p)² AᵀA + p(1-p) Eᵀ diag(g) E + λI]⁻¹ (1-p) AᵀA
    (EᵀE + λ_out I)⁻¹``; score(u, j) = (r_u E) M e_j.
    """
    X = np.asarray(embeddings, dtype=np.float64)
    R = sp.csr_matrix(matrix, dtype=np.float64)
    A = np.asarray(R @ X)
    g = np.asarray(R.sum(axis=0)).ravel()
    gram = A.T @ A
    d = X.shape[1]
    p = float(dropout)
    lhs = (1 - p) ** 2 * gram + p * (1 - p) * (X * g[:, None]).T @ X + lam * np.eye(d)
    left = np.linalg.solve(lhs, (1 - p) * gram)
    right = np.linalg.inv(X.T @ X + lam_out * np.eye(d))
    return (left @ right).astype(np.float32)


def fit_kernel_transfer(matrix: sp.csr_matrix, kernel: np.ndarray, lam: float = 1.0,
                        lam_out: float = 10.0, dropout: float = 0.7) -> np.ndarray:
    """:func:`fit_transfer` in kernel (dual) form, for any item × item text kernel ``K``.

    With ``C = RᵀR``, ``D = (1-p)² C + p(1-p) diag(g)`` and the linear kernel ``K = EEᵀ``,
    the push-through identity turns the map of :func:`fit_transfer` into
    ``P = (DK + λI)⁻¹ C (K + λ_out I)⁻¹`` (the constant ``1-p`` dropped: it does not change
    a ranking); score(u, j) = (r_u K) P K[:, j]. Returns ``P`` (items × items, float32).
    """
    R = sp.csr_matrix(matrix, dtype=np.float64)
    K = np.asarray(kernel, dtype=np.float64)
    if K.shape != (R.shape[1], R.shape[1]):
        raise ConfigError(f"kernel must be {R.shape[1]} × {R.shape[1]} (items), not {K.shape}")
    C = (R.T @ R).toarray()
    g = np.asarray(R.sum(axis=0)).ravel()
    p = float(dropout)
    D = (1 - p) ** 2 * C
    D[np.diag_indices_from(D)] += p * (1 - p) * g
    n = K.shape[0]
    eye = np.eye(n)
    right = np.linalg.solve(K + lam_out * eye, C).T  # C (K + λ_out I)⁻¹ (both symmetric)
    return np.linalg.solve(D @ K + lam * eye, right).astype(np.float32)


def _ridge(inputs: sp.spmatrix, targets: sp.spmatrix, lam: float) -> np.ndarray:
    """``argmin ‖Y − ZW‖² + λ‖W‖²`` with the first input column (the intercept) unpenalised."""
    z = sp.csr_matrix(inputs, dtype=np.float64)
    gram = (z.T @ z).toarray()
    reg = np.full(gram.shape[0], float(lam))
    reg[0] = 0.0
    gram[np.diag_indices_from(gram)] += reg
    rhs = np.asarray((z.T @ sp.csr_matrix(targets, dtype=np.float64)).todense())
    return np.linalg.solve(gram, rhs).astype(np.float32)


def fit_cold_start_tower(data: Dataset, features: np.ndarray, lam: float,
                         reveal: tuple[int, ...]) -> np.ndarray:
    """Ridge regression from [attributes | first k items] to a shopper's other items.

    Each trained shopper gives one row per ``k`` in ``reveal``: the input is their
    attribute features (``features``, intercept first) and their first ``k`` items by
    timestamp (ties by item index), the target their remaining items. Solves
    ``(ZᵀZ + λI) W = ZᵀY`` (intercept unpenalised); returns ``W`` of shape
    (n_features + n_items) × n_items. Scores of a new shopper: ``[f | x] @ W``.
    """
    pairs = data.pairs
    keys = ["user", "timestamp", "item"] if pairs["timestamp"].notna().all() else \
        ["user", "item"]
    pairs = pairs.sort_values(keys, kind="stable")
    users, items = pairs["user"].to_numpy(), pairs["item"].to_numpy()
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    rank = np.arange(len(users)) - np.repeat(starts, np.diff(np.r_[starts, len(users)]))
    full = data.binary_matrix.astype(np.float64)
    trained = np.flatnonzero(data.user_counts > 0)
    attrs = sp.csr_matrix(features[trained], dtype=np.float64)
    inputs, targets = [], []
    for k in reveal:
        first = rank < int(k)
        shown = sp.csr_matrix((np.ones(int(first.sum())), (users[first], items[first])),
                              shape=full.shape)
        shown.data[:] = 1.0  # repeated purchases count once
        inputs.append(sp.hstack([attrs, shown[trained]]))
        targets.append(full[trained] - shown[trained])
    return _ridge(sp.vstack(inputs), sp.vstack(targets), lam)


#: the hybrid's categorical choices: allowed values, those that need a dense item × item
#: matrix (refused over ``ease_max_items``) and what to use instead there
_CHOICES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "cf": (("auto", "ease", "dlae", "itemknn"), ("ease", "dlae"), "itemknn"),
    "tower": (("attributes", "cold-start"), ("cold-start",), "attributes"),
    "transfer_kernel": (("embeddings", "text"), ("text",), "embeddings"),
}


class Hybrid(HybridComponents, TextItemsMixin, Recommender):
    """Collaborative + language-model hybrid with a user tower (the default model)."""

    binary_history: ClassVar[bool] = True
    name: ClassVar[str] = "hybrid"
    handles_cold_users: ClassVar[bool] = True
    user_state: ClassVar[tuple[str, ...]] = ("user_features_",)
    score_params: ClassVar[frozenset[str]] = frozenset(
        {"lexical_weight", "semantic_weight", "transfer_weight", "item_trust", "user_trust",
         "new_item_boost"})

    def __init__(self, cf: Literal["auto", "ease", "dlae", "itemknn"] = "auto",
                 cf_lam: float = 500.0, cf_ips: float = 0.0, cf_dropout: float = 0.5,
                 cf_neighbors: int = 100, encoder: str = "use-multilingual",
                 template: str | None = None, lexical_weight: float = 1.0,
                 semantic_weight: float = 0.5, transfer_weight: float = 0.5,
                 transfer_kernel: Literal["embeddings", "text"] = "embeddings",
                 transfer_lam: float = 1.0, transfer_dropout: float = 0.7,
                 transfer_lam_out: float = 10.0,
                 item_trust: float = 0.0,
                 user_trust: float = 0.0, new_item_boost: float = 0.0,
                 tower_lam: float = 100.0,
                 tower: Literal["attributes", "cold-start"] = "attributes",
                 tower_reveal: tuple[int, ...] | list[int] = (0, 1, 3, 5),
                 ease_max_items: int = 20_000, cache: str | None = None,
                 progress: bool = True, random_state: int = 0) -> None:
        self.cf = cf
        self.cf_lam = cf_lam
        self.cf_ips = cf_ips
        self.cf_dropout = cf_dropout
        self.cf_neighbors = cf_neighbors
        self.encoder = encoder
        self.template = template
        self.lexical_weight = lexical_weight
        self.semantic_weight = semantic_weight
        self.transfer_weight = transfer_weight
        self.transfer_kernel = transfer_kernel
        self.transfer_lam = transfer_lam
        self.transfer_dropout = transfer_dropout
        self.transfer_lam_out = transfer_lam_out
        self.item_trust = item_trust
        self.user_trust = user_trust
        self.new_item_boost = new_item_boost
        self.tower_lam = tower_lam
        self.tower = tower
        self.tower_reveal = tuple(tower_reveal)  # a tuple, also when loaded from JSON
        self.ease_max_items = ease_max_items
        self.cache = cache
        self.progress = progress
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------------------------
    def _fit(self, data: Dataset) -> None:
        self.__dict__.pop("_memo", None)
        self.__dict__.pop("_last", None)
        self.__dict__.pop("_kernel", None)
        self.check_catalogue(data.n_items)
        kind = self.cf
        if kind == "auto":
            kind = "ease" if data.n_items <= self.ease_max_items else "itemknn"
        if kind == "ease":
            self.cf_model_: Recommender = EASE(lam=self.cf_lam, ips=self.cf_ips,
                                                max_items=self.ease_max_items)
        elif kind == "dlae":
            self.cf_model_ = DLAE(lam=self.cf_lam, dropout=self.cf_dropout,
                                  max_items=self.ease_max_items)
        else:  # itemknn: check_catalogue refused anything else
            self.cf_model_ = ItemKNN(neighbors=int(self.cf_neighbors), similarity="cosine")
        self.cf_model_.fit(data)
        self._fit_text(data)
        if self.transfer_kernel == "text":
            self.transfer_ = fit_kernel_transfer(
                data.binary_matrix, self._text_kernel(data.n_items), lam=self.transfer_lam,
                lam_out=self.transfer_lam_out, dropout=self.transfer_dropout)
        else:
            self.transfer_ = fit_transfer(data.binary_matrix, self.item_embeddings_,
                                          lam=self.transfer_lam, lam_out=self.transfer_lam_out,
                                          dropout=self.transfer_dropout)
        self.item_counts_ = data.item_counts.astype(np.float32)
        # the user tower: attributes → items (ridge, intercept unpenalised)
        encoder = AttributeEncoder.fit(data.user_attributes)
        self.attribute_encoder_ = encoder.to_json()
        feats = encoder.transform(data.user_attributes, n_rows=data.n_users)
        if self.tower == "cold-start":
            self.tower_ = fit_cold_start_tower(data, feats, float(self.tower_lam),
                                               self.tower_reveal)
        else:
            trained = np.flatnonzero(data.user_counts > 0)
            self.tower_ = _ridge(sp.csr_matrix(feats[trained]), data.binary_matrix[trained],
                                 float(self.tower_lam))
        self.user_features_ = feats

    def check_catalogue(self, n_items: int) -> None:
        """Refuse unknown collaborative / tower / transfer choices, and the dense item × item
        ones (EASE, DLAE, the cold-start tower, the kernel transfer) on a catalogue over
        ``ease_max_items``, before any fitting work."""
        for name, (allowed, dense, fallback) in _CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"{name} must be {', '.join(allowed[:-1])} or "
                                  f"{allowed[-1]}, not {value!r}")
            if value in dense and n_items > self.ease_max_items:
                raise ConfigError(f"{name}={value!r} needs a dense item × item matrix: "
                                  f"{n_items:,} items > ease_max_items {self.ease_max_items:,}"
                                  f"; use {name}={fallback!r}")

    def _text_kernel(self, n_fit: int) -> np.ndarray:
        """The text kernel between every item (rows) and the first ``n_fit`` items, those
        the transfer is fitted on (columns): mean sentence-encoder cosine plus TF-IDF cosine
        (memoised)."""
        cached = self.__dict__.get("_kernel")
        if cached is not None and cached.shape == (self.n_items_, n_fit):
            return cached
        emb = self.item_embeddings_
        scale = max(float(np.mean(np.sum(emb[:n_fit] ** 2, axis=1))), 1e-12)
        kernel = (emb @ emb[:n_fit].T) / scale
        kernel += (self.lexical_ @ self.lexical_[:n_fit].T).toarray()
        self.__dict__["_kernel"] = kernel = kernel.astype(np.float32)
        return kernel

    def _blank_user_row(self, name: str, row: np.ndarray) -> np.ndarray:
        blank = np.zeros_like(row)
        blank[0] = 1.0  # the intercept: a shopper the tower knows nothing about
        return blank

    def forget_user(self, user: int) -> None:
        self.__dict__.pop("_memo", None)
        self.__dict__.pop("_last", None)  # memoised components of the old history
        super().forget_user(user)
        self.cf_model_.forget_user(user)

    def _after_add_items(self, n_new: int) -> None:
        self.__dict__.pop("_memo", None)
        self.__dict__.pop("_last", None)
        self.__dict__.pop("_kernel", None)
        side = self.__dict__.get("_item_side")
        if side is not None:  # grown in place: no pass over every item vector per product
            side.grow(self.item_embeddings_, self.lexical_, n_new)
        self.item_counts_ = np.concatenate([self.item_counts_, np.zeros(n_new, np.float32)])
        self.tower_ = np.hstack([self.tower_, np.zeros((self.tower_.shape[0], n_new),
                                                        np.float32)])

    # -- scoring -------------------------------------------------------------------------------
    def _weights(self) -> dict[str, float]:
        return {"lexical": float(self.lexical_weight), "semantic": float(self.semantic_weight),
                "transfer": float(self.transfer_weight)}

    def _trust(self, history: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Per item ``α`` (collaborative vs content) and per shopper ``β`` (with-history vs
        prior, a column)."""
        counts = self.item_counts_
        alpha = (counts > 0).astype(np.float32) if self.item_trust <= 0 else \
            counts / (counts + float(self.item_trust))
        n_u = np.diff(history.indptr).astype(np.float32)[:, None]
        beta = (n_u > 0).astype(np.float32) if self.user_trust <= 0 else \
            n_u / (n_u + float(self.user_trust))
        return alpha, beta

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        parts = self._parts(users, history, attributes)
        arrays, weights = parts.arrays, self._weights()
        # the sentence-vector parts in one pass over the item vectors (memory-bound)
        content = ZDirection.blend(self.item_embeddings_,
                                   [(weights[k], d) for k, d in parts.directions.items()])
        for name in ("lexical", "transfer"):
            if name in arrays and weights[name]:
                content += weights[name] * arrays[name]
        alpha, beta = self._trust(history)
        with_history = alpha * arrays["collaborative"] + (1 - alpha) * zscore(content)
        if self.new_item_boost:  # items without interactions compete with heavy-tailed CF
            with_history = with_history + float(self.new_item_boost) * (self.item_counts_ == 0)
        return beta * with_history + (1 - beta) * arrays["prior"]

    def _blend(self, parts: Parts, history: sp.csr_matrix) -> Blend:
        """:meth:`_score` as ``base + slope · (E @ direction)`` (:mod:`coldrec.models.blend`):
        the content part's mean and variance over all items from moments, not a pass."""
        weights, side = self._weights(), self._side()
        mean, cov = side.stats()
        n_users, n = len(history.indptr) - 1, self.n_items_
        used = [(weights[k], d) for k, d in parts.directions.items() if weights[k]]
        v = sum((w * d.vectors.astype(np.float64) for w, d in used),
                np.zeros((n_users, len(mean))))
        words = float(weights["lexical"])
        lex = parts.arrays["lexical"] if words else np.zeros((n_users, n), np.float32)
        # Eᵀ·zscore(lexical): Lᵀ E read at the profile's terms, centred and scaled
        raw_mean, raw_sd = parts.lexical_moments.astype(np.float64).T
        e_lex = np.asarray(parts.terms @ side.lexical_embeddings()) if words else 0.0
        e_lex = (e_lex - raw_mean[:, None] * n * mean) * \
            np.where(raw_sd > 0, 1.0 / np.maximum(raw_sd, 1e-300), 0.0)[:, None]
        lex_mean, lex_var = lex.mean(axis=1), lex.var(axis=1)
        v_mean = v @ mean
        covar = words * ((v * e_lex).sum(axis=1) / n - v_mean * lex_mean)
        var = ((v @ cov) * v).sum(axis=1) + words ** 2 * lex_var + 2 * covar
        sd = np.sqrt(np.maximum(var, 0.0))
        # the per-item arithmetic in float32, like the scan's
        inv = np.where(sd > 1e-6, 1.0 / np.maximum(sd, 1e-300), 0.0)[:, None].astype(np.float32)
        shift = (v_mean + words * lex_mean)[:, None].astype(np.float32)  # offsets cancel
        alpha, beta = self._trust(history)
        with_history = alpha * parts.arrays["collaborative"] + \
            (1 - alpha) * ((np.float32(words) * lex - shift) * inv)
        if self.new_item_boost:
            with_history = with_history + float(self.new_item_boost) * (self.item_counts_ == 0)
        base = beta * with_history + (1 - beta) * parts.arrays["prior"]
        return Blend(base, beta * (1 - alpha) * inv, v)

    def _top_scores(self, users: np.ndarray, history: sp.csr_matrix,
                    attributes: pd.DataFrame | None, *, k: int,
                    blocked: list[sp.csr_matrix], shelf: np.ndarray | None) -> np.ndarray:
        """A few shoppers (a request) are ranked from :meth:`_blend`, reading item vectors
        only where they can change the top ``k``; batches score everything."""
        if len(users) > FEW_USERS or self.transfer_kernel == "text":
            return super()._top_scores(users, history, attributes, k=k, blocked=blocked,
                                       shelf=shelf)
        usable = np.ones((len(users), self.n_items_), dtype=bool)
        if shelf is not None:
            usable[:] = False
            usable[:, shelf] = True
        for rows in blocked:
            rows = sp.csr_matrix(rows)
            usable[np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr)), rows.indices] = \
                False
        blend = self._blend(self._parts(users, history, attributes), history)
        # the reasons of these lists read each item's weight in the blend: keep the slopes
        recent = self.__dict__.setdefault("_last", threading.local())
        recent.slopes = {_parts_key(users[r:r + 1], history[r], None if attributes is None
                                    else attributes.iloc[[r]], self.n_items_): blend.slope[r]
                         for r in range(len(users))}
        return top_scores(blend, self._side(), usable, k).astype(np.float32)

    def explain(self, user: int, items: Any, history: Any = None,
                attributes: pd.DataFrame | None = None) -> list[str]:
        """The signal that contributed most to each of ``items``' final score for ``user``:
        each component's z-score times its weight in the blend for that item (a heavy
        buyer's prior weighs nothing, a warm item's text nothing when ``item_trust`` is 0)."""
        users = np.asarray([user], dtype=np.int64)
        hist = self.user_history(users, history)
        picked = np.atleast_1d(np.asarray(items, dtype=np.int64))
        parts = self._parts(users, hist, attributes)
        comps = {k: v[0][picked] for k, v in parts.arrays.items()}
        comps.update({k: d.at(self.item_embeddings_, picked)[0]
                      for k, d in parts.directions.items()})
        alpha, beta = self._trust(hist)
        key = _parts_key(users, hist, attributes, self.n_items_)
        slope = getattr(self.__dict__.get("_last"), "slopes", {}).get(key)
        if slope is None:  # not the list just ranked in this thread: blend again
            slope = self._blend(parts, hist).slope[0]
        slope = slope[picked]  # β (1 − α) / sd(content)
        weights = {"collaborative": float(beta[0, 0]) * alpha[picked],
                   "prior": np.full(len(picked), 1.0 - float(beta[0, 0])),
                   **{k: slope * w for k, w in self._weights().items()}}
        labels = {"collaborative": self.reason_with_history,
                  "lexical": "matches words of items you bought",
                  "semantic": "similar to items you bought",
                  "transfer": "new arrival like items you bought",
                  "prior": self.reason_without_history}
        usable = [k for k in labels if k in comps and (hist.nnz or k == "prior")]
        out = []
        for pos in range(len(picked)):  # only signals that weigh anything for this item
            weighed = [k for k in usable if weights[k][pos] > 0] or usable
            best = max(weighed, key=lambda k: weights[k][pos] * comps[k][pos])
            out.append(labels[best])
        return out

    def anchors(self, user: int, items: Any, history: Any = None) -> np.ndarray:
        """The shopper's own product that adds most to each item's collaborative score
        (``-1`` where none does)."""
        hist = self.user_history(np.asarray([user], dtype=np.int64), history)
        n_cf = self.cf_model_.n_items_  # products added from text have no neighbours yet
        return self.cf_model_.anchors(user, items, sp.csr_matrix(hist[:, :n_cf]))
