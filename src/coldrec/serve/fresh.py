"""What the service learnt since its models were fitted: fresh events per shopper, products
written during a fit, and erased shoppers; each stamped with a sequence number, so a fit
that began at mark ``m`` takes over exactly what came before it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from coldrec.data.schema import DEFAULT_EVENT_WEIGHTS, NON_INTERACTIONS
from coldrec.serve.live import LiveModel

__all__ = ["FreshState"]


class FreshState:
    """Fresh events, erasures and mid-fit product writes (callers hold the service's lock)."""

    def __init__(self) -> None:
        self.seq = 0
        self._events: dict[str, list[tuple[int, str, float]]] = {}
        # erased shoppers (id -> sequence at erasure): answered as new shoppers from their
        # events since, until a fit on the store (which no longer holds the old) replaces them
        self._forgotten: dict[str, int] = {}
        # products written while a fit ran: replayed onto its models when it is installed
        self._items: list[tuple[int, str, dict[str, Any]]] = []

    def record(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Remember the interactions among ``rows``; returns the shoppers they touch
        (impressions are no interactions: they change no history)."""
        touched = []
        for row in rows:
            if row.get("event_type") in NON_INTERACTIONS:
                continue
            self.seq += 1
            user = str(row["user_id"])
            weight = DEFAULT_EVENT_WEIGHTS.get(str(row.get("event_type", "view")), 1.0)
            if row.get("value") is not None and row.get("event_type") == "rating":
                weight = float(row["value"])
            self._events.setdefault(user, []).append((self.seq, str(row["item_id"]),
                                                      float(weight)))
            touched.append(user)
        return touched

    def item_written(self, item_id: str, fields: Mapping[str, Any], during_fit: bool) -> None:
        self.seq += 1
        if during_fit:  # only a fit in progress needs to replay it
            self._items.append((self.seq, item_id, dict(fields)))

    def forget(self, user: str) -> None:
        self._events.pop(user, None)
        self._forgotten[user] = self.seq

    def row(self, live: LiveModel, user: str | None) -> int:
        """The shopper's row in ``live``'s model (-1: unknown, anonymous or erased)."""
        if user is None or user in self._forgotten:
            return -1
        return live.user_index.get(user, -1)

    def history(self, live: LiveModel, user: str | None, items: Sequence[str] = ()
                ) -> sp.csr_matrix:
        """Trained row + fresh events + ``items`` (a session), as one CSR row."""
        n = live.model.n_items_
        base = live.model.user_history(np.asarray([self.row(live, user)]))
        base = sp.csr_matrix((base.data, base.indices, base.indptr), shape=(1, n))
        fresh = self._events.get(user, []) if user is not None else []
        pairs = [(live.item_index[item], w) for _, item, w in fresh if item in live.item_index]
        pairs += [(live.item_index[item], 1.0) for item in items if item in live.item_index]
        if not pairs:
            return base
        cols, vals = zip(*pairs, strict=True)
        extra = sp.csr_matrix((vals, (np.zeros(len(cols), dtype=np.int64), cols)),
                              shape=(1, n), dtype=np.float32)
        return sp.csr_matrix(base + extra, dtype=np.float32)

    def hand_over(self, lives: Sequence[LiveModel], mark: int) -> None:
        """Models fitted on the store as of ``mark`` take over: replay the products written
        since onto them; forget the events and erasures they have seen."""
        for seq, item_id, fields in self._items:
            if seq > mark:
                for live in lives:
                    if item_id in live.item_index:
                        live.update_item(item_id, fields)
                    else:
                        live.add_item(item_id, fields)
        self._items = [e for e in self._items if e[0] > mark]
        for user in list(self._events):
            kept = [e for e in self._events[user] if e[0] > mark]
            if kept:
                self._events[user] = kept
            else:
                del self._events[user]
        for user, seq in list(self._forgotten.items()):
            if seq <= mark:
                del self._forgotten[user]
