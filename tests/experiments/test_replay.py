"""The replay simulator: known answers with a scripted shop, then an A/B between two real
models through the service's HTTP API whose report agrees with the offline metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from coldrec.cli.experiment import simulation_markdown
from coldrec.errors import DataError
from coldrec.eval.protocols import make_split
from coldrec.experiments import Experiment, Variant
from coldrec.experiments.replay import future_of, replay
from coldrec.serve.simulation import simulate
from tests.serve.shop import shop_dataset


class ScriptedShop:
    """Shows a fixed list; records every event."""

    def __init__(self, shows: list[str]) -> None:
        self.shows = shows
        self.logged: list[dict[str, Any]] = []

    def recommend(self, user_id: str, k: int) -> tuple[list[str], str | None]:
        seen = {e["item_id"] for e in self.logged
                if e["user_id"] == user_id and e["event_type"] == "click"}
        return [i for i in self.shows if i not in seen][:k], f"x/{user_id[0]}"

    def log(self, events: Sequence[Mapping[str, Any]]) -> None:
        self.logged.extend(events)


def test_replay_known_answer() -> None:
    shop = ScriptedShop(["a", "b", "c", "d"])
    future = {"u1": {"a": 4.0, "d": 1.0}, "u2": {"z": 4.0}}
    res = replay(shop, future, k=2, rounds=2, prices={"a": 2.5}, purchase_min_weight=2.0,
                 progress=False)
    # u1 round 1 sees a, b (clicks a, buys a at 2.50); round 2 sees b, c; u2 clicks nothing
    assert (res.shoppers, res.impressions, res.clicks, res.purchases) == (2, 8, 1, 1)
    bought = [e for e in shop.logged if e["event_type"] == "purchase"]
    assert bought == [{"user_id": "u1", "item_id": "a", "event_type": "purchase",
                       "value": 2.5, "timestamp": 1.0, "variant": "x/u"}]
    assert all(e["variant"] == "x/u" for e in shop.logged)
    stamps = [e["timestamp"] for e in shop.logged]
    assert stamps == sorted(stamps)  # events keep replay order
    with pytest.raises(DataError, match="rounds >= 1"):
        replay(shop, future, rounds=0, progress=False)


def test_future_is_the_held_out_truth_with_raw_ids() -> None:
    data = shop_dataset()
    split = make_split(data, "P1")
    task = split.test.tasks["test"]
    future = future_of(split.test.train, task)
    assert len(future) == task.n_users
    user = next(iter(future))
    row = list(data.users.ids).index(user)
    truth_items = {str(data.items.ids[i]) for i in
                   task.truth[list(task.users).index(row)].indices}
    assert set(future[user]) == truth_items


def test_ab_replay_through_the_api_agrees_with_offline_metrics() -> None:
    exp = Experiment("pop-vs-hybrid", (
        Variant("popularity", model="popularity"),
        Variant("hybrid", model="hybrid", params={"cf": "ease", "cf_lam": 5.0})))
    sim = simulate(shop_dataset(n_users=240), exp, protocol="P1", k=5, rounds=2,
                   progress=False)
    assert sim.offline["hybrid"]["ndcg@5"] > sim.offline["popularity"]["ndcg@5"]
    rep = sim.report
    # every shown item was logged as an impression through the event API, by variant
    assert sum(v.impressions for v in rep.variants) == sim.replay.impressions
    assert sum(v.clicks for v in rep.variants) == sim.replay.clicks > 0
    assert sum(v.users for v in rep.variants) == sim.replay.shoppers
    assert rep.sample_ratio_ok
    assert rep.winner == "hybrid" == sim.offline_winner and sim.agrees
    assert rep.stats("hybrid").ctr > rep.stats("popularity").ctr
    assert "they agree" in simulation_markdown(sim)
