"""Answers computed together when they queue: one model pass for a few shoppers.

Each answer needs a scoring slot (one per core). A request that finds a slot free is
answered alone, at once; requests that arrive while every slot is busy wait, and the next
slot to free takes up to ``max_batch`` of the waiting ones that can share a pass (the same
model, list length, rules and re-ranker) and answers them together. Under light traffic
nothing waits; under heavy traffic each pass serves several shoppers, so the queue drains
faster than it would one shopper at a time. No request waits for a batch to fill.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Batcher", "Job"]


@dataclass(eq=False)
class Job:
    """One answer to compute: ``group`` says which jobs may share a pass."""

    group: Hashable
    payload: Any
    taken: bool = False
    result: Any = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Batcher:
    """Runs ``compute(payloads) -> results`` on batches of queued jobs, ``slots`` at once."""

    def __init__(self, compute: Callable[[Sequence[Any]], Sequence[Any]], slots: int,
                 max_batch: int = 4) -> None:
        self.compute = compute
        self.max_batch = max_batch
        self._slots = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._waiting: list[Job] = []
        self.passes = 0
        self.answered = 0

    def run(self, group: Hashable, payload: Any) -> Any:
        """The result for ``payload``, computed alone or with others of its group."""
        job = Job(group, payload)
        with self._lock:
            self._waiting.append(job)
        with self._slots:
            with self._lock:
                batch = self._take(job) if not job.taken else []
            if batch:
                self._compute(batch)
        job.done.wait()  # computed here, or by the pass that took it
        if job.error is not None:
            raise job.error
        return job.result

    def _take(self, job: Job) -> list[Job]:
        """``job`` and up to ``max_batch - 1`` waiting jobs of its group, oldest first."""
        batch = [job]
        for other in self._waiting:
            if len(batch) >= self.max_batch:
                break
            if other is not job and not other.taken and other.group == job.group:
                batch.append(other)
        for each in batch:
            each.taken = True
        taken = set(map(id, batch))
        self._waiting = [w for w in self._waiting if id(w) not in taken]
        return batch

    def _compute(self, batch: list[Job]) -> None:
        try:
            try:
                results = self.compute([j.payload for j in batch])
                for j, result in zip(batch, results, strict=True):
                    j.result = result
            except Exception:
                if len(batch) == 1:
                    raise
                for j in batch:  # one bad job must not fail the others: each alone
                    try:
                        j.result = self.compute([j.payload])[0]
                    except Exception as exc:
                        j.error = exc
        except BaseException as exc:
            batch[0].error = exc
        finally:
            with self._lock:
                self.passes += 1
                self.answered += len(batch)
            for j in batch:
                j.done.set()
