"""Fidelity: coldrec's own EASE and popularity reproduce PEERS.md to 3 decimals.

The peers were measured with other libraries through the exact protocols; matching them
proves the splits, the tie rule, selection, refit and metrics are implemented identically.
"""

from __future__ import annotations

import pytest

from coldrec.data import Dataset
from coldrec.eval import run_protocol
from coldrec.models import EASE, ItemKNN, Popularity


def test_p1_ease_and_popularity(ml100k: Dataset) -> None:
    lams = [50, 100, 200, 500, 1000, 2000]
    ease = run_protocol(ml100k, "P1", EASE, [{"lam": x} for x in lams], [10], progress=False)
    test = ease.tasks["test"]
    assert test.params == {"lam": 500}
    assert test.valid == pytest.approx(0.2675, abs=5e-4)
    assert test.metrics["ndcg@10"] == pytest.approx(0.3508, abs=5e-4)
    assert test.metrics["recall@10"] == pytest.approx(0.2764, abs=5e-4)
    assert test.metrics["hit@10"] == pytest.approx(0.8378, abs=5e-4)
    assert test.metrics["coverage@10"] == pytest.approx(0.2140, abs=5e-4)
    assert test.metrics["gini@10"] == pytest.approx(0.9295, abs=5e-4)
    assert test.metrics["tail_recall@10"] == pytest.approx(0.0081, abs=5e-4)
    assert test.trainonly["ndcg@10"] == pytest.approx(0.3346, abs=5e-4)
    pop = run_protocol(ml100k, "P1", Popularity, [{}], [10], progress=False).tasks["test"]
    assert pop.metrics["ndcg@10"] == pytest.approx(0.1529, abs=5e-4)
    assert pop.metrics["coverage@10"] == pytest.approx(0.0398, abs=5e-4)
    assert pop.metrics["gini@10"] == pytest.approx(0.9874, abs=5e-4)


def test_p2_ease(amazon: Dataset) -> None:
    res = run_protocol(amazon, "P2", EASE, [{"lam": 20}, {"lam": 50}, {"lam": 100}],
                       [10, 20], progress=False).tasks["test"]
    assert res.params == {"lam": 50}
    assert res.metrics["ndcg@10"] == pytest.approx(0.0789, abs=5e-4)
    assert res.metrics["recall@10"] == pytest.approx(0.1155, abs=5e-4)
    assert res.metrics["recall@20"] == pytest.approx(0.1431, abs=5e-4)
    assert res.metrics["ndcg@20"] == pytest.approx(0.0859, abs=5e-4)


def test_p4_popularity_and_fold_in(ml100k: Dataset) -> None:
    pop = run_protocol(ml100k, "P4", Popularity, [{}], [20], progress=False)
    expected = {"zero-shot": 0.4965, "first-1": 0.4763, "first-3": 0.4516, "first-5": 0.4364}
    for task, ndcg in expected.items():
        assert pop.tasks[task].metrics["ndcg@20"] == pytest.approx(ndcg, abs=5e-4)
    assert pop.tasks["zero-shot"].metrics["recall@20"] == pytest.approx(0.1294, abs=5e-4)
    zero = pop.tasks["zero-shot"]
    assert len(zero.per_user["recall@20"]) == 189  # every cold user, in task order
    low, high = zero.ci95["ndcg@20"]
    assert low < zero.metrics["ndcg@20"] < high
    assert 0.02 < high - low < 0.1  # 189 users: a few hundredths either way
    assert zero.to_json()["ci95"]["ndcg@20"] == [round(low, 6), round(high, 6)]
    knn = run_protocol(ml100k, "P4", ItemKNN,
                       [{"similarity": "cosine", "neighbors": k} for k in (20, 50, 100, 200)],
                       [20], progress=False)
    assert knn.tasks["first-3"].params["neighbors"] == 200
    assert knn.tasks["first-3"].metrics["recall@20"] == pytest.approx(0.1430, abs=5e-4)
    assert knn.tasks["first-3"].metrics["ndcg@20"] == pytest.approx(0.4197, abs=5e-4)
