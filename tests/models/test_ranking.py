"""Top-k selection and the protocol tie rule."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coldrec.models import tie_ranks, topk
from coldrec.models.ranking import kth_largest


def brute_force(scores: np.ndarray, k: int, rank: np.ndarray) -> np.ndarray:
    out = np.full((scores.shape[0], k), -1)
    for row, s in enumerate(scores):
        order = sorted(range(len(s)), key=lambda j: (-s[j], rank[j]))
        order = [j for j in order if np.isfinite(s[j]) or s[j] > 0][:k]
        out[row, : len(order)] = order
    return out


def test_tie_ranks_are_positions_in_the_seeded_permutation() -> None:
    perm = np.random.default_rng(0).permutation(10)
    rank = tie_ranks(10, 0)
    assert rank[perm].tolist() == list(range(10))


def test_constant_scores_give_the_tie_order() -> None:
    rank = tie_ranks(50, 0)
    ids, _ = topk(np.zeros((2, 50)), 5, rank)
    expected = np.argsort(rank)[:5]
    assert ids.tolist() == [expected.tolist()] * 2


def test_minus_inf_items_are_never_returned() -> None:
    scores = np.array([[1.0, -np.inf, 0.5, -np.inf]])
    ids, vals = topk(scores, 4, np.arange(4))
    assert ids.tolist() == [[0, 2, -1, -1]]
    assert vals[0, :2].tolist() == [1.0, 0.5] and np.isneginf(vals[0, 2:]).all()


def test_nan_is_treated_as_minus_inf() -> None:
    ids, _ = topk(np.array([[np.nan, 2.0, 1.0]]), 3, np.arange(3))
    assert ids.tolist() == [[1, 2, -1]]


def test_k_larger_than_catalog_pads() -> None:
    ids, _ = topk(np.array([[0.1, 0.3]]), 5, np.arange(2))
    assert ids.tolist() == [[1, 0, -1, -1, -1]]


@settings(max_examples=200, deadline=None)
@given(
    scores=arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 30)),
                  elements=st.sampled_from([0.0, 0.5, 1.0, 2.0, -np.inf])),
    k=st.integers(1, 12),
    seed=st.integers(0, 5),
)
def test_topk_matches_sorting_by_score_then_tie_rank(scores: np.ndarray, k: int,
                                                     seed: int) -> None:
    rank = tie_ranks(scores.shape[1], seed)
    ids, _ = topk(scores, k, rank)
    assert ids.tolist() == brute_force(scores, k, rank).tolist()


@given(st.integers(1, 3), st.sampled_from([50, 9000, 20000]), st.integers(1, 60),
       st.sampled_from(["random", "mostly-zero", "few-values", "half-excluded"]),
       st.integers(0, 2**16))
@settings(max_examples=60, deadline=None)
def test_kth_largest_is_exactly_partitions_answer(n: int, m: int, k: int, kind: str,
                                                  seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.random((n, m)).astype(np.float32)
    if kind == "mostly-zero":
        x = np.where(rng.random((n, m)) < 0.97, 0, x).astype(np.float32)
    elif kind == "few-values":
        x = np.round(x * 3).astype(np.float32)
    elif kind == "half-excluded":
        x[:, rng.random(m) < 0.5] = -np.inf
    k = min(k, m)
    assert np.array_equal(kth_largest(x, k), np.partition(x, m - k, axis=1)[:, m - k])
