"""The late-fusion ensemble under the contract, plus its blend rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldrec.data import Dataset
from coldrec.errors import ConfigError
from coldrec.models import EASE, Ensemble, ItemKNN, Recommender
from coldrec.models.ranking import zscore
from tests.models.contract import RecommenderContract

PARAMS = {"ease": {"lam": 10.0}, "itemknn": {"neighbors": 20, "similarity": "cosine"}}


class TestEnsemble(RecommenderContract):
    def make_model(self) -> Recommender:
        return Ensemble(members=("ease", "itemknn"), member_params=PARAMS, weights=(1.0, 0.5))

    def test_scores_are_weighted_sum_of_member_zscores(self, data: Dataset) -> None:
        model = Ensemble(members=("ease", "itemknn"), member_params=PARAMS,
                         weights=(1.0, 0.5)).fit(data)
        users = np.arange(data.n_users)
        ease = EASE(lam=10.0).fit(data).score(users)
        knn = ItemKNN(neighbors=20, similarity="cosine").fit(data).score(users)
        expected = zscore(ease) + 0.5 * zscore(knn)
        np.testing.assert_allclose(model.score(users), expected, rtol=1e-5, atol=1e-5)

    def test_weights_change_without_refit(self, data: Dataset) -> None:
        model = Ensemble(members=("ease", "itemknn"), member_params=PARAMS,
                         weights=(1.0, 0.0)).fit(data)
        users = np.arange(data.n_users)
        only_ease = EASE(lam=10.0).fit(data).recommend(users, k=3)[0]
        assert np.array_equal(model.recommend(users, k=3)[0], only_ease)
        members = model.models_
        model.set_params(weights=(0.0, 1.0))
        assert model.models_ is members  # a score-time parameter: same fitted members
        only_knn = ItemKNN(neighbors=20, similarity="cosine").fit(data).recommend(users, k=3)
        assert np.array_equal(model.recommend(users, k=3)[0], only_knn[0])

    def test_command_line_strings_mean_the_same(self, data: Dataset) -> None:
        tupled = Ensemble(members=("ease", "itemknn"), member_params=PARAMS,
                          weights=(1.0, 0.5)).fit(data)
        text = Ensemble(members="ease+itemknn", member_params=PARAMS, weights="1+0.5").fit(data)
        users = np.arange(data.n_users)
        np.testing.assert_array_equal(text.score(users), tupled.score(users))
        with pytest.raises(ConfigError, match="one per member"):
            Ensemble(members="ease+itemknn", weights="1+x").fit(data)

    def test_new_shopper_reaches_members_that_use_attributes(self, data: Dataset) -> None:
        # no history: EASE falls back to popularity, segment popularity reads the attributes;
        # the ensemble must not replace the blend with popularity itself
        model = Ensemble(members=("ease", "segment-popularity"),
                         member_params={"ease": {"lam": 10.0},
                                        "segment-popularity": {"fields": ["group"],
                                                               "min_users": 5}},
                         weights=(0.0, 1.0)).fit(data)
        attrs = pd.DataFrame({"group": ["B", "A"]})
        scores = model.score([-1, -1], attributes=attrs)
        assert scores[0, 6:].min() > scores[0, :6].max()  # a B shopper gets kitchen items
        assert scores[1, :6].min() > scores[1, 6:].max()

    def test_bad_configuration_names_the_problem(self, data: Dataset) -> None:
        with pytest.raises(ConfigError, match="one per member"):
            Ensemble(members=("ease", "itemknn"), weights=(1.0,)).fit(data)
        with pytest.raises(ConfigError, match="not members: als"):
            Ensemble(members=("ease",), member_params={"als": {}}).fit(data)
        with pytest.raises(ConfigError, match="distinct"):
            Ensemble(members=("ease", "ease")).fit(data)
        with pytest.raises(ConfigError, match="unknown model"):
            Ensemble(members=("ease", "nosuch")).fit(data)


def test_registry_grid_spans_both_members(data: Dataset) -> None:
    from coldrec.models import ALS, get_model_spec

    spec = get_model_spec("ensemble")
    weights = [tuple(c["weights"]) for c in spec.configs()]
    assert (1.0, 0.0) in weights and (0.0, 1.0) in weights
    model = spec.build().fit(data)
    users = np.arange(data.n_users)
    alone = {"ease": EASE().fit(data), "als": ALS().fit(data)}
    for w, name in (((1.0, 0.0), "ease"), ((0.0, 1.0), "als")):
        got = model.set_params(weights=w).recommend(users, k=2)[0]
        assert np.array_equal(got, alone[name].recommend(users, k=2)[0])


def test_weight_grid_has_one_weight_per_member() -> None:
    from coldrec.models.registry import ensemble_configs, ensemble_weights

    assert ensemble_weights(1) == [(1.0,)]
    two = ensemble_weights(2)
    assert two == [(1.0, r) for r in (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)] + [(0.0, 1.0)]
    four = ensemble_weights(4)
    assert len(four) == 5**3 + 3 and len(set(four)) == len(four)
    assert all(len(w) == 4 for w in four)
    # each later member alone, and the first member alone
    assert {(0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), (1.0, 0.0, 0.0, 0.0)} <= set(four)
    configs = ensemble_configs({"ease": {"lam": 5}, "itemknn": {}, "userknn": {}})
    assert len(configs) == 25 + 2
    assert configs[0]["members"] == ("ease", "itemknn", "userknn")
    assert configs[0]["member_params"]["ease"] == {"lam": 5}
    with pytest.raises(ConfigError, match="at least one member"):
        ensemble_weights(0)
