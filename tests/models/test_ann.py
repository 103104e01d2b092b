"""Approximate retrieval: exact below the threshold, recall@100 ≥ 0.95 above it."""

from __future__ import annotations

import numpy as np

from coldrec.models.ann import VectorIndex, exact_search, recall_at


def test_exact_search_known_answer() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.0]])
    ids, scores = exact_search(vectors, np.array([[1.0, 0.1]]), 3)
    assert ids.tolist() == [[0, 2, 1]]
    assert np.allclose(scores, [[1.0, 0.77, 0.1]])
    ids, _ = VectorIndex(vectors).search(np.array([[0.0, 1.0]]), 6)
    assert ids.tolist() == [[1, 2, 0, 3, -1, -1]]


def test_ivf_recall_at_100_and_live_additions() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, 32))
    items = (centres[rng.integers(0, 50, 30_000)] + 0.5 * rng.normal(size=(30_000, 32)))
    items = items.astype(np.float32)
    queries = rng.normal(size=(200, 32)).astype(np.float32)
    index = VectorIndex(items, exact_below=10_000)
    assert not index.exact and len(index) == 30_000
    approx, _ = index.search(queries, 100)
    exact, _ = exact_search(items, queries, 100)
    assert recall_at(approx, exact) >= 0.95
    new = 10 * queries[:1]  # a new item that beats everything for query 0
    index.add(new)
    assert index.search(queries[:1], 1)[0][0, 0] == 30_000
