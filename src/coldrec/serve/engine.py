"""The service's request layer: writes (events, products, profiles, erasure) and reads
(recommendations, search, similar products), on the live models of
:mod:`coldrec.serve.live` and the one recommendation :class:`~coldrec.pipeline.Pipeline`.
No web code here."""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.builtin import load
from coldrec.data.dataset import Dataset
from coldrec.data.ids import id_problem
from coldrec.errors import DataError
from coldrec.experiments.design import Experiment, Variant
from coldrec.models.base import Recommender
from coldrec.pipeline import ListRequest, RankedLists, load_model
from coldrec.rerank import BusinessFilter, get_reranker
from coldrec.serve import catalogue
from coldrec.serve.cache import AnswerCache
from coldrec.serve.fresh import FreshState
from coldrec.serve.live import LiveModel, ModelHolder
from coldrec.serve.store import EventStore

__all__ = ["Filters", "RecommenderService", "dataset_from_store"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Filters:
    """Business rules of one request."""

    in_stock_only: bool = False
    exclude_categories: Sequence[str] = ()
    price_min: float | None = None
    price_max: float | None = None

    def rule(self) -> BusinessFilter:
        return BusinessFilter(self.in_stock_only, self.exclude_categories, self.price_min,
                              self.price_max)

    def key(self) -> tuple[Any, ...]:
        return (self.in_stock_only, tuple(self.exclude_categories), self.price_min,
                self.price_max)


def _usable_rows(events: pd.DataFrame, catalog: pd.DataFrame, users: pd.DataFrame
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, int]:
    """The rows of the store's tables that a dataset accepts, and how many were not."""
    def good_ids(frame: pd.DataFrame, *columns: str) -> np.ndarray:
        keep = np.ones(len(frame), dtype=bool)
        for col in columns:
            keep &= frame[col].map(lambda v: v is not None and id_problem(v) is None
                                   ).to_numpy(dtype=bool)
        return keep

    keep_events = good_ids(events, "user_id", "item_id")
    if "timestamp" in events.columns:
        stamps = pd.to_numeric(events["timestamp"], errors="coerce").to_numpy(dtype=float)
        keep_events &= np.isfinite(stamps) | pd.isna(events["timestamp"]).to_numpy()
    keep_items = good_ids(catalog, "item_id") if len(catalog) else np.ones(0, dtype=bool)
    keep_users = good_ids(users, "user_id") if len(users) else np.ones(0, dtype=bool)
    skipped = int((~keep_events).sum() + (~keep_items).sum() + (~keep_users).sum())
    return (events[keep_events].reset_index(drop=True),
            catalog[keep_items].reset_index(drop=True),
            users[keep_users].reset_index(drop=True), skipped)


def dataset_from_store(store: EventStore) -> tuple[Dataset, int]:
    """The store's contents as a dataset, and how many stored rows it left out: rows a
    loader would refuse (an id that is blank or holds control characters, a time that is
    not a finite number) are skipped and logged, so no stored row stops a start or a fit."""
    events, catalog, users = store.frames()
    events, catalog, users, skipped = _usable_rows(events, catalog, users)
    if skipped:
        log.warning("skipped %d stored rows that cannot be trained on (bad ids or times)",
                    skipped)
    if events.empty:
        raise DataError("the event store holds no events to train on", source="store")
    return Dataset.from_frames(events, catalog if len(catalog) else None,
                               users if len(users) else None, name="store",
                               unknown_items="keep", keep_events=False), skipped


def _attributes_frame(attributes: Mapping[str, Any] | None) -> pd.DataFrame | None:
    if not attributes:
        return None
    return pd.DataFrame([{k: str(v) for k, v in attributes.items()}])


class RecommenderService:
    """Answers recommendation calls and takes writes; thread-safe.

    Answers read the live models side by side (the models' read lock); a new product, an
    erasure or a swap takes it for writing. Fresh events, the answer cache and exposure sit
    behind a short state lock, never held while scoring. A retrain fits the new models
    without either and swaps them in atomically, so answers keep flowing during the fit.
    Fresh events are folded in at query time: a shopper's history is the trained row plus
    every event received since, so the next answer reflects them.
    """

    def __init__(self, store: EventStore, model_name: str,
                 model_params: Mapping[str, Any] | None = None, *,
                 ann_threshold: int = 20_000, cache_users: int = 100_000,
                 cache_ttl_s: float = 300.0, experiment: Experiment | None = None,
                 new_arrivals: int = 500, scoring_slots: int | None = None) -> None:
        self.store = store
        self.experiment = experiment
        self.new_arrivals = new_arrivals
        self.models = ModelHolder(model_name, model_params, experiment=experiment,
                                  ann_threshold=ann_threshold)
        self._models_lock = self.models.lock
        self._lock = threading.Lock()  # fresh events, cache, exposure: never while scoring
        self._retrain_lock = threading.Lock()
        # answers computed at once: one per core, the rest queue (no thrashing)
        self._scoring = threading.BoundedSemaphore(scoring_slots or os.cpu_count() or 1)
        self.fresh = FreshState()
        self._retrain_wanted = threading.Event()
        self.exposure: Counter[str] = Counter()  # times each product was recommended
        self.cache = AnswerCache(cache_users, cache_ttl_s)
        self.skipped_rows = 0  # stored rows the last fit could not use

    # -- start-up and retraining ----------------------------------------------------------
    @classmethod
    def start(cls, store: EventStore, data_name: str, model_name: str,
              model_params: Mapping[str, Any] | None = None, *, seed_events: bool = True,
              model_path: Path | None = None, **options: Any) -> RecommenderService:
        """Seed an empty store from a dataset, then answer with the model saved at
        ``model_path`` or one trained on the store's contents. ``options`` go to the
        constructor (``experiment``, ``new_arrivals``, ...)."""
        service = cls(store, model_name, model_params, **options)
        if store.count("items") == 0 and store.count("events") == 0:
            data = load(data_name)
            store.seed(data, with_events=seed_events)
        else:
            data = service._dataset_from_store()
        fitted = None
        if model_path is not None:
            fitted, data = load_model(model_path)
            service.models.adopt(fitted)
        service._install(data, fitted)
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
        data, self.skipped_rows = dataset_from_store(self.store)
        return data

    def _install(self, data: Dataset, fitted: Recommender | None = None) -> None:
        lives = self.models.build_all(data, fitted)
        self.models.install(lives)
        self.store.add_model_version(self.models.model_name, {
            "users": data.n_users, "items": data.n_items, "arms": len(lives)})

    def retrain(self) -> int:
        """Fit on everything in the store and swap atomically; returns the new version."""
        with self._retrain_lock:
            return self._retrain_now()

    def _retrain_now(self) -> int:
        """:meth:`retrain` with the retrain lock held."""
        with self._lock:
            mark = self.fresh.seq
        data = self._dataset_from_store()
        lives = self.models.build_all(data)
        with self._models_lock.write(), self._lock:
            self._swap_in(lives, mark)
        self.store.add_model_version(self.models.model_name, {
            "users": data.n_users, "items": data.n_items, "arms": len(lives)})
        return self.live.version

    def _swap_in(self, lives: dict[str, LiveModel], mark: int) -> None:
        """Install models fitted on the store as of event ``mark`` (under the lock)."""
        self.fresh.hand_over(list({id(v): v for v in lives.values()}.values()), mark)
        self.models.install(lives, retrained=True)
        self.cache.invalidate(everyone=True)

    @property
    def model_name(self) -> str:
        return self.models.model_name

    @property
    def live(self) -> LiveModel:
        """The service's own model (experiment arms may hold others)."""
        return self.models.live

    @property
    def cache_hits(self) -> int:
        return self.cache.hits

    def model_of(self, variant: Variant | None) -> Recommender:
        """The fitted model answering ``variant`` (None: the service's own)."""
        return self.models.live_of(variant).model

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
            for user in self.fresh.record(rows):
                self.cache.invalidate(user)
        return n

    def upsert_item(self, item_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Store a product; a new one becomes recommendable at once from its text when the
        model reads text (otherwise after the next retrain). Every arm learns it;
        ``recommendable`` speaks of the service's own model."""
        is_new = self.store.upsert_item(item_id, fields)
        with self._models_lock.write(), self._lock:
            self.fresh.item_written(item_id, fields, during_fit=self._retrain_lock.locked())
            # a changed price, stock or text changes the answers that show the product; a
            # new one may enter anyone's list ("recommendable at once"): every answer goes
            if is_new:
                self.cache.invalidate(everyone=True)
            else:
                self.cache.invalidate_item(item_id)
            done = {}
            for live in self.models.distinct():
                if is_new:
                    done[id(live)] = live.add_item(item_id, fields)
                else:
                    live.update_item(item_id, fields)
                    done[id(live)] = item_id in live.item_index
            recommendable = done[id(self.live)]
        return {"item_id": item_id, "created": is_new, "recommendable": recommendable}

    def upsert_user(self, user_id: str, attributes: Mapping[str, Any]) -> bool:
        created = self.store.upsert_user(user_id, attributes)
        with self._lock:
            self.cache.invalidate(user_id)
        return created

    def delete_user(self, user_id: str) -> dict[str, Any]:
        """Erase the shopper from the store and, at once, from every live model (their
        history and per-user state); a later event under the same id starts a new shopper.
        What they added to item-side state goes with the retrain this schedules."""
        removed = self.store.delete_user(user_id)
        with self._models_lock.write(), self._lock:
            self.fresh.forget(user_id)
            self.cache.invalidate(user_id)
            for live in self.models.distinct():
                row = live.user_index.get(user_id)
                if row is not None:
                    live.model.forget_user(row)
        self.schedule_retrain()
        return {"user_id": user_id, "events_removed": removed, "retrain": "scheduled"}

    def schedule_retrain(self) -> None:
        """Retrain soon in the background; requests that arrive meanwhile share one fit."""
        if self._retrain_wanted.is_set():
            return
        self._retrain_wanted.set()

        def run() -> None:
            try:
                with self._retrain_lock:  # later erasures until here ride on this fit
                    self._retrain_wanted.clear()
                    self._retrain_now()
            except Exception:  # the live models stay; the next request tries again
                log.exception("scheduled retrain failed; the current models stay live")

        threading.Thread(target=run, name="coldrec-retrain-after-erasure", daemon=True).start()

    # -- reads ----------------------------------------------------------------------------
    def history(self, user_id: str | None, items: Sequence[str] = (),
                live: LiveModel | None = None) -> sp.csr_matrix:
        """Trained row + fresh events + ``items`` (a session), as one CSR row."""
        return self.fresh.history(live or self.live, user_id, items)

    def _profile(self, user_id: str | None, attributes: Mapping[str, Any] | None
                 ) -> Mapping[str, Any] | None:
        if attributes:
            return attributes
        if user_id is None:
            return None
        return self.store.user_profile(user_id)  # an erased shopper's is gone with them

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
               None if filters is None else filters.key())
        if not plain:
            return self._answer(user_id, k, attributes=attributes, items=items, query=query,
                                filters=filters, rerank=rerank, variant=variant,
                                new_arrivals=new_arrivals)
        answer, _ = self.cache.answer(self._lock, user_id, key, lambda: self._recommend(
            user_id, k, filters=filters, rerank=rerank, variant=variant,
            new_arrivals=new_arrivals))
        with self._lock:
            self.exposure.update(entry["item_id"] for entry in answer)
        return answer

    def _answer(self, user_id: str | None, k: int, **request: Any) -> list[dict[str, Any]]:
        """A fresh answer, counted in the exposure unless it answers a query."""
        answer = self._recommend(user_id, k, **request)
        if not request.get("query"):  # search results answer a query, not recommend
            with self._lock:
                self.exposure.update(entry["item_id"] for entry in answer)
        return answer

    def _recommend(self, user_id: str | None, k: int, *,
                   attributes: Mapping[str, Any] | None = None, items: Sequence[str] = (),
                   query: str | None = None, filters: Filters | None = None,
                   rerank: str | None = None, variant: Variant | None = None,
                   new_arrivals: bool = False) -> list[dict[str, Any]]:
        reranker = get_reranker(rerank) if rerank is not None else None
        profile = _attributes_frame(self._profile(user_id, attributes))  # the store, unlocked
        with self._scoring, self._models_lock.read():
            live = self.models.live_of(variant)
            with self._lock:
                row = self.fresh.row(live, user_id)
                history = self.fresh.history(live, user_id, items)
            request = ListRequest(
                [row], k=k, history=history, attributes=profile, query=query or None,
                filters=None if filters is None else filters.rule(), rerank=reranker,
                explain=True,
                candidates=catalogue.newest(live, self.new_arrivals) if new_arrivals else None,
                label="new arrival" if new_arrivals else None)
            return self._shown(live, live.pipeline().run(request))

    @staticmethod
    def _shown(live: LiveModel, lists: RankedLists) -> list[dict[str, Any]]:
        ids, scores, reasons = lists.row(0)
        return [{**catalogue.describe(live, int(item)), "score": float(score), "reason": why}
                for item, score, why in zip(ids, scores, reasons, strict=True)]

    def similar(self, item_id: str, k: int = 10, *, filters: Filters | None = None
                ) -> list[dict[str, Any]] | None:
        """Products bought together with or described like ``item_id`` (None when the
        product is unknown); see :meth:`~coldrec.models.base.Recommender.similar_items`."""
        with self._models_lock.read():
            live = self.live
            idx = live.item_index.get(item_id)
            if idx is None:
                return None
            lists = live.pipeline().similar(
                idx, k, filters=None if filters is None else filters.rule(),
                name=catalogue.describe(live, idx)["title"] or item_id)
            return self._shown(live, lists)

    def search(self, query: str, k: int = 10, user_id: str | None = None, *,
               filters: Filters | None = None) -> list[dict[str, Any]]:
        return self.recommend(user_id, k, query=query, filters=filters)

    # -- what the demo page and the metrics view read --------------------------------------
    @contextmanager
    def reading(self) -> Iterator[LiveModel]:
        """The service's own live model, held for reading (see :mod:`coldrec.serve.catalogue`
        for what the pages read from it)."""
        with self._models_lock.read():
            yield self.live

    def longtail(self, points: int = 50) -> dict[str, Any]:
        with self._lock:
            live, exposure = self.live, dict(self.exposure)
        return catalogue.longtail(live, exposure, points)
