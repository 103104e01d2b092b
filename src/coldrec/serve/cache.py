"""Answers per shopper, dropped when anything that could change them happens."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

__all__ = ["AnswerCache"]


class AnswerCache:
    """Least-recently-used answers per shopper (at most ``max_users`` shoppers).

    Every invalidation bumps :attr:`epoch`; a caller that computed an answer outside the
    lock stores it only if the epoch it read before computing is still current, so a slow
    answer never lands stale. Not thread-safe by itself: the service holds its lock.
    """

    def __init__(self, max_users: int = 100_000) -> None:
        self.max_users = max_users
        self.hits = 0
        self.epoch = 0
        self._answers: OrderedDict[str | None, dict[Hashable, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, user: str | None, key: Hashable) -> Any:
        found = self._answers.get(user, {}).get(key)
        if found is not None:
            self.hits += 1
            self._answers.move_to_end(user)
        return found

    def put(self, user: str | None, key: Hashable, answer: Any, epoch: int) -> None:
        if epoch != self.epoch:
            return
        self._answers.setdefault(user, {})[key] = answer
        self._answers.move_to_end(user)
        while len(self._answers) > self.max_users:
            self._answers.popitem(last=False)

    def invalidate(self, user: str | None = None, *, everyone: bool = False) -> None:
        """Forget the answers of ``user``, or of everyone."""
        self.epoch += 1
        if everyone:
            self._answers.clear()
        else:
            self._answers.pop(user, None)
