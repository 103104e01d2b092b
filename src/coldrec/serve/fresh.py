"""A shopper's history as an answer sees it: the row the model was trained on plus every
interaction the store received after the model's mark (read from the store on every answer,
so every process serving the store sees every write at its next answer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from coldrec.data.schema import DEFAULT_EVENT_WEIGHTS
from coldrec.serve.live import LiveModel

__all__ = ["FreshEvent", "event_weight", "fresh_history"]

#: an interaction stored after the model's mark: (event id, item id, event type, value)
FreshEvent = tuple[int, str, str, Any]


def event_weight(event_type: str, value: Any) -> float:
    """The weight an interaction adds to a history (a rating weighs its value)."""
    if event_type == "rating" and value is not None:
        return float(value)
    return float(DEFAULT_EVENT_WEIGHTS.get(event_type, 1.0))


def fresh_history(live: LiveModel, row: int, events: Sequence[FreshEvent],
                  items: Sequence[str] = ()) -> sp.csr_matrix:
    """Trained row ``row`` (-1: none) + ``events`` after ``live``'s mark + ``items`` (a
    session), as one CSR row over ``live``'s items."""
    n = live.model.n_items_
    base = live.model.user_history(np.asarray([row]))
    base = sp.csr_matrix((base.data, base.indices, base.indptr), shape=(1, n))
    pairs = [(live.item_index[item], event_weight(kind, value))
             for seq, item, kind, value in events
             if seq > live.events_through and item in live.item_index]
    pairs += [(live.item_index[item], 1.0) for item in items if item in live.item_index]
    if not pairs:
        return base
    cols, vals = zip(*pairs, strict=True)
    extra = sp.csr_matrix((vals, (np.zeros(len(cols), dtype=np.int64), cols)),
                          shape=(1, n), dtype=np.float32)
    return sp.csr_matrix(base + extra, dtype=np.float32)
