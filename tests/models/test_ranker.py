"""The two-stage pipeline (retriever + DeepFM) under the contract, and its CTR metrics."""

from __future__ import annotations

import numpy as np

from coldrec.data import Dataset
from coldrec.models import Recommender, get_model_spec
from coldrec.models.ranker import TwoStage, binary_auc
from tests.models.contract import RecommenderContract


class TestTwoStage(RecommenderContract):
    def make_model(self) -> Recommender:
        return TwoStage(retriever="itemknn", retriever_params={"neighbors": 20},
                        candidates=6, negatives=4, dim=8, hidden=[16], epochs=30,
                        learning_rate=1e-2, batch_size=64, patience=5, encoder=None,
                        progress=False)

    def test_reports_ctr_auc_and_log_loss(self, fitted: Recommender) -> None:
        assert 0.5 < fitted.ctr_auc_ <= 1.0
        assert 0.0 < fitted.ctr_logloss_ < 0.69

    def test_candidates_outrank_the_rest(self, fitted: Recommender, data: Dataset) -> None:
        scores = fitted.score([0])[0]
        seen = set(fitted.history_[0].indices.tolist())
        unseen = np.array([i for i in range(data.n_items) if i not in seen])
        top = unseen[np.argsort(-scores[unseen])][:6]
        rest = np.setdiff1d(np.arange(data.n_items), top)
        assert scores[top].min() > scores[rest].max()  # the 6 re-ranked candidates lead


def test_registry_builds_pipelines_by_name() -> None:
    spec = get_model_spec("als+deepfm")
    model = spec.build()
    assert isinstance(model, TwoStage) and model.retriever == "als"


def test_auc_known_answers() -> None:
    assert binary_auc(np.array([1, 0, 1, 0]), np.array([0.9, 0.1, 0.8, 0.2])) == 1.0
    assert binary_auc(np.array([1, 0]), np.array([0.5, 0.5])) == 0.5
    assert binary_auc(np.array([0, 1, 0, 1]), np.array([0.9, 0.1, 0.8, 0.2])) == 0.0
