"""Offline replay of an A/B experiment against a running service.

Shoppers of a held-out split visit the shop: each round the shop (the service, over its
HTTP API) answers ``/recommend`` with the shopper's variant, the simulator logs an
impression per item shown, and the shopper *clicks* every shown item that is in their
held-out future and *buys* it when that future interaction is purchase-grade. Clicks and
purchases go back through the event API with the variant attached, so the next round is
answered by the adapted (folded-in) model, and the report reads exactly what a live shop
would have logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import numpy as np
import scipy.sparse as sp

from coldrec.data.dataset import Dataset
from coldrec.errors import DataError
from coldrec.eval.protocols import EvalTask
from coldrec.eval.runner import evaluate_task
from coldrec.experiments.design import Experiment, Variant
from coldrec.models.base import Recommender
from coldrec.progress import progress_bar
from coldrec.rerank import get_reranker

__all__ = ["HttpShop", "ReplayResult", "Shop", "future_of", "offline_metrics", "replay"]


class Shop(Protocol):
    """What the simulator needs of a shop: answers with a variant, and an event log."""

    def recommend(self, user_id: str, k: int) -> tuple[list[str], str | None]: ...

    def log(self, events: Sequence[Mapping[str, Any]]) -> None: ...


class HttpShop:
    """A :class:`Shop` over the service's HTTP API through an ``httpx.Client``-like client
    (a real client with ``base_url``, or FastAPI's ``TestClient`` for an in-process app)."""

    def __init__(self, client: Any, api_key: str | None = None, batch: int = 500) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.batch = batch

    def recommend(self, user_id: str, k: int) -> tuple[list[str], str | None]:
        resp = self.client.get(f"/recommend/{quote(user_id, safe='')}", params={"k": k},
                               headers=self.headers)
        resp.raise_for_status()
        body = resp.json()
        return [it["item_id"] for it in body["items"]], body.get("variant")

    def log(self, events: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(events), self.batch):
            resp = self.client.post("/events", json={"events": list(
                events[start:start + self.batch])}, headers=self.headers)
            resp.raise_for_status()


@dataclass
class ReplayResult:
    shoppers: int
    rounds: int
    impressions: int
    clicks: int
    purchases: int


def future_of(data: Dataset, task: EvalTask) -> dict[str, dict[str, float]]:
    """Raw shopper id → {raw item id: interaction weight} of the task's held-out truth."""
    weights = data.pairs.set_index(["user", "item"])["weight"] if data.n_interactions else None
    truth = sp.csr_matrix(task.truth)
    out: dict[str, dict[str, float]] = {}
    for row, user in enumerate(task.users):
        items = truth.indices[truth.indptr[row]:truth.indptr[row + 1]]
        if not len(items):
            continue
        w = [float(weights.get((int(user), int(i)), 1.0)) if weights is not None else 1.0
             for i in items]
        out[str(data.users.ids[int(user)])] = {
            str(data.items.ids[int(i)]): wi for i, wi in zip(items, w, strict=True)}
    return out


def replay(shop: Shop, future: Mapping[str, Mapping[str, float]], *, k: int = 10,
           rounds: int = 2, prices: Mapping[str, float] | None = None,
           purchase_min_weight: float | None = None, start_time: float = 0.0,
           progress: bool = True) -> ReplayResult:
    """Let every shopper of ``future`` visit ``rounds`` times (see the module docstring).

    A click's purchase happens when ``purchase_min_weight`` is None or the future
    interaction's weight reaches it; its amount is the product's price (1.0 without one).
    Events are stamped ``start_time + visit number`` so they sort in replay order.
    """
    if rounds < 1 or k < 1:
        raise DataError(f"replay needs rounds >= 1 and k >= 1, got {rounds} and {k}")
    impressions = clicks = purchases = 0
    clock = start_time
    users = sorted(future)
    bar = progress_bar(rounds * len(users), "replaying shoppers", enabled=progress)
    for _ in range(rounds):
        for user in users:
            bar.update()
            todo = future[user]
            shown, variant = shop.recommend(user, k)
            clock += 1.0
            events: list[dict[str, Any]] = [
                {"user_id": user, "item_id": item, "event_type": "impression",
                 "timestamp": clock, "variant": variant} for item in shown]
            for item in shown:
                if item not in todo:
                    continue
                events.append({"user_id": user, "item_id": item, "event_type": "click",
                               "timestamp": clock, "variant": variant})
                clicks += 1
                if purchase_min_weight is None or todo[item] >= purchase_min_weight:
                    price = (prices or {}).get(item)
                    amount = 1.0 if price is None or not np.isfinite(price) else float(price)
                    events.append({"user_id": user, "item_id": item,
                                   "event_type": "purchase", "value": amount,
                                   "timestamp": clock, "variant": variant})
                    purchases += 1
            impressions += len(shown)
            shop.log(events)
    bar.close()
    return ReplayResult(shoppers=len(users), rounds=rounds, impressions=impressions,
                        clicks=clicks, purchases=purchases)


def offline_metrics(experiment: Experiment, train: Dataset, task: EvalTask,
                    fitted: Callable[[Variant], Recommender], *, k: int = 10,
                    seed: int = 0) -> dict[str, dict[str, float]]:
    """NDCG@k and Recall@k of every variant on ``task`` — ``fitted(variant)`` is its model
    fitted on ``train`` (e.g. the one the service answers it with), its re-ranker applied:
    the offline ranking the A/B should agree with."""
    out: dict[str, dict[str, float]] = {}
    for v in experiment.variants:
        res = evaluate_task(fitted(v), task, [k], train, seed=seed,
                            rerank=get_reranker(v.rerank) if v.rerank else None,
                            metrics=["ndcg", "recall"])
        out[v.name] = {f"ndcg@{k}": res[f"ndcg@{k}"], f"recall@{k}": res[f"recall@{k}"]}
    return out
