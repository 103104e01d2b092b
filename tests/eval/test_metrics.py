"""Metrics against hand-computed examples and Hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from coldrec.errors import ConfigError
from coldrec.eval import (
    gini,
    head_items,
    hit_matrix,
    per_user_metrics,
    ranking_metrics,
    round_half_up,
)


def truth_matrix(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    data = [(r, i) for r, items in enumerate(rows) for i in items]
    r, c = zip(*data, strict=True) if data else ((), ())
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(rows), n_items))


def test_hand_computed_user() -> None:
    # truth {2, 5, 7}; list [2, 9, 5, 1, 3]: hits at ranks 1 and 3
    m = ranking_metrics(np.array([[2, 9, 5, 1, 3]]), truth_matrix([[2, 5, 7]], 10), [3, 5])
    assert m["recall@3"] == pytest.approx(2 / 3)
    assert m["precision@5"] == pytest.approx(2 / 5)
    assert m["hit@3"] == 1.0
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    idcg3 = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg@3"] == pytest.approx(dcg / idcg3)
    assert m["ndcg@5"] == pytest.approx(dcg / idcg3)  # IDCG over min(k, |T|) = 3
    assert m["mrr@5"] == pytest.approx(1.0)
    assert m["map@3"] == pytest.approx((1 / 1 + 2 / 3) / 3)


def test_recall_is_not_divided_by_min_k() -> None:
    m = ranking_metrics(np.array([[0, 1]]), truth_matrix([[0, 1, 2, 3]], 5), [2])
    assert m["recall@2"] == pytest.approx(0.5)
    assert m["ndcg@2"] == pytest.approx(1.0)


def test_users_without_truth_are_ignored_and_mrr_rank() -> None:
    recs = np.array([[4, 3, 0], [1, 2, 3]])
    m = ranking_metrics(recs, truth_matrix([[0], []], 5), [3])
    assert m["users"] == 1
    assert m["mrr@3"] == pytest.approx(1 / 3)


def test_padding_never_counts_as_a_hit() -> None:
    hits = hit_matrix(np.array([[-1, 0]]), truth_matrix([[0]], 3))
    assert hits.tolist() == [[False, True]]


def test_coverage_gini_and_popularity() -> None:
    recs = np.array([[0, 1], [0, 2]])
    truth = truth_matrix([[0], [2]], 4)
    counts = np.array([10, 5, 1, 0])
    m = ranking_metrics(recs, truth, [2], item_counts=counts, n_train_users=10,
                        head=head_items(counts, 0.25))
    assert m["coverage@2"] == pytest.approx(3 / 4)
    assert m["gini@2"] == pytest.approx(gini(np.array([2, 1, 1, 0])))
    assert m["avg_pop@2"] == pytest.approx(np.mean([10, 5, 10, 1]) / 10)
    assert m["tail_share@2"] == pytest.approx(0.5)  # only item 0 is head
    assert m["tail_recall@2"] == pytest.approx(1.0)  # user 2's tail item 2 was found


def test_coverage_over_a_shelf_and_focus_share() -> None:
    m = ranking_metrics(np.array([[5, 6]]), truth_matrix([[5]], 8), [2],
                        candidates=np.array([5, 6, 7]), focus=np.array([6]), focus_name="cold")
    assert m["coverage@2"] == pytest.approx(2 / 3)
    assert m["cold_share@2"] == pytest.approx(0.5)


def test_gini_extremes() -> None:
    assert gini(np.array([3, 3, 3])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 12])) == pytest.approx(3 / 4)  # (n-1)/n
    assert gini(np.zeros(4)) == 0.0


def test_head_is_stable_on_ties_and_rounds_half_up() -> None:
    assert round_half_up(2.5) == 3 and round_half_up(0.49) == 0
    mask = head_items(np.array([1, 5, 5, 0, 2]), 0.3)  # 1.5 → 2 items
    assert mask.tolist() == [False, True, True, False, False]


@st.composite
def ranking_case(draw: st.DrawFn) -> tuple[np.ndarray, sp.csr_matrix, int]:
    n_items = draw(st.integers(3, 25))
    n_users = draw(st.integers(1, 6))
    k = draw(st.integers(1, n_items))
    recs, truth = [], []
    for _ in range(n_users):
        perm = draw(st.permutations(range(n_items)))
        recs.append(list(perm[:k]))
        truth.append(draw(st.lists(st.integers(0, n_items - 1), min_size=1, max_size=n_items,
                                   unique=True)))
    return np.array(recs), truth_matrix(truth, n_items), k


@settings(max_examples=150, deadline=None)
@given(ranking_case())
def test_metric_properties(case: tuple[np.ndarray, sp.csr_matrix, int]) -> None:
    recs, truth, k = case
    m = ranking_metrics(recs, truth, [k])
    for name in ("recall", "ndcg", "hit", "precision", "mrr", "map", "coverage", "gini"):
        assert 0.0 <= m[f"{name}@{k}"] <= 1.0 + 1e-12
    assert m[f"precision@{k}"] <= m[f"hit@{k}"] + 1e-12
    assert m[f"mrr@{k}"] <= m[f"hit@{k}"] + 1e-12
    # a perfect list (truth items first) has NDCG 1
    perfect = []
    for row in range(truth.shape[0]):
        items = list(truth[row].indices)
        rest = [i for i in range(truth.shape[1]) if i not in items]
        perfect.append((items + rest)[:k])
    assert ranking_metrics(np.array(perfect), truth, [k])[f"ndcg@{k}"] == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(ranking_case())
def test_metrics_match_per_user_loop(case: tuple[np.ndarray, sp.csr_matrix, int]) -> None:
    recs, truth, k = case
    m = ranking_metrics(recs, truth, [k])
    recalls, ndcgs = [], []
    for row in range(truth.shape[0]):
        t = set(truth[row].indices.tolist())
        hits = [1.0 if i in t else 0.0 for i in recs[row][:k]]
        recalls.append(sum(hits) / len(t))
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(t))))
        ndcgs.append(dcg / idcg)
    assert m[f"recall@{k}"] == pytest.approx(np.mean(recalls))
    assert m[f"ndcg@{k}"] == pytest.approx(np.mean(ndcgs))
    users = per_user_metrics(recs, truth, [k])
    np.testing.assert_allclose(users[f"recall@{k}"], recalls)
    np.testing.assert_allclose(users[f"ndcg@{k}"], ndcgs)


def test_per_user_metrics_skip_users_without_truth_and_match_the_means() -> None:
    recs = np.array([[2, 9, 5], [0, 1, 2], [4, 3, 1]])
    truth = truth_matrix([[2, 5, 7], [], [1]], 10)
    users = per_user_metrics(recs, truth, [1, 3], metrics=("recall", "hit", "mrr"))
    np.testing.assert_allclose(users["recall@3"], [2 / 3, 1.0])  # the empty row is left out
    np.testing.assert_allclose(users["hit@1"], [1.0, 0.0])
    np.testing.assert_allclose(users["mrr@3"], [1.0, 1 / 3])
    means = ranking_metrics(recs, truth, [1, 3])
    for name, values in users.items():
        assert means[name] == pytest.approx(values.mean())
    with pytest.raises(ConfigError, match="unknown accuracy metric 'ndgc'"):
        per_user_metrics(recs, truth, [3], metrics=("ndgc",))
