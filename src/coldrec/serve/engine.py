"""The live recommender behind the API: a fitted model (one per experiment arm), fold-in of
fresh events, new products from text, forgetting shoppers, atomic model swaps, and what the
demo page shows (catalog pages, new arrivals, exposure). No web code here."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.builtin import load
from coldrec.data.dataset import Dataset
from coldrec.data.schema import DEFAULT_EVENT_WEIGHTS, NON_INTERACTIONS
from coldrec.errors import DataError
from coldrec.experiments.design import Experiment, Variant
from coldrec.models.ann import VectorIndex
from coldrec.models.base import Recommender
from coldrec.models.baselines import Popularity, RandomRecommender
from coldrec.models.content import zscore
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
    arrival: np.ndarray  # first time each product was seen (event log or catalog add)
    index: VectorIndex | None = None
    buyers: sp.csr_matrix | None = None  # item × user, built by the first `similar` call
    fitted_at: float = field(default_factory=time.time)


#: similar products: candidates per signal, co-purchase shrinkage, buyers for half trust
SIMILAR_POOL = 200
SIMILAR_SHRINK = 5.0
SIMILAR_TRUST = 20.0


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
                 ann_threshold: int = 20_000, cache_users: int = 100_000,
                 experiment: Experiment | None = None, new_arrivals: int = 500) -> None:
        self.store = store
        self.ann_threshold = ann_threshold
        self.model_name = model_name
        self.model_params = dict(model_params or {})
        self.experiment = experiment
        self.new_arrivals = new_arrivals
        # arm key -> (model, params); "" is the service's own model. Variants that name no
        # model and no parameters share it; the others each get a fitted model of their own.
        self._arms: dict[str, tuple[str, dict[str, Any]]] = {"": (model_name,
                                                                  self.model_params)}
        for v in experiment.variants if experiment is not None else ():
            if v.model is not None or v.params:
                self._arms[v.arm] = (v.model or model_name,
                                     dict(v.params) if v.model else
                                     {**self.model_params, **v.params})
        for name, _ in self._arms.values():
            get_model_spec(name)  # an unknown model fails at start-up, not on a request
        self._lock = threading.RLock()
        self._retrain_lock = threading.Lock()
        self._seq = 0
        self._fresh: dict[str, list[tuple[int, str, float]]] = {}
        self._forgotten: set[str] = set()
        self._lives: dict[str, LiveModel] = {}
        self.retrains = 0
        self.exposure: Counter[str] = Counter()  # times each product was recommended
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
              seed_events: bool = True, **options: Any) -> RecommenderService:
        """Seed an empty store from a dataset, then train on the store's contents.
        ``options`` go to the constructor (``experiment``, ``new_arrivals``, ...)."""
        if store.count("items") == 0 and store.count("events") == 0:
            return cls.from_dataset(store, load(data_name), model_name, model_params,
                                    seed_events=seed_events, **options)
        service = cls(store, model_name, model_params, **options)
        service._install(service._dataset_from_store())
        return service

    @classmethod
    def from_dataset(cls, store: EventStore, data: Dataset, model_name: str,
                     model_params: Mapping[str, Any] | None = None, *,
                     seed_events: bool = True, **options: Any) -> RecommenderService:
        """Seed ``store`` (assumed empty) with ``data`` and train on ``data``."""
        service = cls(store, model_name, model_params, **options)
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

    def _build(self, data: Dataset, model_name: str, model_params: Mapping[str, Any]
               ) -> LiveModel:
        spec = get_model_spec(model_name)
        params = dict(model_params)
        if "progress" in spec.cls._param_names():
            params.setdefault("progress", False)
        model = spec.build(**params).fit(data)
        ids = [str(x) for x in data.items.ids]
        if hasattr(model, "search"):  # load the query encoder now, not on a shopper's time
            model.search("warm-up", k=1)
        index = None
        if isinstance(model, FactorModel) and data.n_items >= self.ann_threshold:
            index = VectorIndex(model.item_factors_, exact_below=self.ann_threshold)
        arrival = np.zeros(data.n_items)
        if data.n_interactions:
            first = data.pairs.groupby("item")["timestamp"].min()
            arrival[first.index.to_numpy()] = first.to_numpy()
        return LiveModel(data=data, model=model, version=self.retrains + 1,
                         item_index={x: i for i, x in enumerate(ids)}, item_ids=ids,
                         user_index={str(x): i for i, x in enumerate(data.users.ids)},
                         catalog=None if data.catalog is None else data.catalog.copy(),
                         item_counts=np.asarray(data.item_counts, dtype=np.float64),
                         arrival=arrival, index=index)

    def _build_all(self, data: Dataset) -> dict[str, LiveModel]:
        """One fitted model per distinct (model, parameters): arms that resolve to the
        service's own configuration share its model instead of fitting it again."""
        built: dict[str, LiveModel] = {}
        lives = {}
        for key, (name, params) in self._arms.items():
            spec = json.dumps([name, sorted(params.items())], default=str)
            if spec not in built:
                built[spec] = self._build(data, name, params)
            lives[key] = built[spec]
        return lives

    def _install(self, data: Dataset) -> None:
        lives = self._build_all(data)
        with self._lock:
            self._lives = lives
        self.store.add_model_version(self.model_name, {"users": data.n_users,
                                                       "items": data.n_items,
                                                       "arms": len(lives)})

    def retrain(self) -> int:
        """Fit on everything in the store and swap atomically; returns the new version."""
        with self._retrain_lock:
            with self._lock:
                mark = self._seq
            lives = self._build_all(self._dataset_from_store())
            live = lives[""]
            with self._lock:
                self.retrains += 1
                for each in lives.values():
                    each.version = self.retrains + 1
                self._lives = lives
                self._invalidate()
                for user in list(self._fresh):  # events up to `mark` are in the new fit
                    kept = [e for e in self._fresh[user] if e[0] > mark]
                    if kept:
                        self._fresh[user] = kept
                    else:
                        del self._fresh[user]
            self.store.add_model_version(self.model_name, {"users": live.data.n_users,
                                                           "items": live.data.n_items,
                                                           "arms": len(lives)})
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
        """The service's own model (experiment arms may hold others)."""
        assert self._lives, "service not started"
        return self._lives[""]

    def model_of(self, variant: Variant | None) -> Recommender:
        """The fitted model answering ``variant`` (None: the service's own)."""
        return self._live_of(variant).model

    def _live_of(self, variant: Variant | None) -> LiveModel:
        if variant is None:
            return self.live
        return self._lives.get(variant.arm, self._lives[""])

    def assign(self, user_id: str | None) -> Variant | None:
        """The experiment variant of a known shopper id (None: no experiment, or an
        anonymous request, which the service's own model answers)."""
        if self.experiment is None or user_id is None:
            return None
        return self.experiment.assign(user_id)

    # -- writes ---------------------------------------------------------------------------
    def record_events(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store events (committed before returning) and fold them into live histories.

        Impressions (what a shopper was shown) are stored for experiment reports but are
        not interactions: they change no history and no answer."""
        n = self.store.add_events(rows)
        with self._lock:
            for row in rows:
                if row.get("event_type") in NON_INTERACTIONS:
                    continue
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
        with self._lock:
            self._invalidate()  # a new product or a changed price / stock / category
            lives = list({id(v): v for v in self._lives.values()}.values())
        # every arm learns the product; `recommendable` speaks of the service's own model
        # (an arm whose model reads no text shows it after the next retrain)
        done = {id(live): self._upsert_live(live, item_id, fields, is_new) for live in lives}
        recommendable = done[id(self.live)]
        return {"item_id": item_id, "created": is_new, "recommendable": recommendable}

    def _upsert_live(self, live: LiveModel, item_id: str, fields: Mapping[str, Any],
                     is_new: bool) -> bool:
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
                live.arrival = np.append(live.arrival, time.time())
                if live.catalog is not None:
                    live.catalog = pd.concat([live.catalog, row.set_axis([idx])])
            recommendable = True
        elif not is_new and live.catalog is not None and item_id in live.item_index:
            idx = live.item_index[item_id]
            with self._lock:
                for key, value in fields.items():
                    if key in live.catalog.columns:
                        live.catalog.loc[idx, key] = value
        return recommendable

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

    def history(self, user_id: str | None, items: Sequence[str] = (),
                live: LiveModel | None = None) -> sp.csr_matrix:
        """Trained row + fresh events + ``items`` (a session), as one CSR row."""
        live = live or self.live
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
        return [{**self.describe(live, int(item)), "score": float(score), "reason": reason}
                for item, score, reason in zip(ids, scores, reasons, strict=True)]

    def recommend(self, user_id: str | None, k: int = 10, *,
                  attributes: Mapping[str, Any] | None = None, items: Sequence[str] = (),
                  query: str | None = None, filters: Filters | None = None,
                  rerank: str | None = None, variant: Variant | None = None,
                  new_arrivals: bool = False) -> list[dict[str, Any]]:
        """Top-``k`` for a known, new or anonymous shopper (unknown ids are cold-start).

        ``variant`` (an experiment arm) picks the model and, unless ``rerank`` is given,
        the re-ranker; ``new_arrivals`` ranks only the newest products. Plain calls (no
        attributes, session items or query) are answered from a per-shopper cache that
        every write touching the answer invalidates."""
        if variant is not None and rerank is None:
            rerank = variant.rerank
        plain = not attributes and not items and not query
        key = (k, rerank, None if variant is None else variant.arm, new_arrivals,
               None if filters is None else (
                   filters.in_stock_only, tuple(filters.exclude_categories),
                   filters.price_min, filters.price_max))
        if plain:
            with self._lock:
                epoch = self._epoch
                cached = self._answers.get(user_id, {}).get(key)
                if cached is not None:
                    self.cache_hits += 1
                    self._answers.move_to_end(user_id)
                    self._expose(cached)
                    return cached
        answer = self._recommend(user_id, k, attributes=attributes, items=items, query=query,
                                 filters=filters, rerank=rerank, variant=variant,
                                 new_arrivals=new_arrivals)
        with self._lock:
            if not query:  # search results are answers to a query, not recommendations
                self._expose(answer)
            if plain and self._epoch == epoch:
                self._answers.setdefault(user_id, {})[key] = answer
                self._answers.move_to_end(user_id)
                while len(self._answers) > self.cache_users:
                    self._answers.popitem(last=False)
        return answer

    def _expose(self, answer: Sequence[Mapping[str, Any]]) -> None:
        self.exposure.update(entry["item_id"] for entry in answer)

    def _recommend(self, user_id: str | None, k: int, *,
                   attributes: Mapping[str, Any] | None, items: Sequence[str],
                   query: str | None, filters: Filters | None,
                   rerank: str | None, variant: Variant | None = None,
                   new_arrivals: bool = False) -> list[dict[str, Any]]:
        reranker = get_reranker(rerank) if rerank else None
        with self._lock:
            live = self._live_of(variant)
            row = self._user_row(live, user_id)
            history = self.history(user_id, items, live)
            attrs = _attributes_frame(self._profile(user_id, attributes))
            context = RerankContext(item_counts=live.item_counts, history=history,
                                    catalog=live.catalog)
            candidates = None
            rule = filters.rule() if filters is not None else None
            if rule is not None and rule.active:
                candidates = np.flatnonzero(rule.allowed(context))
            if new_arrivals:
                newest = self._newest(live)
                candidates = newest if candidates is None else \
                    np.intersect1d(newest, candidates)
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
                if isinstance(live.model, Popularity | RandomRecommender):
                    default = "popular in the shop" if isinstance(live.model, Popularity) \
                        else "picked at random"
                if new_arrivals:
                    default = "new arrival"
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
        """Products bought together with or described like ``item_id`` (None when the
        product is unknown).

        Two signals, each z-scored over the best ``POOL`` candidates of either: co-purchase
        cosine with shrinkage (``co / (√(nᵢ nⱼ) + SHRINK)``) and, for text-aware models,
        cosine of the products' language-model vectors. Trust in co-purchases grows with
        the product's buyers (``n / (n + TRUST)``), so a new or rare product is matched by
        its text and a best seller by what is bought with it.
        """
        with self._lock:
            live = self.live
            idx = live.item_index.get(item_id)
            if idx is None:
                return None
            n = len(live.item_ids)
            matrix = live.data.binary_matrix
            if live.buyers is None:  # once per model: a column of user×item CSR is O(nnz)
                live.buyers = sp.csr_matrix(matrix.T)
            cf = np.zeros(n)
            if idx < matrix.shape[1]:
                start, end = live.buyers.indptr[idx], live.buyers.indptr[idx + 1]
                buyers = live.buyers.indices[start:end]
                if len(buyers):
                    co = np.asarray(matrix[buyers].sum(axis=0)).ravel()
                    counts = live.item_counts[:len(co)]
                    cf[:len(co)] = co / (np.sqrt(counts[idx] * counts) + SIMILAR_SHRINK)
            emb = getattr(live.model, "item_embeddings_", None)
            text = np.asarray(emb @ emb[idx], dtype=np.float64) if emb is not None and \
                len(emb) == n else None
            trust = live.item_counts[idx] / (live.item_counts[idx] + SIMILAR_TRUST)
            pool = set(np.argsort(-cf)[:SIMILAR_POOL].tolist())
            if text is not None:
                pool |= set(np.argsort(-text)[:SIMILAR_POOL].tolist())
            pool.discard(idx)
            cand = np.asarray(sorted(pool))
            by_cf = trust * zscore(cf[cand][None])[0] if cf[cand].any() else \
                np.zeros(len(cand))
            by_text = (1 - trust) * zscore(text[cand][None])[0] if text is not None else \
                np.zeros(len(cand))
            score = by_cf + by_text
            top = np.argsort(-score, kind="stable")[:k]
            name = self.describe(live, idx)["title"] or item_id
            out = []
            for j in top:
                reason = f"bought together with {name}" if by_cf[j] >= by_text[j] else \
                    f"described like {name}"
                out.append({**self.describe(live, int(cand[j])), "score": float(score[j]),
                            "reason": reason})
            return out

    def search(self, query: str, k: int = 10, user_id: str | None = None
               ) -> list[dict[str, Any]]:
        return self.recommend(user_id, k, query=query)

    # -- what the demo page and the metrics view read --------------------------------------
    def _newest(self, live: LiveModel) -> np.ndarray:
        """The ``new_arrivals`` products first seen most recently (live additions first)."""
        n = min(self.new_arrivals, len(live.arrival))
        return np.sort(np.argsort(-live.arrival, kind="stable")[:n])

    def catalog_page(self, offset: int = 0, limit: int = 24, category: str | None = None,
                     contains: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        """A page of the catalogue (newest products first), optionally one category's
        products or those whose title contains a phrase; returns (total, page)."""
        with self._lock:
            live = self.live
            order = np.argsort(-live.arrival, kind="stable")
            cat = live.catalog
            if cat is not None:
                keep = np.ones(len(live.item_ids), dtype=bool)
                if category and "category" in cat.columns:
                    col = cat["category"].reindex(range(len(keep))).astype("string")
                    keep &= col.str.startswith(category).fillna(False).to_numpy(dtype=bool)
                if contains and "title" in cat.columns:
                    col = cat["title"].reindex(range(len(keep))).astype("string")
                    keep &= col.str.contains(contains, case=False, regex=False) \
                        .fillna(False).to_numpy(dtype=bool)
                order = order[keep[order]]
            page = order[offset:offset + limit]
            return len(order), [self.describe(live, int(i)) for i in page]

    def describe(self, live: LiveModel, idx: int) -> dict[str, Any]:
        """Id, title, category, brand and price of a product (None where unknown)."""
        out: dict[str, Any] = {"item_id": live.item_ids[idx]}
        for col in ("title", "category", "brand", "price"):
            value = None
            if live.catalog is not None and col in live.catalog.columns:
                value = live.catalog[col].get(idx)
                value = None if value is None or pd.isna(value) else value
            out[col] = float(value) if col == "price" and value is not None else \
                (None if value is None else str(value))
        return out

    def item(self, item_id: str) -> dict[str, Any] | None:
        with self._lock:
            idx = self.live.item_index.get(item_id)
            return None if idx is None else self.describe(self.live, idx)

    def categories(self, depth: int = 2) -> list[str]:
        """Distinct category paths cut at 1 … ``depth`` levels (``A > B > C`` → ``A``,
        ``A > B``), sorted so each department precedes its aisles."""
        cat = self.live.catalog
        if cat is None or "category" not in cat.columns:
            return []
        parts = cat["category"].dropna().astype(str).str.split(" > ")
        paths = set()
        for level in range(1, depth + 1):
            paths |= set(parts.str[:level].str.join(" > "))
        return sorted(paths)

    def attribute_choices(self, most: int = 12) -> dict[str, list[str]]:
        """Profile fields of the training shoppers with their most common values."""
        users = self.live.data.user_attributes
        if users is None:
            return {}
        out = {}
        for col in users.columns:
            values = users[col].dropna().astype(str)
            if len(values):
                out[str(col)] = [str(v) for v in values.value_counts().index[:most]]
        return out

    def longtail(self, points: int = 50) -> dict[str, Any]:
        """The long-tail curve: products by training popularity (most popular first) against
        the cumulative share of purchases they hold and of the recommendations served;
        plus catalog coverage of what has been served."""
        with self._lock:
            live = self.live
            counts = live.item_counts
            exposure = np.asarray([self.exposure.get(x, 0) for x in live.item_ids], float)
        order = np.argsort(-counts, kind="stable")
        n = len(order)
        marks = np.unique(np.linspace(0, n, points + 1).round().astype(int))[1:]
        def curve(values: np.ndarray) -> list[float]:
            total = values.sum()
            cum = np.cumsum(values[order])
            return [float(cum[m - 1] / total) if total else 0.0 for m in marks]
        head = max(1, round(0.2 * n))
        served = float(exposure.sum())
        return {"items": n, "x": [float(m / n) for m in marks],
                "purchases": curve(counts), "recommended": curve(exposure),
                "coverage": float((exposure > 0).sum() / n) if n else 0.0,
                "tail_share": float(exposure[order[head:]].sum() / served) if served else 0.0,
                "served": int(served)}
