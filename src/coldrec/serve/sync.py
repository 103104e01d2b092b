"""What several processes serving one store share besides the store: the models a trainer
publishes (saved into a model folder, announced as a model version with the marks of the
data they were fitted on), and the product rows the change log points at."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coldrec.serve.live import LiveModel, ModelHolder
from coldrec.serve.store import ITEM_FIELDS, EventStore

__all__ = ["Publisher", "item_fields"]


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
