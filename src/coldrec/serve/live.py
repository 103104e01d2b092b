"""The live models of the service: one fitted model per distinct configuration of the
experiment's arms, each with its vocabularies and catalogue, built off the lock and swapped
in atomically. No request handling here (:mod:`coldrec.serve.engine`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from coldrec.data.dataset import Dataset
from coldrec.experiments.design import Experiment, Variant
from coldrec.models.ann import VectorIndex
from coldrec.models.base import Recommender
from coldrec.models.capabilities import (
    AddsItemsFromText,
    RetrievalVectors,
    SearchesText,
)
from coldrec.models.registry import get_model_spec
from coldrec.pipeline import ListRequest, Pipeline, load_model, save_model
from coldrec.pipeline.core import catalogue_vectors
from coldrec.serve.rwlock import ReadWriteLock
from coldrec.text.templates import catalog_texts

__all__ = ["ARRIVAL_FILE", "LiveModel", "ModelHolder"]

#: each product's arrival time, saved beside a published model
ARRIVAL_FILE = "arrival.npy"

Factory = Callable[[], Recommender]


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
    #: the last event and change the model's data held (later ones are fresh)
    events_through: int = 0
    changes_through: int = 0
    fitted_at: float = field(default_factory=time.time)
    _pipeline: Pipeline | None = field(default=None, repr=False)
    #: what answers show of each product, read from the catalogue once (dropped on change)
    shown: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, data: Dataset, model: Recommender, version: int,
              ann_threshold: int, arrival: np.ndarray | None = None) -> LiveModel:
        """Wrap ``model`` (fitted on ``data``): vocabularies, arrival times (``arrival``, or
        each product's first event in ``data``), the ANN index of a factor model on a big
        catalogue, and the query encoder loaded now rather than on a shopper's time."""
        ids = [str(x) for x in data.items.ids]
        if isinstance(model, SearchesText):
            model.search("warm-up", k=1)
        index = None
        if isinstance(model, RetrievalVectors) and data.n_items >= ann_threshold:
            index = VectorIndex(model.item_vectors(), exact_below=ann_threshold)
        if arrival is None:
            arrival = _first_seen(data)
        live = cls(data=data, model=model, version=version,
                   item_index={x: i for i, x in enumerate(ids)}, item_ids=ids,
                   user_index={str(x): i for i, x in enumerate(data.users.ids)},
                   catalog=None if data.catalog is None else data.catalog.copy(),
                   item_counts=np.asarray(data.item_counts, dtype=np.float64),
                   arrival=arrival, index=index)
        if data.n_users:  # what a model builds on first use, built now: not on a shopper's time
            live.pipeline().run(ListRequest([0], k=10, explain=True, shop_rules=True))
        return live

    def pipeline(self) -> Pipeline:
        """The recommendation pipeline over this model and its current catalogue; a model
        without text vectors borrows the catalogue's for diversity (encoded on first use)."""
        if self._pipeline is None:
            self._pipeline = Pipeline(self.model, item_counts=self.item_counts,
                                      catalog=self.catalog, known=self.data.binary_matrix,
                                      item_vectors=catalogue_vectors(self.model, self.data),
                                      index=self.index, rules=self.data.rules)
        return self._pipeline

    def add_item(self, item_id: str, fields: Mapping[str, Any]) -> bool:
        """Teach the model a brand-new product from its text (models that read text);
        returns whether it can be recommended now. Call under the service's lock."""
        if item_id in self.item_index:
            return True
        if not isinstance(self.model, AddsItemsFromText):
            return False  # after the next retrain
        row = pd.DataFrame([{k: v for k, v in fields.items() if v is not None}])
        reference = self.catalog["price"] if self.catalog is not None and \
            "price" in self.catalog.columns else None
        text = catalog_texts(row, [item_id], price_reference=reference)
        idx = int(self.model.add_items(text)[0])
        self.item_index[item_id] = idx
        self.item_ids.append(item_id)
        self.item_counts = np.append(self.item_counts, 0.0)
        self.arrival = np.append(self.arrival, time.time())
        if self.catalog is not None:
            self.catalog = pd.concat([self.catalog, row.set_axis([idx])])
        self._pipeline = None
        return True

    def update_item(self, item_id: str, fields: Mapping[str, Any]) -> None:
        """A known product's new price, stock or category (call under the service's lock)."""
        idx = self.item_index.get(item_id)
        if idx is None or self.catalog is None:
            return
        for key, value in fields.items():
            if key in self.catalog.columns:
                self.catalog.loc[idx, key] = value
        self.shown.pop(idx, None)
        self._pipeline = None


def _first_seen(data: Dataset) -> np.ndarray:
    """Each product's first event time in ``data`` (0 where none is known)."""
    arrival = np.zeros(data.n_items)
    if data.n_interactions and data.pairs["timestamp"].notna().any():
        first = data.pairs.groupby("item")["timestamp"].min().dropna()
        arrival[first.index.to_numpy()] = first.to_numpy()
    return arrival


class ModelHolder:
    """The service's live models, one per experiment arm (arms with the same configuration
    share one fit), swapped as a whole under :attr:`lock`."""

    def __init__(self, model_name: str, model_params: Mapping[str, Any] | None = None, *,
                 experiment: Experiment | None = None, ann_threshold: int = 20_000) -> None:
        self.model_name = model_name
        self.model_params = dict(model_params or {})
        self.ann_threshold = ann_threshold
        self.lock = ReadWriteLock()
        self.retrains = 0
        self._lives: dict[str, LiveModel] = {}
        # arm key -> (configuration key, factory); "" is the service's own model. Variants
        # that name no model and no parameters share it; the others get a model of their own
        self._arms: dict[str, tuple[str, Factory]] = {"": self._named(model_name,
                                                                      self.model_params)}
        for v in experiment.variants if experiment is not None else ():
            if v.model is not None or v.params:
                params = dict(v.params) if v.model else {**self.model_params, **v.params}
                self._arms[v.arm] = self._named(v.model or model_name, params)

    @staticmethod
    def _named(name: str, params: Mapping[str, Any]) -> tuple[str, Factory]:
        spec = get_model_spec(name)  # an unknown model fails at start-up, not on a request
        given = dict(params)
        if "progress" in spec.cls._param_names():
            given.setdefault("progress", False)
        return json.dumps([name, sorted(given.items())], default=str), \
            lambda: spec.build(**given)

    def adopt(self, model: Recommender) -> None:
        """Answer with a fitted ``model`` (loaded from disk) and retrain its configuration."""
        self.model_name = model.name
        self.model_params = model.get_params()
        self._arms[""] = (json.dumps(["loaded", repr(model)]), model.clone)

    @property
    def live(self) -> LiveModel:
        """The service's own model (experiment arms may hold others)."""
        assert self._lives, "service not started"
        return self._lives[""]

    def live_of(self, variant: Variant | None) -> LiveModel:
        return self.live if variant is None else self._lives.get(variant.arm, self.live)

    def distinct(self) -> list[LiveModel]:
        """Each live model once (arms may share one)."""
        return list({id(v): v for v in self._lives.values()}.values())

    def build_all(self, data: Dataset, fitted: Recommender | None = None
                  ) -> dict[str, LiveModel]:
        """One fitted model per distinct configuration (``fitted``: the service's own,
        already fitted on ``data``)."""
        built: dict[str, LiveModel] = {}
        lives = {}
        for arm, (key, factory) in self._arms.items():
            if key not in built:
                model = fitted if arm == "" and fitted is not None else factory().fit(data)
                built[key] = LiveModel.build(data, model, self.retrains + 1,
                                             self.ann_threshold)
            lives[arm] = built[key]
        return lives

    def install(self, lives: dict[str, LiveModel], *, retrained: bool = False) -> None:
        """Swap in ``lives`` (the caller holds :attr:`lock` for writing, or nothing reads
        yet)."""
        if retrained:
            self.retrains += 1
            for each in lives.values():
                each.version = self.retrains + 1
        self._lives = lives

    def save_all(self, lives: dict[str, LiveModel], folder: Path) -> dict[str, str]:
        """Save each distinct live model (with its vocabularies, tables and arrival times)
        under ``folder``; returns each arm's sub-folder."""
        subs: dict[int, str] = {}
        arms = {}
        for arm, live in lives.items():
            if id(live) not in subs:
                sub = subs[id(live)] = f"m{len(subs)}"
                out = save_model(live.model, live.data, folder / sub)
                np.save(out / ARRIVAL_FILE, live.arrival[:live.data.n_items])
            arms[arm] = subs[id(live)]
        return arms

    def load_all(self, folder: Path, arms: Mapping[str, str], version: int
                 ) -> dict[str, LiveModel]:
        """The live models saved by :meth:`save_all` (another process's fit)."""
        loaded: dict[str, LiveModel] = {}
        lives = {}
        for arm, sub in arms.items():
            if sub not in loaded:
                model, data = load_model(folder / sub)
                arrival_file = folder / sub / ARRIVAL_FILE
                arrival = np.load(arrival_file) if arrival_file.exists() else None
                loaded[sub] = LiveModel.build(data, model, version, self.ann_threshold,
                                              arrival=arrival)
            lives[arm] = loaded[sub]
        if "" in lives:
            self.adopt(lives[""].model)
        return lives
