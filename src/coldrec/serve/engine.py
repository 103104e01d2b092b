"""The service's request layer: writes (events, products, profiles, erasure) and reads
(recommendations, search, similar products), on the live models of
:mod:`coldrec.serve.live` and the one recommendation :class:`~coldrec.pipeline.Pipeline`.
No web code here."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.builtin import load, rules_of
from coldrec.data.dataset import Dataset
from coldrec.data.ids import id_problem
from coldrec.data.rules import NO_RULES
from coldrec.errors import DataError
from coldrec.experiments.design import Experiment, Variant
from coldrec.models.base import Recommender
from coldrec.pipeline import ListRequest, RankedLists, load_model
from coldrec.rerank import BusinessFilter, get_reranker
from coldrec.serve import catalogue
from coldrec.serve.batch import Batcher
from coldrec.serve.cache import AnswerCache
from coldrec.serve.fresh import FreshEvent, fresh_history
from coldrec.serve.live import LiveModel, ModelHolder
from coldrec.serve.store import EventStore
from coldrec.serve.sync import Publisher, StoreSync

__all__ = ["Filters", "RecommenderService", "dataset_from_store"]

log = logging.getLogger(__name__)
#: most queued answers computed in one pass (the hybrid ranks up to 8 shoppers at once
#: without a pass over every item vector; a pass of 8 costs about 5 of one, measured)
BATCH = 8


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


def dataset_from_store(store: EventStore, through: int | None = None
                       ) -> tuple[Dataset, int]:
    """The store's contents (events up to id ``through``) as a dataset, and how many stored
    rows it left out: rows a loader would refuse (an id that is blank or holds control
    characters, a time that is not a finite number) are skipped and logged, so no stored
    row stops a start or a fit."""
    events, catalog, users = store.frames(through)
    events, catalog, users, skipped = _usable_rows(events, catalog, users)
    if skipped:
        log.warning("skipped %d stored rows that cannot be trained on (bad ids or times)",
                    skipped)
    if events.empty:
        raise DataError("the event store holds no events to train on", source="store")
    return Dataset.from_frames(events, catalog if len(catalog) else None,
                               users if len(users) else None, name="store",
                               unknown_items="keep", keep_events=False), skipped


@dataclass(frozen=True)
class Ask:
    """One answer a pass computes: the shopper as the store describes them and the list."""

    user_id: str | None
    events: tuple[FreshEvent, ...]
    profile: Mapping[str, Any] | None
    items: tuple[str, ...]
    k: int
    query: str | None
    filters: Filters | None
    rerank: str | None
    variant: Variant | None
    new_arrivals: bool


class RecommenderService(StoreSync):
    """Answers recommendation calls and takes writes; thread-safe.

    Answers read the live models side by side (the models' read lock); a new product, an
    erasure or a swap takes it for writing. The answer cache and exposure sit behind a
    short state lock, never held while scoring. A retrain fits the new models without
    either and swaps them in atomically, so answers keep flowing during the fit.

    The store is the one truth shared by every process serving it: each answer reads its
    shopper's events since the model's mark and their profile from the store; products
    and erasures are applied from the store's change log (:meth:`sync`, at once for this
    process's own writes, within ``sync_every_s`` for the others'). A *trainer* fits models
    (and with ``model_dir`` publishes them there for other processes); a *follower*
    (``follows``) never fits and swaps to each published version instead.
    """

    def __init__(self, store: EventStore, model_name: str,
                 model_params: Mapping[str, Any] | None = None, *,
                 ann_threshold: int = 20_000, cache_users: int = 100_000,
                 cache_ttl_s: float = 300.0, experiment: Experiment | None = None,
                 new_arrivals: int = 500, scoring_slots: int | None = None,
                 model_dir: Path | None = None, follows: bool = False) -> None:
        self.store = store
        self.experiment = experiment
        self.new_arrivals = new_arrivals
        self.follows = follows
        self.models = ModelHolder(model_name, model_params, experiment=experiment,
                                  ann_threshold=ann_threshold)
        self._models_lock = self.models.lock
        self._lock = threading.Lock()  # cache, exposure: never while scoring
        self._retrain_lock = threading.Lock()
        self._sync_lock = threading.Lock()  # one application of the change log at a time
        # answers computed at once: one per core; the rest queue and go in small batches
        self.batcher = Batcher(self._pass, scoring_slots or os.cpu_count() or 1,
                               max_batch=BATCH)
        self.publisher = None if model_dir is None else Publisher(store, model_dir)
        self.applied = 0  # the last change of the store's log applied to the live models
        self.published = 0  # the model version this process answers with (followers)
        self._retrain_wanted = threading.Event()
        self.exposure: Counter[str] = Counter()  # times each product was recommended
        self.cache = AnswerCache(cache_users, cache_ttl_s)
        self.skipped_rows = 0  # stored rows the last fit could not use
        self.rules = NO_RULES  # what the shop shows: the dataset's catalogue rules

    # -- start-up and retraining ----------------------------------------------------------
    @classmethod
    def start(cls, store: EventStore, data_name: str, model_name: str,
              model_params: Mapping[str, Any] | None = None, *, seed_events: bool = True,
              model_path: Path | None = None, **options: Any) -> RecommenderService:
        """Seed an empty store from a dataset, then answer with the model saved at
        ``model_path`` or one trained on the store's contents; a follower (``follows``)
        answers with the newest published model instead. ``options`` go to the
        constructor (``experiment``, ``new_arrivals``, ``model_dir``, ...)."""
        service = cls(store, model_name, model_params, **options)
        service.rules = rules_of(data_name)
        if service.follows:
            if not service.adopt_published():
                raise DataError("no published model in the store yet: start a trainer "
                                "(`coldrec serve` publishes one)", source="store")
            return service
        if store.count("items") == 0 and store.count("events") == 0:
            data = load(data_name)
            store.seed(data, with_events=seed_events)
            marks = store.marks()
        else:
            marks = store.marks()
            data = service._dataset_from_store(marks[0])
        fitted = None
        if model_path is not None:
            fitted, data = load_model(model_path)
            service.models.adopt(fitted)
        service._install(service.models.build_all(data, fitted), marks)
        return service

    @classmethod
    def from_dataset(cls, store: EventStore, data: Dataset, model_name: str,
                     model_params: Mapping[str, Any] | None = None, *,
                     seed_events: bool = True, **options: Any) -> RecommenderService:
        """Seed ``store`` (assumed empty) with ``data`` and train on ``data``."""
        service = cls(store, model_name, model_params, **options)
        service.rules = data.rules
        store.seed(data, with_events=seed_events)
        service._install(service.models.build_all(data), store.marks())
        return service

    def _dataset_from_store(self, through: int | None = None) -> Dataset:
        data, self.skipped_rows = dataset_from_store(self.store, through)
        return replace(data, rules=self.rules)

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
        """Store events (committed before returning); every answer after reads them.

        Impressions (what a shopper was shown) are stored for experiment reports but are
        not interactions: they change no history and no answer."""
        n = self.store.add_events(rows)
        with self._lock:  # their cached answers are stale (and keyed apart anyway)
            for user in {str(r["user_id"]) for r in rows}:
                self.cache.invalidate(user)
        return n

    def upsert_item(self, item_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Store a product; a new one becomes recommendable at once from its text when the
        model reads text (otherwise after the next retrain). Every arm learns it;
        ``recommendable`` speaks of the service's own model."""
        is_new = self.store.upsert_item(item_id, fields)
        self.sync()
        with self._models_lock.read():
            recommendable = item_id in self.live.item_index
        return {"item_id": item_id, "created": is_new, "recommendable": recommendable}

    def upsert_user(self, user_id: str, attributes: Mapping[str, Any]) -> bool:
        created = self.store.upsert_user(user_id, attributes)
        with self._lock:
            self.cache.invalidate(user_id)
        return created

    def delete_user(self, user_id: str) -> dict[str, Any]:
        """Erase the shopper from the store and, at once, from every live model (their
        history and per-user state); a later event under the same id starts a new shopper.
        What they added to item-side state goes with the retrain this schedules (here, or
        in the trainer for a follower)."""
        removed = self.store.delete_user(user_id)
        self.sync()
        if not self.follows:
            self.schedule_retrain()
        return {"user_id": user_id, "events_removed": removed, "retrain": "scheduled"}

    # -- reads ----------------------------------------------------------------------------
    def _shopper(self, user_id: str | None, attributes: Mapping[str, Any] | None,
                 variant: Variant | None) -> tuple[list[FreshEvent], Mapping[str, Any] | None]:
        """The shopper's events since the model's mark and their profile (given
        ``attributes``, else the stored one; an erased shopper's is gone with them), read
        from the store without any lock."""
        if user_id is None:
            return [], attributes or None
        events, stored = self.store.shopper(user_id, self.models.live_of(variant).events_through)
        return events, attributes or stored

    def recommend(self, user_id: str | None, k: int = 10, *,
                  attributes: Mapping[str, Any] | None = None, items: Sequence[str] = (),
                  query: str | None = None, filters: Filters | None = None,
                  rerank: str | None = None, variant: Variant | None = None,
                  new_arrivals: bool = False) -> list[dict[str, Any]]:
        """Top-``k`` for a known, new or anonymous shopper (unknown ids are cold-start).

        ``variant`` (an experiment arm) picks the model and, unless ``rerank`` is given,
        the re-ranker; ``new_arrivals`` ranks only the newest products. Plain calls (no
        attributes, session items or query) are answered from a per-shopper cache keyed
        by the shopper's events and profile in the store (and dropped when a product it
        shows changes)."""
        if variant is not None and rerank is None:
            rerank = variant.rerank
        events, profile = self._shopper(user_id, attributes, variant)
        request = {"filters": filters, "rerank": rerank, "variant": variant,
                   "new_arrivals": new_arrivals, "events": events, "profile": profile}
        if attributes or items or query:
            answer = self._recommend(user_id, k, items=items, query=query, **request)
            if query:  # search results answer a query, not recommend
                return answer
        else:  # the key holds what the store says of the shopper: another process's
            # write changes it, so a cached answer never outlives what it was made from
            key = (k, rerank, None if variant is None else variant.arm, new_arrivals,
                   None if filters is None else filters.key(),
                   events[-1][0] if events else 0,
                   json.dumps(profile, sort_keys=True, default=str) if profile else None)
            answer, _ = self.cache.answer(self._lock, user_id, key,
                                          lambda: self._recommend(user_id, k, **request))
        with self._lock:
            self.exposure.update(entry["item_id"] for entry in answer)
        return answer

    def _recommend(self, user_id: str | None, k: int, *, events: Sequence[FreshEvent],
                   profile: Mapping[str, Any] | None, items: Sequence[str] = (),
                   query: str | None = None, filters: Filters | None = None,
                   rerank: str | None = None, variant: Variant | None = None,
                   new_arrivals: bool = False) -> list[dict[str, Any]]:
        """One answer, computed with others that queue for the same kind of list."""
        ask = Ask(user_id, tuple(events), profile, tuple(items), k, query or None, filters,
                  rerank, variant, new_arrivals)
        group = (k, rerank, None if filters is None else filters.key(),
                 None if variant is None else variant.arm, new_arrivals,
                 object() if ask.query else None)  # searches go one by one
        return self.batcher.run(group, ask)

    def _pass(self, asks: Sequence[Ask]) -> list[list[dict[str, Any]]]:
        """The answers of ``asks`` (one group) in one run of the pipeline."""
        first = asks[0]
        reranker = get_reranker(first.rerank) if first.rerank is not None else None
        profiles = [a.profile for a in asks]
        attributes = None if not any(profiles) else pd.DataFrame(
            [{k: str(v) for k, v in (p or {}).items()} for p in profiles], dtype=object)
        with self._models_lock.read():
            live = self.models.live_of(first.variant)
            rows = [-1 if a.user_id is None else live.user_index.get(a.user_id, -1)
                    for a in asks]
            history = sp.csr_matrix(sp.vstack([fresh_history(live, r, a.events, a.items)
                                               for r, a in zip(rows, asks, strict=True)]))
            request = ListRequest(
                rows, k=first.k, history=history, attributes=attributes, query=first.query,
                filters=None if first.filters is None else first.filters.rule(),
                rerank=reranker, explain=True, shop_rules=True,
                candidates=catalogue.newest(live, self.new_arrivals)
                if first.new_arrivals else None,
                label="new arrival" if first.new_arrivals else None)
            lists = live.pipeline().run(request)
            return [self._shown(live, lists, i) for i in range(len(asks))]

    @staticmethod
    def _shown(live: LiveModel, lists: RankedLists, row: int = 0) -> list[dict[str, Any]]:
        ids, scores, reasons = lists.row(row)
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
