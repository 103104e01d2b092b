"""The one model contract every coldrec recommender obeys.

Subclasses store hyperparameters in ``__init__`` (nothing else, the scikit-learn rule) and
implement two methods:

* ``_fit(data)`` — learn state from a :class:`~coldrec.data.Dataset`; learned attributes end
  in ``_``;
* ``_score(users, history, attributes)`` — scores of *all* items for a batch of users.

The base class derives everything else: ``fit`` (common state, reset), ``score`` on any item
subset, batched ``recommend`` with exclusion of seen items, candidate shelves and the tie
rule, a reason per recommended item (``explain``), similar products (``similar_items``:
co-purchases, plus text for models with :class:`~coldrec.models.capabilities.TextVectors`),
``save``/``load`` as ``.npz`` + JSON (no pickle), parameter access and cloning. What a
model can do beyond that it declares through :mod:`coldrec.models.capabilities`.

Users are internal indices. An index of ``-1`` (or one the model never saw) is an *unknown*
user: it has no stored history, and ``history`` / ``attributes`` passed at query time describe
it. ``history`` is a CSR matrix (one row per queried user, all items as columns) that
replaces the stored history of those users: this is how first clicks are folded in without
retraining. Users whose history is empty get the model's cold-start scores: the model's own
when ``handles_cold_users`` is true, item popularity otherwise.
"""

from __future__ import annotations

import inspect
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.dataset import Dataset
from coldrec.errors import ConfigError, DataError, NotFittedError
from coldrec.models.capabilities import TextVectors, Validation
from coldrec.models.params import Parameters
from coldrec.models.ranking import tie_ranks, topk, zscore

__all__ = ["MODEL_CLASSES", "Recommender", "SimilarItems", "as_csr", "make_component",
           "similar_items"]

#: Every concrete model class by class name, filled as subclasses are defined (``load``).
MODEL_CLASSES: dict[str, type[Recommender]] = {}
#: The same classes by model name (``Recommender.name``), for composites' components.
_BY_NAME: dict[str, type[Recommender]] = {}

#: similar products: candidates per signal, co-purchase shrinkage, buyers for half trust
SIMILAR_POOL = 200
SIMILAR_SHRINK = 5.0
SIMILAR_TRUST = 20.0


def make_component(name: str, **params: Any) -> Recommender:
    """An unfitted model by its model name, for composite models (ensemble members, a
    two-stage retriever): they name their components instead of importing the registry."""
    klass = _BY_NAME.get(name)
    if klass is None:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(sorted(_BY_NAME))}")
    return klass(**params)


class SimilarItems(NamedTuple):
    """Products similar to one product, best first, and which signal placed each."""

    ids: np.ndarray
    scores: np.ndarray
    #: True where co-purchases outweigh text for that product
    bought_together: np.ndarray

FORMAT_VERSION = 1
SCORE_BATCH_CELLS = 2**24  # scores computed per batch: rows × items ≤ this


def as_csr(matrix: Any, n_cols: int) -> sp.csr_matrix:
    """A float32 CSR copy of ``matrix`` with ``n_cols`` columns."""
    out = sp.csr_matrix(matrix, dtype=np.float32)
    if out.shape[1] != n_cols:
        raise DataError(f"history has {out.shape[1]} columns; the model knows {n_cols} items")
    return out


