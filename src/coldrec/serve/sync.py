"""How a process keeps its live models in step with the store it serves: a trainer fits
and publishes (saved into a model folder, announced as a model version with the marks of
the data they were fitted on), a follower adopts each published version, and both apply
the store's change log (products, erasures) to their live models."""

from __future__ import annotations

import gc
import json
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from coldrec.data.dataset import Dataset
from coldrec.serve.cache import AnswerCache
from coldrec.serve.live import LiveModel, ModelHolder
from coldrec.serve.rwlock import ReadWriteLock
from coldrec.serve.store import ITEM_FIELDS, EventStore

__all__ = ["Publisher", "StoreSync", "item_fields"]

log = logging.getLogger(__name__)


class Publisher:
    """Saves a trainer's fitted models under ``folder`` and records each as a model
    version (``path``, each arm's sub-folder, the event and change marks of its data);
    keeps the newest ``keep`` versions on disk."""

    def __init__(self, store: EventStore, folder: Path, keep: int = 3) -> None:
        self.store = store
        self.folder = Path(folder)
        self.keep = keep

    def publish(self, holder: ModelHolder, lives: dict[str, LiveModel],
                marks: tuple[int, int], info: Mapping[str, Any]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}"
        partial = target.with_name(target.name + ".partial")
        arms = holder.save_all(lives, partial)
        partial.rename(target)  # a follower never sees half a model
        version = self.store.add_model_version(holder.model_name, {
            **info, "path": str(target.resolve()), "arms": arms,
            "events_through": marks[0], "changes_through": marks[1]})
        self._prune()
        return version

    def _prune(self) -> None:
        done = sorted(p for p in self.folder.iterdir()
                      if p.is_dir() and not p.name.endswith(".partial"))
        for old in done[:-self.keep]:
            shutil.rmtree(old, ignore_errors=True)


def item_fields(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A stored product row as the fields a live model takes (None: no such product)."""
    if row is None:
        return None
    fields = {k: row.get(k) for k in ITEM_FIELDS if row.get(k) is not None}
    extra = row.get("attributes")
    if isinstance(extra, str) and extra:
        fields.update({k: v for k, v in json.loads(extra).items() if k not in fields})
    return fields


class StoreSync:
    """Fitting, publishing, following and the change log, for
    :class:`~coldrec.serve.engine.RecommenderService` (whose state it reads: the store, the
    model holder and its lock, the state lock, the cache and the marks)."""

    store: EventStore
    models: ModelHolder
    publisher: Publisher | None
    follows: bool
    applied: int
    published: int
    cache: AnswerCache
    _models_lock: ReadWriteLock
    _lock: threading.Lock
    _sync_lock: threading.Lock
    _retrain_lock: threading.Lock
    _retrain_wanted: threading.Event

    @property
    def live(self) -> LiveModel:
        return self.models.live

    _dataset_from_store: Callable[[int | None], Dataset]  # the service reads the store

    def _install(self, lives: dict[str, LiveModel], marks: tuple[int, int], *,
                 retrained: bool = False) -> None:
        """Publish ``lives`` (fitted on the store as of ``marks``) when this process
        publishes, swap them in and replay the changes logged since their data was read."""
        for live in lives.values():
            live.events_through, live.changes_through = marks
        info = {"users": lives[""].data.n_users, "items": lives[""].data.n_items,
                "arms": len({id(v) for v in lives.values()})}
        if self.publisher is not None:
            self.publisher.publish(self.models, lives, marks, info)
        else:
            self.store.add_model_version(self.models.model_name, info)
        with self._models_lock.write(), self._lock:
            self.models.install(lives, retrained=retrained)
            self.applied = marks[1]
            self.cache.invalidate(everyone=True)
            self._apply_changes()

    def retrain(self) -> int:
        """Fit on everything in the store and swap atomically; returns the new version."""
        with self._retrain_lock:
            return self._retrain_now()

    def _retrain_now(self) -> int:
        """:meth:`retrain` with the retrain lock held."""
        marks = self.store.marks()
        data = self._dataset_from_store(marks[0])
        self._install(self.models.build_all(data), marks, retrained=True)
        return self.live.version

    # -- what other processes wrote ---------------------------------------------------------
    def sync(self) -> bool:
        """Apply what the store holds that the live models do not: a newer published
        model (followers) and the change log; returns whether a shopper was erased. The
        log first: an erasure must not wait behind loading a model."""
        erased = False
        with self._sync_lock:
            pending = self.store.changes_since(self.applied)
            if pending:
                with self._models_lock.write(), self._lock:
                    erased = self._apply_changes(pending)
        if self.follows:
            self.adopt_published()
        return erased

    def adopt_published(self) -> bool:
        """Swap to the newest published model version if it is newer; returns whether
        this process has a published model to answer with."""
        found = self.store.latest_model_version()
        if found is None or "path" not in found[1]:
            return self.published > 0
        version, info = found
        if version > self.published:
            lives = self.models.load_all(Path(info["path"]), info["arms"], version)
            self._install_followed(lives, (int(info["events_through"]),
                                           int(info["changes_through"])))
            self.published = version
        return True

    def _install_followed(self, lives: dict[str, LiveModel], marks: tuple[int, int]) -> None:
        for live in lives.values():
            live.events_through, live.changes_through = marks
        with self._sync_lock, self._models_lock.write(), self._lock:
            self.models.install(lives, retrained=self.published > 0)
            self.applied = marks[1]
            self.cache.invalidate(everyone=True)
            self._apply_changes()
        gc.collect()  # the replaced models go now; the new ones stay out of the collector's
        gc.freeze()   # walks (see the app's start-up)

    def _apply_changes(self, pending: Sequence[tuple[int, str, str]] | None = None) -> bool:
        """Apply logged changes after :attr:`applied` to every live model (the caller holds
        the models' write lock and the state lock); returns whether one erased a shopper."""
        if pending is None:
            pending = self.store.changes_since(self.applied)
        erased = False
        for seq, kind, key in pending:
            if seq <= self.applied:
                continue
            if kind == "item":
                self._apply_item(key)
            elif kind == "erase":
                erased = True
                self.cache.invalidate(key)
                for live in self.models.distinct():
                    row = live.user_index.get(key)
                    if row is not None:
                        live.model.forget_user(row)
            self.applied = seq
        return erased

    def _apply_item(self, item_id: str) -> None:
        fields = item_fields(self.store.item(item_id))
        if fields is None:
            return
        known = item_id in self.live.item_index
        if known:  # a changed price, stock or text changes the answers that show it
            self.cache.invalidate_item(item_id)
        else:  # a new product may enter anyone's list ("recommendable at once")
            self.cache.invalidate(everyone=True)
        for live in self.models.distinct():
            if item_id in live.item_index:
                live.update_item(item_id, fields)
            else:
                live.add_item(item_id, fields)

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

