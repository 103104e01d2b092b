"""Item-KNN (cosine, BM25), EASE and DLAE under the contract, plus their closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from coldrec.data import Dataset
from coldrec.errors import ConfigError
from coldrec.models import ALS, DLAE, EASE, ItemKNN, Recommender, UserKNN
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


class TestDLAE(RecommenderContract):
    def make_model(self) -> Recommender:
        return DLAE(lam=3.0, dropout=0.25)

    def test_matches_dropout_closed_form(self, data: Dataset) -> None:
        # DLAE: B = (G + Λ)⁻¹ G with Λ = λI + p/(1-p) diag(G)
        lam, p = 3.0, 0.25
        X = data.binary_matrix.toarray().astype(np.float64)
        G = X.T @ X
        penalty = lam + p / (1 - p) * np.diag(G)
        B = np.linalg.solve(G + np.diag(penalty), G)
        model = DLAE(lam=lam, dropout=p).fit(data)
        np.testing.assert_allclose(model.weights_, B, atol=1e-5)
        # unseen items: history @ B; the shopper's own items without their self term
        np.testing.assert_allclose(model.score([4])[0], X[4] @ B - X[4] * np.diag(B),
                                   rtol=1e-4, atol=1e-5)
        seen = np.flatnonzero(X[4])
        i = seen[0]
        assert model.score([4])[0, i] == pytest.approx(B[seen[1:], i].sum(), abs=1e-5)

    def test_expected_dropout_loss_is_minimal(self, data: Dataset) -> None:
        # the closed form minimises E‖X − (X∘M/(1−p)) B‖² over dropout masks M, i.e.
        # ‖X − XB‖² + p/(1−p) Σ_j G_jj ‖B_j·‖² (+ λ‖B‖²): any perturbation costs more
        lam, p = 0.5, 0.4
        X = data.binary_matrix.toarray().astype(np.float64)
        d = np.diag(X.T @ X)

        def loss(B: np.ndarray) -> float:
            return float(((X - X @ B) ** 2).sum() + ((lam + p / (1 - p) * d)[:, None]
                                                     * B**2).sum())

        B = DLAE(lam=lam, dropout=p).fit(data).weights_.astype(np.float64)
        rng = np.random.default_rng(0)
        for _ in range(5):
            assert loss(B) < loss(B + 1e-2 * rng.standard_normal(B.shape))

    def test_emphasised_variant_and_ease_special_case(self, data: Dataset) -> None:
        edlae = DLAE(lam=3.0, dropout=0.25, zero_diagonal=True).fit(data)
        assert np.allclose(np.diag(edlae.weights_), 0)
        # off the diagonal the KKT conditions hold: ((G + Λ)B − G) is diagonal
        X = data.binary_matrix.toarray().astype(np.float64)
        G = X.T @ X
        residual = (G + np.diag(3.0 + np.diag(G) / 3)) @ edlae.weights_ - G
        np.testing.assert_allclose(residual - np.diag(np.diag(residual)), 0, atol=1e-4)
        # no dropout + the constraint is EASE
        np.testing.assert_allclose(DLAE(lam=3.0, dropout=0.0, zero_diagonal=True).fit(data)
                                   .weights_, EASE(lam=3.0).fit(data).weights_, atol=1e-6)

    def test_rejects_bad_settings(self, data: Dataset) -> None:
        with pytest.raises(ConfigError, match="dropout"):
            DLAE(dropout=1.0).fit(data)
        with pytest.raises(ConfigError, match="lam > 0 or dropout > 0"):
            DLAE(lam=0.0, dropout=0.0).fit(data)
        with pytest.raises(ConfigError, match="DLAE needs"):
            DLAE(max_items=5).fit(data)


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
