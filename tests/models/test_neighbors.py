"""Item-KNN (cosine, BM25) and EASE under the contract, plus EASE's closed form."""

from __future__ import annotations

import numpy as np
import pytest

from coldrec.data import Dataset
from coldrec.errors import ConfigError
from coldrec.models import ALS, EASE, ItemKNN, Recommender, UserKNN
from tests.models.contract import RecommenderContract


class TestItemKNNCosine(RecommenderContract):
    def make_model(self) -> Recommender:
        return ItemKNN(neighbors=20, similarity="cosine")


class TestItemKNNBM25(RecommenderContract):
    def make_model(self) -> Recommender:
        return ItemKNN(neighbors=20, similarity="bm25")


class TestEASE(RecommenderContract):
    def make_model(self) -> Recommender:
        return EASE(lam=10.0)

    def test_matches_closed_form(self, data: Dataset) -> None:
        lam = 3.0
        X = data.binary_matrix.toarray().astype(np.float64)
        P = np.linalg.inv(X.T @ X + lam * np.eye(X.shape[1]))
        B = np.eye(X.shape[1]) - P / np.diag(P)
        model = EASE(lam=lam).fit(data)
        np.testing.assert_allclose(model.weights_, B, atol=1e-5)
        assert np.allclose(np.diag(model.weights_), 0)
        np.testing.assert_allclose(model.score([4])[0], X[4] @ B, rtol=1e-4, atol=1e-5)

    def test_refuses_huge_catalogs(self, data: Dataset) -> None:
        with pytest.raises(ConfigError, match="dense"):
            EASE(max_items=5).fit(data)


def test_itemknn_rejects_unknown_similarity(blocks: Dataset) -> None:
    with pytest.raises(ConfigError, match="cosine or bm25"):
        ItemKNN(similarity="jaccard").fit(blocks)


class TestALS(RecommenderContract):
    def make_model(self) -> Recommender:
        return ALS(factors=2, regularization=1.0, iterations=15)

    def test_fold_in_of_new_clicks_without_retraining(self, fitted: Recommender,
                                                      data: Dataset) -> None:
        click = data.matrix[0].copy()  # a garden shopper's history, as a new shopper
        vec = fitted._fold_in(click)
        np.testing.assert_allclose(vec[0], fitted.user_factors_[0], rtol=1e-5, atol=1e-6)
        assert int(np.argmax(np.where(data.matrix[0].toarray()[0] > 0, -np.inf,
                                      vec[0] @ fitted.item_factors_.T))) == 0


class TestUserKNN(RecommenderContract):
    def make_model(self) -> Recommender:
        return UserKNN(neighbors=5)

    def test_scores_are_similarity_weighted_votes(self, data: Dataset) -> None:
        model = UserKNN(neighbors=2).fit(data)
        X = data.binary_matrix.toarray()
        cos = (X @ X.T) / np.sqrt(np.outer(X.sum(1), X.sum(1)))
        np.fill_diagonal(cos, 0)
        user = 3
        top = np.argsort(-cos[user], kind="stable")[:2]
        expected = cos[user, top] @ X[top]
        np.testing.assert_allclose(model.score([user])[0], expected, rtol=1e-5, atol=1e-6)
