"""ContentKNN and the Hybrid under the contract, plus their cold-start behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coldrec.data import Dataset
from coldrec.errors import ConfigError
from coldrec.models import DLAE, ContentKNN, Hybrid, Recommender
from coldrec.models.hybrid import fit_cold_start_tower, fit_kernel_transfer, fit_transfer
from coldrec.models.ranking import zscore
from tests.conftest import N_A, block_frames
from tests.models.contract import RecommenderContract


class TestContentKNN(RecommenderContract):
    def make_model(self) -> Recommender:
        return ContentKNN(progress=False)


class TestContentKNNRecency(RecommenderContract):
    def make_model(self) -> Recommender:
        return ContentKNN(profile="recency", decay=0.5, lexical_weight=0.5, progress=False)


class TestHybrid(RecommenderContract):
    def make_model(self) -> Recommender:
        return Hybrid(cf_lam=10.0, progress=False)


class TestHybridItemKNNWithTrust(RecommenderContract):
    def make_model(self) -> Recommender:
        return Hybrid(cf="itemknn", cf_neighbors=20, item_trust=2.0, user_trust=1.0,
                      progress=False)


class TestHybridTextKernelTransfer(RecommenderContract):
    def make_model(self) -> Recommender:
        return Hybrid(cf_lam=10.0, transfer_kernel="text", transfer_lam=0.3,
                      transfer_dropout=0.9, transfer_weight=1.0, lexical_weight=0.0,
                      progress=False)


class TestHybridColdStartTower(RecommenderContract):
    def make_model(self) -> Recommender:
        return Hybrid(cf_lam=10.0, tower="cold-start", tower_lam=1.0, user_trust=2.0,
                      progress=False)


def test_hybrid_collaborative_part_can_be_dlae(blocks: Dataset) -> None:
    model = Hybrid(cf="dlae", cf_lam=2.0, cf_dropout=0.3, progress=False).fit(blocks)
    dlae = DLAE(lam=2.0, dropout=0.3).fit(blocks)
    users = np.arange(5)
    comps = model.component_scores(users, blocks.binary_matrix[users])
    np.testing.assert_allclose(comps["collaborative"], zscore(dlae.score(users)), atol=1e-4)
    with pytest.raises(ConfigError, match="ease, dlae or itemknn"):
        Hybrid(cf="slim", progress=False).fit(blocks)


def test_negative_new_item_boost_reduces_the_hybrid_to_its_collaborative_part() -> None:
    # no content, no prior (user_trust 0), never-bought products pushed down: a warm
    # shopper's ranking is exactly DLAE's over the bought products, new arrivals last
    data = shop_with_new_arrivals()
    hybrid = Hybrid(cf="dlae", cf_lam=2.0, cf_dropout=0.3, new_item_boost=-30.0,
                    progress=False).fit(data)
    dlae = DLAE(lam=2.0, dropout=0.3).fit(data)
    users = np.arange(6)
    n = data.n_items
    ids, _ = hybrid.recommend(users, k=n)
    expected, _ = dlae.recommend(users, k=n, candidates=np.arange(n - 2))
    for got, want in zip(ids, expected, strict=True):
        want = want[want >= 0]  # padded with -1 past the unseen candidates
        np.testing.assert_array_equal(got[: len(want)], want)
        assert set(got[len(want):len(want) + 2]) == {n - 2, n - 1}


def shop_with_new_arrivals() -> Dataset:
    """The block shop plus two products nobody has bought yet."""
    events, catalog, users = block_frames()
    catalog = pd.concat([catalog, pd.DataFrame({
        "item_id": [2000, 2001],
        "title": ["garden product new arrival", "kitchen product new arrival"],
        "category": ["Home > Garden", "Home > Kitchen"], "brand": ["Acme", "Acme"],
        "price": [3.0, 4.0]})], ignore_index=True)
    return Dataset.from_frames(events, catalog, users)


@pytest.mark.parametrize("model", [Hybrid(cf_lam=10.0, progress=False),
                                   Hybrid(cf_lam=10.0, transfer_kernel="text",
                                          lexical_weight=0.0, transfer_weight=1.0,
                                          semantic_weight=0.0, progress=False),
                                   ContentKNN(progress=False)])
def test_cold_items_are_ranked_by_their_text(model: Recommender) -> None:
    data = shop_with_new_arrivals()
    assert data.item_counts[-2:].tolist() == [0, 0]
    model.fit(data)
    new = np.array([data.n_items - 2, data.n_items - 1])
    ids, _ = model.recommend([0, N_A + 1], k=1, candidates=new, exclude_seen=False)
    assert ids[:, 0].tolist() == new.tolist()  # garden shopper → garden arrival, and kitchen


def test_new_arrival_surfaces_on_the_mixed_shelf() -> None:
    data = shop_with_new_arrivals()
    model = Hybrid(cf_lam=10.0, progress=False).fit(data)
    ids, _ = model.recommend([0], k=3)
    assert data.n_items - 2 in ids[0]  # the garden arrival is in a garden shopper's top 3


def test_add_items_from_text_alone(blocks: Dataset) -> None:
    model = Hybrid(cf_lam=10.0, progress=False).fit(blocks)
    before = model.score([0])[0]
    new = model.add_items(["kitchen product deluxe. Home > Kitchen",
                           "garden product deluxe. Home > Garden"])
    assert new.tolist() == [blocks.n_items, blocks.n_items + 1]
    scores = model.score([0, N_A + 1])
    # known products keep their order (scores are re-standardised over the larger catalog)
    assert np.argsort(-scores[0, : blocks.n_items], kind="stable").tolist() == \
        np.argsort(-before, kind="stable").tolist()
    ids, _ = model.recommend([0, N_A + 1], k=1, candidates=new)
    assert ids[:, 0].tolist() == [new[1], new[0]]
    found, _ = model.search("deluxe kitchen", k=1)
    assert found[0] == new[0]


def test_new_shopper_from_attributes_only(blocks: Dataset) -> None:
    model = Hybrid(cf_lam=10.0, tower_lam=1.0, progress=False).fit(blocks)
    attrs = pd.DataFrame({"group": ["B", "A"], "age": [40, 30]})
    ids, _ = model.recommend([-1, -1], k=6, attributes=attrs)
    assert set(ids[0].tolist()) == set(range(6, 12))  # kitchen shopper → kitchen items
    assert set(ids[1].tolist()) == set(range(6))
    # the same new shopper after one click: the click's group dominates
    click = sp.csr_matrix(([1.0], ([0], [7])), shape=(1, blocks.n_items))
    ids, _ = model.recommend([-1], k=3, history=click, attributes=attrs.iloc[[1]])
    assert all(i >= 6 for i in ids[0])


def test_search_is_personalised_when_a_user_is_given(blocks: Dataset) -> None:
    model = Hybrid(cf_lam=10.0, progress=False).fit(blocks)
    plain, _ = model.search("Acme product", k=3)
    garden, _ = model.search("Acme product", k=3, user=1, personalisation=2.0)
    kitchen, _ = model.search("Acme product", k=3, user=N_A + 2, personalisation=2.0)
    assert all(i < 6 for i in garden) and all(i >= 6 for i in kitchen)
    assert len(plain) == 3


def test_explanations_name_a_signal(blocks: Dataset) -> None:
    model = Hybrid(cf_lam=10.0, progress=False).fit(blocks)
    reasons = model.explain(0, [0, 8])
    assert len(reasons) == 2 and all(isinstance(r, str) and r for r in reasons)
    assert model.explain(-1, [3]) == ["popular with shoppers like you"]


def test_transfer_solves_the_denoising_normal_equations() -> None:
    rng = np.random.default_rng(3)
    R = sp.csr_matrix((rng.random((30, 12)) < 0.3).astype(float))
    E = rng.standard_normal((12, 4))
    lam, lam_out, p = 0.5, 2.0, 0.4
    M = fit_transfer(R, E, lam=lam, lam_out=lam_out, dropout=p)
    A = R.toarray() @ E
    g = R.toarray().sum(axis=0)
    lhs = (1 - p) ** 2 * A.T @ A + p * (1 - p) * E.T @ np.diag(g) @ E + lam * np.eye(4)
    expected = np.linalg.solve(lhs, (1 - p) * A.T @ A) @ np.linalg.inv(E.T @ E
                                                                        + lam_out * np.eye(4))
    np.testing.assert_allclose(M, expected, rtol=1e-4, atol=1e-6)


def test_kernel_transfer_with_the_linear_kernel_is_the_embedding_transfer() -> None:
    # the dual form over K = EEᵀ ranks every item, known or new, like the primal map
    rng = np.random.default_rng(1)
    R = sp.csr_matrix((rng.random((30, 12)) < 0.3).astype(float))
    E = rng.standard_normal((12, 4))
    new = rng.standard_normal((3, 4))  # products added after the fit
    lam, lam_out, p = 0.5, 2.0, 0.4
    M = fit_transfer(R, E, lam=lam, lam_out=lam_out, dropout=p)
    P = fit_kernel_transfer(R, E @ E.T, lam=lam, lam_out=lam_out, dropout=p)
    items = np.vstack([E, new])
    primal = R.toarray() @ E @ M @ items.T
    dual = (1 - p) * R.toarray() @ (E @ E.T) @ P @ (E @ items.T)
    np.testing.assert_allclose(dual, primal, rtol=1e-3, atol=1e-5)
    with pytest.raises(ConfigError, match="kernel must be 12 × 12"):
        fit_kernel_transfer(R, np.eye(5))


def test_text_kernel_transfer_reads_the_words_and_scores_added_items(blocks: Dataset) -> None:
    model = Hybrid(cf_lam=10.0, transfer_kernel="text", transfer_lam=0.3, transfer_dropout=0.9,
                   transfer_lam_out=3.0, progress=False).fit(blocks)
    emb, lex = model.item_embeddings_, model.lexical_.toarray()
    kernel = emb @ emb.T / np.mean(np.sum(emb ** 2, axis=1)) + lex @ lex.T
    expected = fit_kernel_transfer(blocks.binary_matrix, kernel, lam=0.3, lam_out=3.0,
                                   dropout=0.9)
    np.testing.assert_allclose(model.transfer_, expected, rtol=1e-3, atol=1e-4)
    new = model.add_items(["garden product deluxe. Home > Garden"])
    assert model.transfer_.shape == (blocks.n_items, blocks.n_items)  # the fit is kept
    users = np.array([0, N_A + 1])
    hist = blocks.binary_matrix[users].toarray()
    emb, lex = model.item_embeddings_, model.lexical_.toarray()
    k_all = emb @ emb[: blocks.n_items].T / np.mean(np.sum(emb[: blocks.n_items] ** 2, axis=1)) \
        + lex @ lex[: blocks.n_items].T
    hist = np.hstack([hist, np.zeros((2, 1))])
    want = zscore((hist @ k_all @ expected @ k_all.T).astype(np.float32))
    got = model.component_scores(users, sp.csr_matrix(hist))["transfer"]
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
    ids, _ = model.recommend(users, k=1, candidates=np.r_[new, 6], exclude_seen=False)
    assert ids[:, 0].tolist() == [new[0], 6]  # garden shopper → the garden arrival
    with pytest.raises(ConfigError, match="transfer_kernel='text' needs"):
        Hybrid(transfer_kernel="text", ease_max_items=5, cf="itemknn",
               progress=False).fit(blocks)
    with pytest.raises(ConfigError, match="transfer_kernel must be"):
        Hybrid(transfer_kernel="words", progress=False).fit(blocks)


def test_hybrid_passes_its_transfer_settings_on(blocks: Dataset) -> None:
    model = Hybrid(cf_lam=10.0, transfer_lam=0.3, transfer_dropout=0.5, transfer_lam_out=3.0,
                   progress=False).fit(blocks)
    expected = fit_transfer(blocks.binary_matrix, model.item_embeddings_, lam=0.3,
                            lam_out=3.0, dropout=0.5)
    np.testing.assert_allclose(model.transfer_, expected, rtol=1e-4, atol=1e-6)


def test_cold_start_tower_solves_the_simulated_new_shopper_regression() -> None:
    # three shoppers, items bought in this order (timestamps), one attribute
    events = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3, 3, 3],
                           "item_id": [10, 11, 12, 11, 10, 12, 13, 10],
                           "timestamp": [1, 2, 3, 1, 2, 1, 2, 3]})
    users = pd.DataFrame({"user_id": [1, 2, 3], "group": ["a", "b", "a"]})
    data = Dataset.from_frames(events, users=users)
    feats = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 0]], dtype=float)  # intercept, a, b
    W = fit_cold_start_tower(data, feats, lam=0.5, reveal=(0, 1))
    first = {0: [0], 1: [1], 2: [2]}  # each shopper's first item (internal indices)
    X = data.binary_matrix.toarray()
    Z, Y = [], []
    for k in (0, 1):
        for u in range(3):
            shown = np.zeros(4)
            shown[first[u][:k]] = 1.0
            Z.append(np.r_[feats[u], shown])
            Y.append(X[u] - shown)
    Z, Y = np.array(Z), np.array(Y)
    reg = np.full(Z.shape[1], 0.5)
    reg[0] = 0.0
    expected = np.linalg.solve(Z.T @ Z + np.diag(reg), Z.T @ Y)
    np.testing.assert_allclose(W, expected, rtol=1e-4, atol=1e-5)


def test_cold_start_tower_follows_a_new_shoppers_first_click(blocks: Dataset) -> None:
    events, catalog, _users = block_frames()
    no_attributes = Dataset.from_frames(events, catalog)  # kitchen shoppers start at item 6
    click = sp.csr_matrix(([1.0], ([0], [6])), shape=(1, no_attributes.n_items))
    tops = {}
    for tower in ("cold-start", "attributes"):
        model = Hybrid(cf_lam=10.0, tower=tower, tower_lam=1.0, user_trust=1e9,
                       progress=False).fit(no_attributes)  # the tower alone decides
        tops[tower] = set(model.recommend([-1], k=5, history=click)[0][0].tolist())
    assert tops["cold-start"] == {7, 8, 9, 10, 11}  # what follows that first click
    assert tops["attributes"] == {1, 2, 3, 4, 5}  # the plain prior: the popular garden
    model = Hybrid(cf_lam=10.0, tower="cold-start", tower_lam=1.0, progress=False).fit(blocks)
    assert model.tower_.shape == (model.user_features_.shape[1] + blocks.n_items,
                                  blocks.n_items)
    ids, _ = model.recommend([-1], k=6, attributes=pd.DataFrame({"group": ["B"], "age": [40]}))
    assert set(ids[0].tolist()) == set(range(6, 12))  # no clicks yet: the attributes decide


def test_cold_start_tower_refuses_a_catalogue_too_big_for_it(blocks: Dataset) -> None:
    with pytest.raises(ConfigError, match="ease_max_items"):
        Hybrid(tower="cold-start", ease_max_items=5, cf="itemknn", progress=False).fit(blocks)
    with pytest.raises(ConfigError, match="tower"):
        Hybrid(tower="both", progress=False).fit(blocks)
