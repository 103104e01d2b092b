"""The contract every model passes (like implicit's test mixin and LensKit's ScorerTests).

A test class for a model subclasses :class:`RecommenderContract`, sets ``make_model`` and,
when the model is not personalised from history, overrides :meth:`expected_top1`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from coldrec.data import Dataset
from coldrec.errors import NotFittedError
from coldrec.models import Recommender
from tests.conftest import missing_item


class RecommenderContract:
    #: whether the model scores users from their history (fold-in of given history works)
    uses_history = True

    def make_model(self) -> Recommender:  # pragma: no cover - overridden
        raise AssertionError("test classes set make_model")

    def expected_top1(self, model: Recommender, data: Dataset, user: int) -> int:
        """The known best unseen item of ``user`` (default: the group item they missed)."""
        return missing_item(user)

    # fixtures `data` (the block shop) and `fitted` (one fit of make_model() per test
    # class, which tests must not change) live in tests/models/conftest.py

    # -- lifecycle -------------------------------------------------------------------------
    def test_fit_returns_self_and_sets_state(self, data: Dataset) -> None:
        model = self.make_model()
        assert not model.is_fitted
        assert model.fit(data) is model
        assert model.is_fitted and model.n_items_ == data.n_items

    def test_unfitted_model_raises(self) -> None:
        with pytest.raises(NotFittedError):
            self.make_model().score([0])
        with pytest.raises(NotFittedError):
            self.make_model().recommend([0], k=3)

    def test_constructor_stores_only_params(self) -> None:
        model = self.make_model()
        assert not [k for k in vars(model) if k.endswith("_")]
        assert model.clone().get_params() == model.get_params()

    # -- known answer --------------------------------------------------------------------
    def test_known_best_item_ranks_first(self, fitted: Recommender, data: Dataset) -> None:
        users = np.arange(data.n_users)
        ids, _ = fitted.recommend(users, k=1)
        expected = [self.expected_top1(fitted, data, int(u)) for u in users]
        assert ids[:, 0].tolist() == expected

    # -- batching and exclusion ----------------------------------------------------------
    def test_batch_equals_single(self, fitted: Recommender, data: Dataset) -> None:
        users = np.arange(data.n_users)
        batch = fitted.score(users)
        ids_b, vals_b = fitted.recommend(users, k=4)
        for u in (0, 7, data.n_users - 1):
            np.testing.assert_allclose(fitted.score([u])[0], batch[u], rtol=1e-5, atol=1e-6)
            ids_s, vals_s = fitted.recommend([u], k=4)
            assert ids_s[0].tolist() == ids_b[u].tolist()
            np.testing.assert_allclose(vals_s[0], vals_b[u], rtol=1e-5, atol=1e-6)

    def test_seen_items_are_excluded(self, fitted: Recommender, data: Dataset) -> None:
        users = np.arange(data.n_users)
        ids, _ = fitted.recommend(users, k=data.n_items)
        seen = data.matrix
        for u in users:
            recs = set(ids[u][ids[u] >= 0].tolist())
            assert recs.isdisjoint(seen[u].indices.tolist())
            assert len(recs) == data.n_items - seen[u].nnz  # every unseen item is rankable

    def test_candidates_restrict_the_shelf(self, fitted: Recommender, data: Dataset) -> None:
        shelf = np.array([1, 3, 8, 10])
        ids, _ = fitted.recommend(np.arange(5), k=6, exclude_seen=False, candidates=shelf)
        assert set(ids[ids >= 0].tolist()) <= set(shelf.tolist())
        assert (ids[:, 4:] == -1).all()  # only four candidates exist
        ids, vals = fitted.recommend(np.arange(2), k=3, candidates=np.array([], dtype=int))
        assert (ids == -1).all() and np.isneginf(vals).all()  # an empty shelf lists nothing

    # -- unknown ids ---------------------------------------------------------------------
    def test_unknown_user_gets_cold_start_scores(self, fitted: Recommender,
                                                 data: Dataset) -> None:
        scores = fitted.score([-1, data.n_users + 10])
        assert np.isfinite(scores).all()
        ids, _ = fitted.recommend([-1], k=5)
        assert (ids >= 0).all() and len(set(ids[0].tolist())) == 5
        if not type(fitted).handles_cold_users:
            np.testing.assert_allclose(scores[0], data.item_counts)

    def test_unknown_items_score_minus_inf(self, fitted: Recommender, data: Dataset) -> None:
        items = np.array([0, data.n_items + 3, -2, 5])
        scores = fitted.score([0, 1], items=items)
        assert scores.shape == (2, 4)
        assert np.isneginf(scores[:, [1, 2]]).all()
        assert np.isfinite(scores[:, [0, 3]]).all()
        full = fitted.score([0, 1])
        np.testing.assert_allclose(scores[:, [0, 3]], full[:, [0, 5]])

    def test_history_fold_in_matches_stored_history(self, fitted: Recommender,
                                                    data: Dataset) -> None:
        user = 30
        if not self.uses_history:
            # history only decides what is excluded, never the scores
            np.testing.assert_array_equal(fitted.score([-1], history=data.matrix[user]),
                                          fitted.score([-1]))
            return
        # an unknown shopper with the same history and attributes is scored the same
        attrs = data.user_attributes.iloc[[user]].reset_index(drop=True)
        as_new = fitted.score([-1], history=fitted.history_[user], attributes=attrs)
        if type(fitted).fold_in_exact:
            np.testing.assert_allclose(as_new[0], fitted.score([user])[0], rtol=1e-5,
                                       atol=1e-6)
        else:  # an approximate fold-in must still rank like the trained user
            unseen = np.setdiff1d(np.arange(data.n_items), fitted.history_[user].indices)
            corr = np.corrcoef(as_new[0][unseen], fitted.score([user])[0][unseen])[0, 1]
            assert corr > 0.8
        ids, _ = fitted.recommend([-1], k=1, history=fitted.history_[user], attributes=attrs)
        assert ids[0, 0] == self.expected_top1(fitted, data, user)

    # -- persistence and resets ----------------------------------------------------------
    def test_save_load_round_trip(self, fitted: Recommender, data: Dataset,
                                  tmp_path: Path) -> None:
        folder = fitted.save(tmp_path / "model")
        assert {p.name for p in folder.iterdir()} == {"config.json", "state.npz"}
        again = Recommender.load(folder)
        assert type(again) is type(fitted) and again.get_params() == fitted.get_params()
        users = np.arange(data.n_users)
        np.testing.assert_array_equal(again.score(users), fitted.score(users))
        np.testing.assert_array_equal(again.recommend(users, k=3)[0],
                                      fitted.recommend(users, k=3)[0])

    def test_fit_resets_learned_state(self, data: Dataset) -> None:
        other = data.with_pairs(data.pairs[data.pairs["user"] % 2 == 0])
        model = self.make_model().fit(data).fit(other)
        fresh = self.make_model().fit(other)
        users = np.arange(data.n_users)
        np.testing.assert_array_equal(model.score(users), fresh.score(users))

    def test_history_rows_must_match_users(self, fitted: Recommender, data: Dataset) -> None:
        from coldrec.errors import DataError

        with pytest.raises(DataError):
            fitted.score([0, 1], history=sp.csr_matrix((3, data.n_items)))
