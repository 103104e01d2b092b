"""A request's ranking without a pass over every item vector gives the full scan's list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coldrec.data import Dataset
from coldrec.models import Hybrid
from coldrec.models import blend as blend_module
from coldrec.models.base import Recommender
from coldrec.models.blend import ItemSide
from coldrec.models.ranking import topk

WORDS = ["milk", "oat", "bread", "apple", "coffee", "beans", "dog", "food", "rice", "tea",
         "wine", "red", "cheese", "soap", "baby", "juice", "pasta", "salmon", "cereal", "nuts"]


@pytest.fixture(scope="module")
def shop() -> Dataset:
    """300 products with three-word titles, 150 shoppers with power-law tastes."""
    rng = np.random.default_rng(7)
    n_items, n_users = 300, 150
    titles = [" ".join(rng.choice(WORDS, 3, replace=False)) for _ in range(n_items)]
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    rows = []
    for u in range(n_users):
        for j in rng.choice(n_items, int(rng.integers(2, 25)), replace=False, p=pop / pop.sum()):
            rows.append({"user_id": u, "item_id": int(j), "timestamp": int(rng.integers(1e6))})
    catalog = pd.DataFrame({"item_id": np.arange(n_items), "title": titles,
                            "category": [f"aisle {i % 7}" for i in range(n_items)]})
    return Dataset.from_frames(pd.DataFrame(rows), catalog, name="words")


def _full(model: Recommender, users: np.ndarray, k: int) -> np.ndarray:
    """The base's ranking: every item scored."""
    hist = model.user_history(users)
    scores = Recommender._top_scores(model, users, hist, None, k=k, blocked=[hist], shelf=None)
    return topk(scores, k, model.tie_rank_)[0]


PARAMS = [
    {},
    {"item_trust": 5.0, "user_trust": 3.0},
    {"item_trust": 2.0, "new_item_boost": 1.5, "lexical_weight": 0.0},
    {"item_trust": 10.0, "semantic_weight": 1.0, "transfer_weight": 0.0},
]


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("through_index", [False, True])
def test_request_ranking_equals_full_scan(shop: Dataset, params: dict, through_index: bool,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if through_index:  # every item needing its vector goes through the index and the bound
        monkeypatch.setattr(blend_module, "GATHER_ITEMS", 0)
        monkeypatch.setattr(blend_module, "INDEX_FROM", 0)
        monkeypatch.setattr(blend_module, "RETRIEVE_ITEMS", 40)
    model = Hybrid(cf="itemknn", cf_neighbors=30, progress=False, **params).fit(shop)
    model.add_items(["oat milk barista edition", "grain free salmon dog food"])
    for user in range(0, 150, 7):
        users = np.asarray([user])
        got = model.recommend(users, k=10)[0]
        np.testing.assert_array_equal(got, _full(model, users, 10), err_msg=str(user))


def test_blend_form_equals_the_score(shop: Dataset) -> None:
    model = Hybrid(cf="itemknn", cf_neighbors=30, item_trust=4.0, user_trust=2.0,
                   new_item_boost=0.5, progress=False).fit(shop)
    users = np.arange(4)
    hist = model.user_history(users)
    blend = model._blend(model._parts(users, hist, None), hist)
    np.testing.assert_allclose(blend.full(model.item_embeddings_), model.score(users),
                               atol=2e-4)


def test_item_side_grows_like_a_fresh_one(shop: Dataset) -> None:
    model = Hybrid(cf="itemknn", progress=False).fit(shop)
    side = model._side()
    side.stats(), side.lexical_embeddings()  # built before the products arrive
    model.add_items(["red wine", "tea with oat milk"])
    assert model._side() is side  # grown, not rebuilt
    fresh = ItemSide(model.item_embeddings_, model.lexical_)
    for got, want in zip(side.stats(), fresh.stats(), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-9)
    np.testing.assert_allclose(side.lexical_embeddings(), fresh.lexical_embeddings(),
                               atol=1e-6)  # float32
    assert side.lexical_t().shape == (model.lexical_.shape[1], model.n_items_)


def test_shelf_and_exclusions_hold_on_the_request_path(shop: Dataset) -> None:
    model = Hybrid(cf="itemknn", item_trust=3.0, progress=False).fit(shop)
    shelf = np.arange(0, 300, 3)
    exclude = sp.csr_matrix(([1.0], ([0], [int(shelf[5])])), shape=(1, model.n_items_))
    got = model.recommend([4], k=10, candidates=shelf, exclude=exclude)[0][0]
    assert set(got) <= set(shelf) and int(shelf[5]) not in got
    assert not set(got) & set(model.user_history(np.asarray([4])).indices)
    scores = model.score([4])[0]
    scores[model.user_history(np.asarray([4])).indices] = -np.inf
    scores[int(shelf[5])] = -np.inf
    best = shelf[np.argsort(-scores[shelf], kind="stable")][:10]
    assert set(got) == set(best)