class Recommender(Parameters, ABC):
    """Base class of all models (see the module docstring for the contract)."""

    #: True when ``_score`` gives meaningful scores to users without history.
    handles_cold_users: ClassVar[bool] = False
    #: Registry name of the model (``coldrec evaluate --model NAME``).
    name: ClassVar[str] = "base"
    #: True when a new user given the same history (and attributes) as a known user gets
    #: exactly that user's scores; False for models with learned per-user parameters whose
    #: fold-in is an approximation (LightGCN).
    fold_in_exact: ClassVar[bool] = True
    #: Hyperparameters used only at scoring time: changing them needs no refit, so a grid
    #: search fits once per combination of the other parameters.
    score_params: ClassVar[frozenset[str]] = frozenset()
    #: True when the stored history is 0/1 (a repeat purchase counts once) instead of the
    #: aggregated interaction weights.
    binary_history: ClassVar[bool] = False
    #: per-user learned arrays (row ``u`` is user ``u``) that :meth:`forget_user` clears
    user_state: ClassVar[tuple[str, ...]] = ()
    #: the default reasons of a list (see :meth:`explain`): with and without history
    reason_with_history: ClassVar[str] = "shoppers like you bought it"
    reason_without_history: ClassVar[str] = "popular with shoppers like you"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not inspect.isabstract(cls):
            MODEL_CLASSES[cls.__name__] = cls
            _BY_NAME.setdefault(cls.name, cls)

    def check_catalogue(self, n_items: int) -> None:
        """Raise :class:`ConfigError` if these hyperparameters cannot serve a catalogue of
        ``n_items`` items (a dense item × item matrix too big to hold), before any fitting
        work. Most models serve any size."""
        del n_items  # no limit here; models with a dense item × item matrix override this

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, data: Dataset, *, validation: Validation | None = None) -> Self:
        """Learn from ``data`` (forgets anything learned before). Returns ``self``.

        ``validation`` scores the model on held-out data; models trained by epochs
        (:class:`~coldrec.models.capabilities.EpochTrained`) stop early on it, the others
        have nothing to stop and ignore it."""
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, key)
        if data.n_interactions == 0:
            raise DataError(f"cannot fit {type(self).__name__}: the dataset has no interactions")
        seed = int(getattr(self, "random_state", 0) or 0)
        self.n_users_ = int(data.n_users)
        self.n_items_ = int(data.n_items)
        self.history_ = self._history_matrix(data)
        self.item_popularity_ = data.item_counts.astype(np.float32)
        self.tie_rank_ = tie_ranks(data.n_items, seed)
        self._validation = validation
        try:
            self._fit(data)
        finally:
            self._validation = None
        return self

    def _history_matrix(self, data: Dataset) -> sp.csr_matrix:
        """The stored history rows: the aggregated interaction weights, or 0/1 where the
        class sets ``binary_history``."""
        return (data.binary_matrix if self.binary_history else data.matrix).astype(np.float32)

    @abstractmethod
    def _fit(self, data: Dataset) -> None:
        """Learn the model's state from ``data`` (common state is already set)."""

    @abstractmethod
    def _score(
        self, users: np.ndarray, history: sp.csr_matrix, attributes: pd.DataFrame | None
    ) -> np.ndarray:
        """Scores of all items for ``users`` given their ``history`` rows (users × items)."""

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "n_items_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(data) first")

    # -- scoring -------------------------------------------------------------------------------
    def user_history(self, users: np.ndarray, history: Any = None) -> sp.csr_matrix:
        """History rows for ``users``: ``history`` when given, else the stored rows
        (empty for unknown users)."""
        self._check_fitted()
        users = np.asarray(users, dtype=np.int64)
        if history is not None:
            hist = as_csr(history, self.n_items_)
            if hist.shape[0] != len(users):
                raise DataError(f"history has {hist.shape[0]} rows for {len(users)} users")
            return hist
        known = (users >= 0) & (users < self.n_users_)
        rows = np.where(known, users, 0)
        hist = self.history_[rows]
        if not known.all():
            hist = sp.diags(known.astype(np.float32)) @ hist
            hist.eliminate_zeros()
        return sp.csr_matrix(hist)

    def score(
        self,
        users: Any,
        items: Any = None,
        *,
        history: Any = None,
        attributes: pd.DataFrame | None = None,
    ) -> np.ndarray:
        """Scores (float32, users × items) of ``items`` (all items when ``None``).

        Unknown item indices score ``-inf`` (they can never be recommended).
        """
        self._check_fitted()
        users = np.atleast_1d(np.asarray(users, dtype=np.int64))
        hist = self.user_history(users, history)
        if attributes is not None and len(attributes) != len(users):
            raise DataError(f"attributes have {len(attributes)} rows for {len(users)} users")
        out = np.asarray(self._score(users, hist, attributes), dtype=np.float32)
        if not self.handles_cold_users:
            cold = np.flatnonzero(np.diff(hist.indptr) == 0)
            if len(cold):
                out[cold] = self.item_popularity_[None, :]
        if items is None:
            return out
        items = np.atleast_1d(np.asarray(items, dtype=np.int64))
        known = (items >= 0) & (items < self.n_items_)
        picked = out[:, np.where(known, items, 0)]
        picked[:, ~known] = -np.inf
        return picked

    def recommend(
        self,
        users: Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        candidates: Any = None,
        history: Any = None,
        attributes: pd.DataFrame | None = None,
        exclude: sp.csr_matrix | None = None,
        tie_rank: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items for each user, as ``(item indices, scores)`` of shape (n, k).

        ``exclude_seen`` removes each user's history (stored or given); ``candidates``
        restricts the ranking to a set of items (a shelf); ``exclude`` is an extra CSR matrix
        of items to leave out per user; ``tie_rank`` overrides the model's tie order (an
        evaluation protocol fixes its own). Slots that cannot be filled hold ``-1``.
        """
        self._check_fitted()
        users = np.atleast_1d(np.asarray(users, dtype=np.int64))
        if k < 1:
            raise ConfigError(f"k must be at least 1, not {k}")
        shelf = None
        if candidates is not None:
            shelf = np.unique(np.asarray(candidates, dtype=np.int64))
            shelf = shelf[(shelf >= 0) & (shelf < self.n_items_)]
        ties = self.tie_rank_ if tie_rank is None else tie_rank
        hist_all = self.user_history(users, history)
        ids = np.empty((len(users), k), dtype=np.int64)
        vals = np.empty((len(users), k), dtype=np.float64)
        step = max(1, SCORE_BATCH_CELLS // max(1, self.n_items_))
        for start in range(0, len(users), step):
            sl = slice(start, start + step)
            hist = hist_all[sl]
            attr = attributes.iloc[sl] if attributes is not None else None
            blocked = ([hist] if exclude_seen else []) + \
                ([exclude[sl]] if exclude is not None else [])
            scores = self._top_scores(users[sl], hist, attr, k=k, blocked=blocked,
                                      shelf=shelf)
            if shelf is None:
                ids[sl], vals[sl] = topk(scores, k, ties)
            else:  # rank the shelf only: fewer columns to partition
                local, vals[sl] = topk(scores[:, shelf], k, ties[shelf])
                # unfilled slots are -1, which picks the appended -1 (also on an empty shelf)
                ids[sl] = np.append(shelf, -1)[local]
        return ids, vals

    def _top_scores(self, users: np.ndarray, history: sp.csr_matrix,
                    attributes: pd.DataFrame | None, *, k: int,
                    blocked: list[sp.csr_matrix], shelf: np.ndarray | None) -> np.ndarray:
        """Scores that rank the ``k`` best items of each row as :meth:`score` does, ``-inf``
        where ``blocked`` (CSR rows of items that may not be shown) stores an entry. Off a
        ``shelf`` (the only items ranked, when given) and below the ``k``-th best a model
        may leave any lower value instead of the exact score; the base scores everything."""
        scores = self.score(users, history=history, attributes=attributes).astype(np.float32)
        for rows in blocked:
            mask_rows(scores, rows)
        return scores

    # -- what a list says and what goes with a product ----------------------------------
    def explain(self, user: int, items: Any, history: Any = None,
                attributes: pd.DataFrame | None = None) -> list[str]:
        """A reason for each of ``items`` recommended to ``user`` (internal indices; ``-1``
        and ``history`` / ``attributes`` for a new shopper). The base gives the model's
        reason for shoppers with and without history; models whose score has parts name
        the part that placed each item."""
        del attributes
        hist = self.user_history(np.asarray([user]), history)
        label = self.reason_with_history if hist.nnz else self.reason_without_history
        return [label] * len(np.atleast_1d(np.asarray(items)))

    def anchors(self, user: int, items: Any, history: Any = None) -> np.ndarray:
        """For each of ``items``: the shopper's own product most responsible for it being
        recommended ("because you bought …"), ``-1`` where the model cannot say (the
        base); item-to-item models name the history item with the largest term."""
        return np.full(len(np.atleast_1d(items)), -1, dtype=np.int64)

    def similar_items(self, item: int, k: int = 10) -> SimilarItems:
        """Products bought with or described like ``item`` (see :func:`similar_items`)."""
        self._check_fitted()
        return similar_items(self, int(item), k)

    # -- erasure ---------------------------------------------------------------------------
    def forget_user(self, user: int) -> None:
        """Erase what the model keeps of one known shopper: their stored history and rows of
        per-user state (``user_state``); item-side state they helped learn stays until the
        next fit. Arrays are replaced, never changed in place (concurrent answers)."""
        self._check_fitted()
        if not 0 <= int(user) < self.n_users_:
            return
        hist = sp.csr_matrix(self.history_, copy=True)
        hist.data[hist.indptr[user]:hist.indptr[user + 1]] = 0
        hist.eliminate_zeros()
        self.history_ = hist
        for name in self.user_state:
            rows = np.array(getattr(self, name), copy=True)
            rows[user] = self._blank_user_row(name, rows[user])
            setattr(self, name, rows)

    def _blank_user_row(self, name: str, row: np.ndarray) -> np.ndarray:
        """What ``name``'s row of a forgotten shopper becomes (zeros by default)."""
        del name
        return np.zeros_like(row)

    # -- growth ---------------------------------------------------------------------------
    def _grow_items(self, n_new: int) -> np.ndarray:
        """Make room for ``n_new`` items appended after the known ones (no interactions yet);
        returns their indices. Models with item state extend it in ``add_items``."""
        self._check_fitted()
        start = self.n_items_
        self.n_items_ = start + int(n_new)
        hist = sp.csr_matrix(self.history_)
        self.history_ = sp.csr_matrix((hist.data, hist.indices, hist.indptr),
                                      shape=(hist.shape[0], self.n_items_))
        self.item_popularity_ = np.concatenate(
            [self.item_popularity_, np.zeros(n_new, dtype=np.float32)])
        self.tie_rank_ = np.concatenate([self.tie_rank_, np.arange(start, self.n_items_)])
        return np.arange(start, self.n_items_)

    # -- persistence ---------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def save(self, path: str | Path) -> Path:
        """Save to a folder holding ``config.json`` and ``state.npz`` (no pickle)."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        arrays, scalars = _dump(self)
        config = {"format": FORMAT_VERSION, "class": type(self).__name__,
                  "params": self.get_params(), "state": scalars}
        (folder / "config.json").write_text(json.dumps(config, indent=2, default=_json_default))
        np.savez_compressed(folder / "state.npz", **arrays)
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Load a model saved with :meth:`save` (any model class when called on the base)."""
        folder = Path(path)
        try:
            config = json.loads((folder / "config.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read model config: {exc}", source=str(folder)) from exc
        klass = MODEL_CLASSES.get(config.get("class", ""))
        if klass is None:
            raise DataError(f"unknown model class {config.get('class')!r}", source=str(folder))
        if cls is not Recommender and not issubclass(klass, cls):
            raise DataError(f"saved model is a {klass.__name__}, not a {cls.__name__}",
                            source=str(folder))
        with np.load(folder / "state.npz", allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        return _restore(klass, config["params"], config.get("state", {}), arrays, "")

    def _set_state(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


def _restore(klass: type[Recommender], params: dict[str, Any], scalars: dict[str, Any],
             arrays: dict[str, np.ndarray], prefix: str) -> Recommender:
    """Rebuild a model (and its nested models) from saved params, scalars and arrays."""
    model = klass(**params)
    state: dict[str, Any] = {}
    for key, value in scalars.items():
        if isinstance(value, dict) and "__model__" in value:
            sub = MODEL_CLASSES[value["__model__"]]
            state[key] = _restore(sub, value["params"], value["state"], arrays,
                                  f"{prefix}{key}.")
        else:
            state[key] = value
    own = {n[len(prefix):]: a for n, a in arrays.items()
           if n.startswith(prefix) and "." not in n[len(prefix):]}
    for key in [k for k in own if "__csr_" not in k]:
        state[key] = own[key]
    for key in {k.split("__csr_")[0] for k in own if "__csr_" in k}:
        state[key] = sp.csr_matrix(
            (own[f"{key}__csr_data"], own[f"{key}__csr_indices"], own[f"{key}__csr_indptr"]),
            shape=tuple(own[f"{key}__csr_shape"]))
    model._set_state(state)
    return model


def mask_rows(scores: np.ndarray, rows: sp.csr_matrix) -> None:
    """Set ``scores[i, j] = -inf`` wherever ``rows[i, j]`` is stored (in place)."""
    rows = sp.csr_matrix(rows)
    if rows.nnz == 0:
        return
    r = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    scores[r, rows.indices] = -np.inf


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _dump(model: Recommender, prefix: str = ""
          ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Learned state as (arrays for the .npz, JSON-able scalars); nested models too."""
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    for key, value in model._get_state().items():
        name = prefix + key
        if isinstance(value, Recommender):
            sub_arrays, sub_scalars = _dump(value, prefix=f"{name}.")
            arrays.update(sub_arrays)
            scalars[key] = {"__model__": type(value).__name__,
                            "params": value.get_params(), "state": sub_scalars}
        elif isinstance(value, np.ndarray):
            if value.dtype == object:
                value = value.astype(str)
            arrays[name] = value
        elif sp.issparse(value):
            csr = sp.csr_matrix(value)
            arrays[f"{name}__csr_data"] = csr.data
            arrays[f"{name}__csr_indices"] = csr.indices
            arrays[f"{name}__csr_indptr"] = csr.indptr
            arrays[f"{name}__csr_shape"] = np.asarray(csr.shape, dtype=np.int64)
        elif isinstance(value, bool | int | float | str | list | dict | type(None)):
            scalars[key] = value
        elif isinstance(value, np.generic):
            scalars[key] = value.item()
        else:
            raise ConfigError(f"{type(model).__name__}.{key} of type {type(value).__name__} "
                              "cannot be saved; override _get_state")
    return arrays, scalars


def similar_items(model: Recommender, item: int, k: int = 10) -> SimilarItems:
    """Products bought together with or described like ``item`` (internal index).

    Two signals, each z-scored over the best ``SIMILAR_POOL`` candidates of either:
    co-purchase cosine with shrinkage (``co / (√(nᵢ nⱼ) + SHRINK)``) and, for models with
    text vectors, their cosine. Trust in co-purchases grows with the product's buyers
    (``n / (n + TRUST)``), so a new or rare product is matched by its text and a best
    seller by what is bought with it."""
    cf = _co_purchase(model, int(item))
    text = None
    if isinstance(model, TextVectors):
        vectors = model.text_vectors()
        text = np.asarray(vectors @ vectors[item], dtype=np.float64)
    counts = model.item_popularity_.astype(np.float64)
    trust = counts[item] / (counts[item] + SIMILAR_TRUST)
    pool = set(np.argsort(-cf)[:SIMILAR_POOL].tolist())
    if text is not None:
        pool |= set(np.argsort(-text)[:SIMILAR_POOL].tolist())
    pool.discard(int(item))
    cand = np.asarray(sorted(pool), dtype=np.int64)
    by_cf = trust * zscore(cf[cand][None])[0] if cf[cand].any() else np.zeros(len(cand))
    by_text = (1 - trust) * zscore(text[cand][None])[0] if text is not None else \
        np.zeros(len(cand))
    score = by_cf + by_text
    top = np.argsort(-score, kind="stable")[:k]
    return SimilarItems(cand[top], score[top], by_cf[top] >= by_text[top])


def _co_purchase(model: Recommender, item: int) -> np.ndarray:
    """Co-purchase cosine (with shrinkage) of ``item`` with every item."""
    out = np.zeros(model.n_items_)
    cached = model.__dict__.get("_co_purchase_cache")
    if cached is None or cached[0] is not model.history_:  # once per fitted history
        matrix = sp.csr_matrix(model.history_, dtype=np.float32, copy=True)
        matrix.data[:] = 1.0
        cached = model.__dict__["_co_purchase_cache"] = (
            model.history_, matrix, sp.csr_matrix(matrix.T))  # item × user
    _, matrix, buyers = cached
    who = buyers.indices[buyers.indptr[item]:buyers.indptr[item + 1]]
    if len(who):
        co = np.asarray(matrix[who].sum(axis=0)).ravel()
        counts = model.item_popularity_.astype(np.float64)
        out[:] = co / (np.sqrt(counts[item] * counts) + SIMILAR_SHRINK)
    return out
