"""The live recommender behind the API: a fitted model, fold-in of fresh events, new
products from text, forgetting shoppers, and atomic model swaps. No web code here."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.builtin import load
from coldrec.data.dataset import Dataset
from coldrec.data.schema import DEFAULT_EVENT_WEIGHTS
from coldrec.errors import DataError
from coldrec.models.ann import VectorIndex
from coldrec.models.base import Recommender
from coldrec.models.factor import FactorModel
from coldrec.models.registry import get_model_spec
from coldrec.rerank import DEPTH_FACTOR, BusinessFilter, RerankContext, get_reranker
from coldrec.serve.store import EventStore
from coldrec.text.templates import catalog_texts

__all__ = ["Filters", "LiveModel", "RecommenderService"]

log = logging.getLogger(__name__)


@dataclass
class Filters:
    """Business rules of one request."""

    in_stock_only: bool = False
    exclude_categories: Sequence[str] = ()
    price_min: float | None = None
    price_max: float | None = None

    def rule(self) -> BusinessFilter:
        return BusinessFilter(self.in_stock_only, self.exclude_categories, self.price_min,
                              self.price_max)


@dataclass
class LiveModel:
    """One fitted model with its vocabularies; replaced as a whole on retrain."""

    data: Dataset
    model: Recommender
    version: int
    item_index: dict[str, int]
    item_ids: list[str]
    user_index: dict[str, int]
    catalog: pd.DataFrame | None
    item_counts: np.ndarray
    index: VectorIndex | None = None
    fitted_at: float = field(default_factory=time.time)


def _attributes_frame(attributes: Mapping[str, Any] | None) -> pd.DataFrame | None:
    if not attributes:
        return None
    return pd.DataFrame([{k: str(v) for k, v in attributes.items()}])


class RecommenderService:
    """Answers recommendation calls and takes writes; thread-safe.

    Scoring and in-place model growth (new products) hold one lock; a retrain fits the new
    model without it and swaps the :class:`LiveModel` reference under it, so answers keep
    flowing during the fit. Fresh events are folded in at query time: a shopper's history
    is the trained row plus every event received since, so the next answer reflects them.
    """

    def __init__(self, store: EventStore, model_name: str,
                 model_params: Mapping[str, Any] | None = None, *,
                 ann_threshold: int = 20_000, cache_users: int = 100_000) -> None:
        self.store = store
        self.ann_threshold = ann_threshold
        self.model_name = model_name
        self.model_params = dict(model_params or {})
        self._lock = threading.RLock()
        self._retrain_lock = threading.Lock()
        self._seq = 0
        self._fresh: dict[str, list[tuple[int, str, float]]] = {}
        self._forgotten: set[str] = set()
        self._live: LiveModel | None = None
        self.retrains = 0
        # answers per shopper (plain GET /recommend calls), dropped when anything that could
        # change them happens: the shopper's events or profile, a new or changed product,
        # a model swap
        self._answers: OrderedDict[str | None, dict[tuple[Any, ...], list[dict[str, Any]]]] = \
            OrderedDict()
        self.cache_users = cache_users
        self.cache_hits = 0
        self._epoch = 0  # bumped by every invalidation: a slower answer never lands stale

    # -- start-up and retraining ----------------------------------------------------------
    @classmethod
    def start(cls, store: EventStore, data_name: str, model_name: str,
              model_params: Mapping[str, Any] | None = None, *,
              seed_events: bool = True) -> RecommenderService:
        """Seed an empty store from a dataset, then train on the store's contents."""
        if store.count("items") == 0 and store.count("events") == 0:
            return cls.from_dataset(store, load(data_name), model_name, model_params,
                                    seed_events=seed_events)
        service = cls(store, model_name, model_params)
        service._install(service._dataset_from_store())
        return service

    @classmethod
    def from_dataset(cls, store: EventStore, data: Dataset, model_name: str,
                     model_params: Mapping[str, Any] | None = None, *,
                     seed_events: bool = True) -> RecommenderService:
        """Seed ``store`` (assumed empty) with ``data`` and train on ``data``."""
        service = cls(store, model_name, model_params)
        store.seed(data, with_events=seed_events)
        service._install(data)
        return service

    def _dataset_from_store(self) -> Dataset:
        events, catalog, users = self.store.frames()
        if events.empty:
            raise DataError("the event store holds no events to train on", source="store")
        return Dataset.from_frames(events, catalog if len(catalog) else None,
                                   users if len(users) else None, name="store",
                                   unknown_items="keep", keep_events=False)

    def _build(self, data: Dataset) -> LiveModel:
        spec = get_model_spec(self.model_name)
        params = dict(self.model_params)
        if "progress" in spec.cls._param_names():
            params.setdefault("progress", False)
        model = spec.build(**params).fit(data)
        ids = [str(x) for x in data.items.ids]
        if hasattr(model, "search"):  # load the query encoder now, not on a shopper's time
            model.search("warm-up", k=1)
        index = None
        if isinstance(model, FactorModel) and data.n_items >= self.ann_threshold:
            index = VectorIndex(model.item_factors_, exact_below=self.ann_threshold)
        return LiveModel(data=data, model=model, version=self.retrains + 1,
                         item_index={x: i for i, x in enumerate(ids)}, item_ids=ids,
                         user_index={str(x): i for i, x in enumerate(data.users.ids)},
                         catalog=None if data.catalog is None else data.catalog.copy(),
                         item_counts=np.asarray(data.item_counts, dtype=np.float64),
                         index=index)

    def _install(self, data: Dataset) -> None:
        live = self._build(data)
        with self._lock:
            self._live = live
        self.store.add_model_version(self.model_name, {"users": data.n_users,
                                                       "items": data.n_items})

    def retrain(self) -> int:
        """Fit on everything in the store and swap atomically; returns the new version."""
        with self._retrain_lock:
            with self._lock:
                mark = self._seq
            live = self._build(self._dataset_from_store())
            with self._lock:
                self.retrains += 1
                live.version = self.retrains + 1
                self._live = live
                self._invalidate()
                for user in list(self._fresh):  # events up to `mark` are in the new fit
                    kept = [e for e in self._fresh[user] if e[0] > mark]
                    if kept:
                        self._fresh[user] = kept
                    else:
                        del self._fresh[user]
            self.store.add_model_version(self.model_name, {"users": live.data.n_users,
                                                           "items": live.data.n_items})
            return live.version

    def _invalidate(self, user: str | None = None) -> None:
        """Forget cached answers: of one shopper, or of everyone when ``user`` is None."""
        self._epoch += 1
        if user is None:
            self._answers.clear()
        else:
            self._answers.pop(user, None)

    @property
    def live(self) -> LiveModel:
        assert self._live is not None, "service not started"
        return self._live

    # -- writes ---------------------------------------------------------------------------
    def record_events(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store events (committed before returning) and fold them into live histories."""
        n = self.store.add_events(rows)
        with self._lock:
            for row in rows:
                self._seq += 1
                user = str(row["user_id"])
                self._forgotten.discard(user)
                self._invalidate(user)
                weight = DEFAULT_EVENT_WEIGHTS.get(str(row.get("event_type", "view")), 1.0)
                if row.get("value") is not None and row.get("event_type") == "rating":
                    weight = float(row["value"])
                self._fresh.setdefault(user, []).append((self._seq, str(row["item_id"]),
                                                         float(weight)))
        return n

    def upsert_item(self, item_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Store a product; a new one becomes recommendable at once from its text when the
        model reads text (otherwise after the next retrain)."""
        is_new = self.store.upsert_item(item_id, fields)
        live = self.live
        with self._lock:
            self._invalidate()  # a new product or a changed price / stock / category
        recommendable = item_id in live.item_index
        if is_new and not recommendable and hasattr(live.model, "add_items"):
            row = pd.DataFrame([{k: v for k, v in fields.items() if v is not None}])
            reference = live.catalog["price"] if live.catalog is not None and \
                "price" in live.catalog.columns else None
            text = catalog_texts(row, [item_id], price_reference=reference)
            with self._lock:
                idx = int(live.model.add_items(text)[0])  # type: ignore[attr-defined]
                live.item_index[item_id] = idx
                live.item_ids.append(item_id)
                live.item_counts = np.append(live.item_counts, 0.0)
                if live.catalog is not None:
                    live.catalog = pd.concat([live.catalog, row.set_axis([idx])])
            recommendable = True
        elif not is_new and live.catalog is not None and item_id in live.item_index:
            idx = live.item_index[item_id]
            with self._lock:
                for key, value in fields.items():
                    if key in live.catalog.columns:
                        live.catalog.loc[idx, key] = value
        return {"item_id": item_id, "created": is_new, "recommendable": recommendable}

    def upsert_user(self, user_id: str, attributes: Mapping[str, Any]) -> bool:
        created = self.store.upsert_user(user_id, attributes)
        with self._lock:
            self._invalidate(user_id)
        return created

    def delete_user(self, user_id: str) -> int:
        """Erase the shopper from the store and from the live state (they are then served
        as an unknown shopper with no history)."""
        removed = self.store.delete_user(user_id)
        with self._lock:
            self._fresh.pop(user_id, None)
            self._forgotten.add(user_id)
            self._invalidate(user_id)
        return removed

    # -- reads ----------------------------------------------------------------------------
    def _user_row(self, live: LiveModel, user_id: str | None) -> int:
        if user_id is None or user_id in self._forgotten:
            return -1
        return live.user_index.get(user_id, -1)

    def history(self, user_id: str | None, items: Sequence[str] = ()) -> sp.csr_matrix:
        """Trained row + fresh events + ``items`` (a session), as one CSR row."""
        live = self.live
        n = live.model.n_items_
        row = self._user_row(live, user_id)
        base = live.model.user_history(np.asarray([row]))
        base = sp.csr_matrix(base, shape=(1, n)) if base.shape[1] == n else \
            sp.csr_matrix((base.data, base.indices, base.indptr), shape=(1, n))
        cols, vals = [], []
        fresh = self._fresh.get(user_id, []) if user_id is not None else []
        for _, item, weight in fresh:
            if item in live.item_index:
                cols.append(live.item_index[item])
                vals.append(weight)
        for item in items:
            if item in live.item_index:
                cols.append(live.item_index[item])
                vals.append(1.0)
        if not cols:
            return base
        extra = sp.csr_matrix((vals, (np.zeros(len(cols), dtype=np.int64), cols)),
                              shape=(1, n), dtype=np.float32)
        return sp.csr_matrix(base + extra, dtype=np.float32)

    def _profile(self, user_id: str | None, attributes: Mapping[str, Any] | None
                 ) -> Mapping[str, Any] | None:
        if attributes:
            return attributes
        if user_id is None or user_id in self._forgotten:
            return None
        return self.store.user_profile(user_id)

    def _result(self, live: LiveModel, user_row: int, ids: np.ndarray, scores: np.ndarray,
                history: sp.csr_matrix, attributes: pd.DataFrame | None,
                default_reason: str, explain_signals: bool = True) -> list[dict[str, Any]]:
        keep = ids >= 0
        ids, scores = ids[keep], scores[keep]
        reasons = [default_reason] * len(ids)
        explain = getattr(live.model, "explain", None)
        if explain is not None and len(ids) and explain_signals:
            reasons = explain(user_row, ids, history=history, attributes=attributes)
        out = []
        for item, score, reason in zip(ids, scores, reasons, strict=True):
            entry: dict[str, Any] = {"item_id": live.item_ids[int(item)],
                                     "score": float(score), "reason": reason}
            if live.catalog is not None and "title" in live.catalog.columns:
                title = live.catalog["title"].get(int(item))
                entry["title"] = None if title is None or pd.isna(title) else str(title)
            out.append(entry)
        return out

    def recommend(self, user_id: str | None, k: int = 10, *,
                  attributes: Mapping[str, Any] | None = None, items: Sequence[str] = (),
                  query: str | None = None, filters: Filters | None = None,
                  rerank: str | None = None) -> list[dict[str, Any]]:
        """Top-``k`` for a known, new or anonymous shopper (unknown ids are cold-start).

        Plain calls (no attributes, session items or query) are answered from a per-shopper
        cache that every write touching the answer invalidates."""
        plain = not attributes and not items and not query
        key = (k, rerank, None if filters is None else (
            filters.in_stock_only, tuple(filters.exclude_categories), filters.price_min,
            filters.price_max))
        if plain:
            with self._lock:
                epoch = self._epoch
                cached = self._answers.get(user_id, {}).get(key)
                if cached is not None:
                    self.cache_hits += 1
                    self._answers.move_to_end(user_id)
                    return cached
        answer = self._recommend(user_id, k, attributes=attributes, items=items, query=query,
                                 filters=filters, rerank=rerank)
        if plain:
            with self._lock:
                if self._epoch != epoch:
                    return answer
                self._answers.setdefault(user_id, {})[key] = answer
                self._answers.move_to_end(user_id)
                while len(self._answers) > self.cache_users:
                    self._answers.popitem(last=False)
        return answer

    def _recommend(self, user_id: str | None, k: int, *,
                   attributes: Mapping[str, Any] | None, items: Sequence[str],
                   query: str | None, filters: Filters | None,
                   rerank: str | None) -> list[dict[str, Any]]:
        reranker = get_reranker(rerank) if rerank else None
        with self._lock:
            live = self.live
            row = self._user_row(live, user_id)
            history = self.history(user_id, items)
            attrs = _attributes_frame(self._profile(user_id, attributes))
            context = RerankContext(item_counts=live.item_counts, history=history,
                                    catalog=live.catalog)
            candidates = None
            rule = filters.rule() if filters is not None else None
            if rule is not None and rule.active:
                candidates = np.flatnonzero(rule.allowed(context))
            depth = k * DEPTH_FACTOR if reranker is not None else k
            users = np.asarray([row])
            if query and hasattr(live.model, "search"):
                ids, scores = live.model.search(query, k=depth, user=None if row < 0 else row,
                                                history=history, attributes=attrs)
                ids, scores = ids[None, :], scores[None, :]
                if candidates is not None:
                    allowed = np.isin(ids, candidates)
                    ids, scores = np.where(allowed, ids, -1), np.where(allowed, scores, -np.inf)
                default = "matches your search"
            else:
                if live.index is not None and candidates is None:
                    ids, scores = self._retrieve(live, users, history, depth)
                else:
                    ids, scores = live.model.recommend(users, k=depth, history=history,
                                                       attributes=attrs, candidates=candidates)
                default = "popular with shoppers like you" if history.nnz == 0 else \
                    "shoppers like you bought it"
            if reranker is not None:
                ids, scores = reranker.rerank(ids, scores, k, context)
            return self._result(live, row, ids[0], scores[0], history, attrs, default)

    @staticmethod
    def _retrieve(live: LiveModel, users: np.ndarray, history: sp.csr_matrix, k: int
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-``k`` of a factor model through the item-vector index."""
        assert live.index is not None and isinstance(live.model, FactorModel)
        vector = live.model.user_vectors(users, history)
        seen = set(history.indices.tolist())
        ids, scores = live.index.search(vector, k + len(seen))
        keep = np.asarray([i >= 0 and int(i) not in seen for i in ids[0]])
        ids, scores = ids[0][keep][:k], scores[0][keep][:k]
        pad = k - len(ids)
        return (np.concatenate([ids, np.full(pad, -1)])[None, :],
                np.concatenate([scores, np.full(pad, -np.inf)])[None, :])

    def similar(self, item_id: str, k: int = 10) -> list[dict[str, Any]] | None:
        """Products bought with / like ``item_id``; None when the product is unknown."""
        with self._lock:
            live = self.live
            idx = live.item_index.get(item_id)
            if idx is None:
                return None
            n = live.model.n_items_
            hist = sp.csr_matrix(([1.0], ([0], [idx])), shape=(1, n), dtype=np.float32)
            ids, scores = live.model.recommend(np.asarray([-1]), k=k, history=hist)
            name = live.catalog["title"].get(idx) if live.catalog is not None and \
                "title" in live.catalog.columns else item_id
            return self._result(live, -1, ids[0], scores[0], hist, None,
                                f"bought together with or like {name}",
                                explain_signals=False)

    def search(self, query: str, k: int = 10, user_id: str | None = None
               ) -> list[dict[str, Any]]:
        return self.recommend(user_id, k, query=query)
