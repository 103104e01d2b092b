"""Answers per shopper, dropped when anything that could change them happens, and one
computation per shopper at a time (single flight)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AnswerCache", "Flight"]


@dataclass
class Flight:
    """One answer being computed; callers asking for the same one wait for it."""

    done: threading.Event = field(default_factory=threading.Event)
    answer: Any = None


class AnswerCache:
    """Least-recently-used answers per shopper (``max_users`` shoppers; 0 turns caching
    off), each for ``ttl_s`` seconds at most.

    Every invalidation bumps :attr:`epoch`; an answer computed outside the lock is stored
    only if the epoch read before computing is still current, so a slow answer never lands
    stale. A shopper's answers go when their events or profile change (:meth:`invalidate`),
    a product's when it changes (:meth:`invalidate_item`: only the answers that show it).
    Not thread-safe by itself: the service holds its lock around every call.
    """

    def __init__(self, max_users: int = 100_000, ttl_s: float = 300.0) -> None:
        self.max_users = max_users
        self.ttl_s = ttl_s
        self.hits = 0
        self.epoch = 0
        self._answers: OrderedDict[str | None, dict[Hashable, tuple[float, Any]]] = \
            OrderedDict()
        self._showing: dict[str, set[str | None]] = {}  # product -> shoppers shown it
        self._flights: dict[tuple[str | None, Hashable], Flight] = {}

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, user: str | None, key: Hashable) -> Any:
        found = self._answers.get(user, {}).get(key)
        if found is None or found[0] < time.monotonic():
            return None
        self.hits += 1
        self._answers.move_to_end(user)
        return found[1]

    def put(self, user: str | None, key: Hashable, answer: Any, epoch: int,
            items: Iterable[str] = ()) -> None:
        if epoch != self.epoch or self.max_users <= 0:
            return
        self._answers.setdefault(user, {})[key] = (time.monotonic() + self.ttl_s, answer)
        self._answers.move_to_end(user)
        for item in items:
            self._showing.setdefault(item, set()).add(user)
        while len(self._answers) > self.max_users:
            self._answers.popitem(last=False)

    def invalidate(self, user: str | None = None, *, everyone: bool = False) -> None:
        """Forget the answers of ``user``, or of everyone."""
        self.epoch += 1
        if everyone:
            self._answers.clear()
            self._showing.clear()
        else:
            self._answers.pop(user, None)

    def invalidate_item(self, item: str) -> None:
        """Forget the answers that show ``item`` (its price, stock or text changed)."""
        self.epoch += 1
        for user in self._showing.pop(item, ()):
            self._answers.pop(user, None)

    def answer(self, lock: Any, user: str | None, key: Hashable,
               compute: Callable[[], list[dict[str, Any]]]) -> tuple[Any, bool]:
        """The cached answer for ``(user, key)``, or the one being computed by another
        request, or ``compute()`` (stored for the next); ``lock`` guards this cache and is
        never held while computing. Returns the answer and whether it was cached."""
        with lock:
            epoch = self.epoch
            found = self.get(user, key)
            if found is not None:
                return found, True
            flight, leader = self.flight(user, key)
        if not leader:  # the same answer is being computed: wait for it
            flight.done.wait(timeout=30)
            if flight.answer is not None:
                return flight.answer, True
        answer = None
        try:
            answer = compute()
        finally:
            with lock:
                if answer is not None and leader:
                    self.put(user, key, answer, epoch,
                             items=[entry["item_id"] for entry in answer])
                if leader:
                    self.land(user, key, answer)
        return answer, False

    def flight(self, user: str | None, key: Hashable) -> tuple[Flight, bool]:
        """The computation of ``(user, key)`` under way, or a new one; ``True`` when the
        caller leads it (and must :meth:`land` it)."""
        current = self._flights.get((user, key))
        if current is not None:
            return current, False
        current = self._flights[(user, key)] = Flight()
        return current, True

    def land(self, user: str | None, key: Hashable, answer: Any) -> None:
        """Hand the leader's answer (None when it failed) to those waiting for it."""
        current = self._flights.pop((user, key), None)
        if current is not None:
            current.answer = answer
            current.done.set()
