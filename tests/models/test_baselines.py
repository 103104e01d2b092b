"""Baselines under the contract: random, popularity, segment popularity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from coldrec.data import Dataset
from coldrec.models import Popularity, RandomRecommender, Recommender, SegmentPopularity
from tests.models.contract import RecommenderContract


def most_popular_unseen(model: Recommender, data: Dataset, user: int) -> int:
    counts = data.item_counts.astype(float)
    counts[data.matrix[user].indices] = -np.inf
    best = np.flatnonzero(counts == counts.max())
    return int(best[np.argmin(model.tie_rank_[best])])


class TestPopularity(RecommenderContract):
    uses_history = False

    def make_model(self) -> Recommender:
        return Popularity()

    def expected_top1(self, model: Recommender, data: Dataset, user: int) -> int:
        return most_popular_unseen(model, data, user)

    def test_scores_are_user_counts(self, fitted: Recommender, data: Dataset) -> None:
        np.testing.assert_array_equal(fitted.score([3])[0], data.item_counts)


class TestRandom(RecommenderContract):
    uses_history = False

    def make_model(self) -> Recommender:
        return RandomRecommender(random_state=7)

    def expected_top1(self, model: Recommender, data: Dataset, user: int) -> int:
        scores = np.random.default_rng([7, user + 1]).random(data.n_items)
        scores[data.matrix[user].indices] = -np.inf
        return int(np.argmax(scores))

    def test_users_get_different_orders(self, fitted: Recommender) -> None:
        ids, _ = fitted.recommend([0, 1, 2], k=6, exclude_seen=False)
        assert len({tuple(row) for row in ids.tolist()}) == 3


class TestSegmentPopularity(RecommenderContract):
    uses_history = False

    def make_model(self) -> Recommender:
        return SegmentPopularity(fields=["group"], min_users=5)

    def test_new_user_is_placed_by_attributes(self, fitted: Recommender) -> None:
        attrs = pd.DataFrame({"group": ["B", "A", None]})
        scores = fitted.score([-1, -1, -1], attributes=attrs)
        assert scores[0, 6:].min() > scores[0, :6].max()  # a B shopper gets kitchen items
        assert scores[1, :6].min() > scores[1, 6:].max()
        np.testing.assert_array_equal(scores[2], fitted.global_scores_)

    def test_small_segments_back_off_to_global(self, data: Dataset) -> None:
        model = SegmentPopularity(fields=["group"], min_users=20).fit(data)
        # group B has 15 users < 20: its users fall back to global popularity
        np.testing.assert_array_equal(model.score([30])[0], data.item_counts)
        assert model.score([0])[0][:6].min() > 0 and model.score([0])[0][6:].max() == 0

    def test_automatic_fields_skip_numbers_and_ids(self, data: Dataset) -> None:
        model = SegmentPopularity(min_users=5).fit(data)
        assert model.fields_ == ["group"]
