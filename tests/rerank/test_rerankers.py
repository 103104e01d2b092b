"""Re-rankers: known answers on tiny candidate lists, the spec language, and the ml-100k
long-tail goal as a quality floor on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coldrec.data import Dataset
from coldrec.data.popularity import popularity_groups
from coldrec.errors import ConfigError
from coldrec.eval import make_split
from coldrec.eval.metrics import intra_list_diversity
from coldrec.eval.runner import evaluate_task
from coldrec.models import EASE, Hybrid
from coldrec.rerank import (
    MMR,
    PRESETS,
    BusinessFilter,
    CalibratedPopularity,
    Chain,
    DiscoverySlots,
    ExposureCap,
    PopularityPenalty,
    RerankContext,
    TailQuota,
    get_reranker,
    relevance,
)

# 10 items; item i was bought 100 - 10 i times: item 0 is the most popular
COUNTS = np.array([100, 90, 80, 70, 60, 50, 40, 30, 20, 10], dtype=np.float64)
IDS = np.array([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]])
SCORES = np.array([[10.0, 9, 8, 7, 6, 5, 4, 3, 2, 1]])


def context(**kw: object) -> RerankContext:
    return RerankContext(item_counts=COUNTS, **kw)  # type: ignore[arg-type]


def test_relevance_scales_rows_and_keeps_empty_slots() -> None:
    rel = relevance(np.array([[3.0, 2.0, 1.0, -np.inf], [5.0, 5.0, 5.0, 5.0]]))
    assert rel[0, :3].tolist() == [1.0, 0.5, 0.0]
    assert rel[0, 3] == -np.inf
    assert np.all(rel[1] == 0.0)


@pytest.mark.parametrize("reranker", [PopularityPenalty(0), CalibratedPopularity(0), MMR(0),
                                      TailQuota(0), DiscoverySlots(0),
                                      DiscoverySlots(2, strength=0)])
def test_zero_strength_keeps_the_model_order(reranker) -> None:
    ids, _ = reranker.rerank(IDS, SCORES, 4, context(item_vectors=np.eye(10)))
    assert ids.tolist() == [[0, 1, 2, 3]]


def test_popularity_penalty_promotes_less_popular_items() -> None:
    ids, _ = PopularityPenalty(100.0).rerank(IDS, SCORES, 3, context())
    assert ids.tolist() == [[9, 8, 7]]
    mild, _ = PopularityPenalty(0.1).rerank(IDS, SCORES, 3, context())
    assert mild.tolist() == [[0, 1, 2]]


def test_tail_quota_appends_best_tail_items_and_leaves_full_lists_alone() -> None:
    # head = the top 20 % of 10 items = items 0 and 1
    ids, _scores = TailQuota(2).rerank(np.array([[0, 1, 5, 2, 3]]),
                                      np.array([[5.0, 4, 3, 2, 1]]), 3, context())
    assert ids.tolist() == [[0, 5, 2]]  # 5 is tail already; head item 1 gives way to 2
    ids, _ = TailQuota(1).rerank(np.array([[0, 4, 1]]), np.array([[3.0, 2, 1]]), 2, context())
    assert ids.tolist() == [[0, 4]]
    ids, _ = TailQuota(2).rerank(np.array([[0, 1, 4]]), np.array([[3.0, 2, 1]]), 2, context())
    assert ids.tolist() == [[0, 4]]  # only one tail candidate: one slot changes


def test_discovery_slots_fill_only_the_bottom_of_the_list() -> None:
    ids, scores = DiscoverySlots(2, strength=100.0).rerank(IDS, SCORES, 4, context())
    assert ids.tolist() == [[0, 1, 9, 8]]  # top two kept; least popular candidates below
    assert np.all(np.diff(scores[0]) < 0)  # the returned scores still order the list
    mild, _ = DiscoverySlots(2, strength=0.1).rerank(IDS, SCORES, 4, context())
    assert mild.tolist() == [[0, 1, 2, 3]]
    # more slots than places: the whole list is the popularity penalty's
    whole, _ = DiscoverySlots(5, strength=100.0).rerank(IDS, SCORES, 3, context())
    assert whole.tolist() == PopularityPenalty(100.0).rerank(IDS, SCORES, 3,
                                                             context())[0].tolist()
    # short candidate lists keep their empty slots empty
    short, short_scores = DiscoverySlots(1, strength=100.0).rerank(
        np.array([[0, 1, -1]]), np.array([[2.0, 1.0, -np.inf]]), 4, context())
    assert short.tolist() == [[0, 1, -1, -1]] and np.isneginf(short_scores[0, 2:]).all()
    with pytest.raises(ConfigError, match="whole number"):
        DiscoverySlots(1.5)


def test_popularity_groups_split_interactions_20_60_20() -> None:
    groups = popularity_groups(COUNTS)
    assert groups[0] == 0 and groups[-1] == 2
    assert list(groups) == sorted(groups)


def test_calibration_follows_the_users_own_mix() -> None:
    groups = popularity_groups(COUNTS)
    tail_items = np.flatnonzero(groups == 2)
    hist = sp.csr_matrix(([1.0] * len(tail_items), ([0] * len(tail_items), tail_items)),
                         shape=(1, 10))
    ids, _ = CalibratedPopularity(0.9).rerank(IDS, SCORES, 3, context(history=hist))
    assert set(ids[0]) <= set(tail_items)
    head_hist = sp.csr_matrix(([1.0], ([0], [0])), shape=(1, 10))
    ids, _ = CalibratedPopularity(0.9).rerank(IDS, SCORES, 2, context(history=head_hist))
    assert ids.tolist() == [[0, 1]]


def test_mmr_skips_near_duplicates() -> None:
    vectors = np.array([[1.0, 0], [0.99, 0.14], [0, 1.0]] + [[0.7, 0.7]] * 7)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.array([[0, 1, 2]])
    scores = np.array([[1.0, 0.95, 0.6]])
    plain, _ = MMR(0.0).rerank(ids, scores, 2, context(item_vectors=vectors))
    diverse, _ = MMR(0.5).rerank(ids, scores, 2, context(item_vectors=vectors))
    assert plain.tolist() == [[0, 1]]
    assert diverse.tolist() == [[0, 2]]
    assert intra_list_diversity(diverse, vectors) > intra_list_diversity(plain, vectors)
    with pytest.raises(ConfigError, match="vectors"):
        MMR(0.5).rerank(ids, scores, 2, context())


def test_intra_list_diversity_known_answer() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert intra_list_diversity(np.array([[0, 1]]), vectors) == pytest.approx(1.0)
    assert intra_list_diversity(np.array([[0, 2]]), vectors) == pytest.approx(0.0)
    assert intra_list_diversity(np.array([[0, 1, 2, -1]]), vectors) == pytest.approx(2 / 3)


def test_exposure_cap_limits_how_often_an_item_is_shown() -> None:
    ids = np.tile(np.arange(10), (4, 1))
    scores = np.tile(SCORES, (4, 1))
    out, _ = ExposureCap(0.5).rerank(ids, scores, 2, context())
    assert out.tolist() == [[0, 1], [0, 1], [2, 3], [2, 3]]
    assert np.bincount(out.ravel()).max() <= 2


def test_business_filter_rules_and_clear_errors() -> None:
    catalog = pd.DataFrame({
        "category": ["Food > Dairy", "Food > Bakery", "Toys", None] + ["Food"] * 6,
        "price": [1.0, 2.5, 30.0, 4.0, np.nan, 5, 6, 7, 8, 9],
        "in_stock": [True, "no", 1, None, True, True, 0, True, True, True],
    })
    ctx = context(catalog=catalog)
    f = BusinessFilter(in_stock_only=True, exclude_categories=["dairy"], price_max=10)
    assert np.flatnonzero(f.allowed(ctx)).tolist() == [3, 5, 7, 8, 9]
    ids, _ = f.rerank(IDS, SCORES, 3, ctx)
    assert ids.tolist() == [[3, 5, 7]]
    # a rule over a column the catalogue lacks lets everything through (nothing is out of
    # stock, nothing in an excluded category); a price bound without prices, or an empty
    # range, leaves nothing
    bare = context(catalog=catalog.drop(columns=["category", "in_stock"]))
    assert BusinessFilter(exclude_categories=["x"], in_stock_only=True).allowed(bare).all()
    assert not BusinessFilter(price_min=5, price_max=1).allowed(ctx).any()
    assert not BusinessFilter(price_max=100).allowed(
        context(catalog=catalog.drop(columns="price"))).any()
    with pytest.raises(ConfigError, match="finite"):
        BusinessFilter(price_min=float("nan"))


def test_spec_language() -> None:
    chain = get_reranker("tail-balanced")
    assert isinstance(chain, Chain) and PRESETS["tail-balanced"]
    assert isinstance(get_reranker("mmr:0.2"), MMR) and get_reranker("mmr:0.2").strength == 0.2
    assert isinstance(get_reranker("cap"), ExposureCap)
    with pytest.raises(ConfigError, match="unknown re-ranker 'nope'"):
        get_reranker("nope:1")
    with pytest.raises(ConfigError, match="not a number"):
        get_reranker("mmr:lots")
    with pytest.raises(ConfigError, match="out of range"):
        get_reranker("calibrated:3")
    discovery = get_reranker("discovery:3:1.5")
    assert isinstance(discovery, DiscoverySlots)
    assert (discovery.slots, discovery.strength) == (3, 1.5)
    with pytest.raises(ConfigError, match="takes at most 2 values"):
        get_reranker("discovery:3:1.5:2")


def test_tail_balanced_reaches_the_ml100k_goal(ml100k: Dataset) -> None:
    """PEERS: EASE 0.351 NDCG@10 reaches TailRecall 0.008 and coverage 0.21; the goal is
    NDCG ≥ 0.340 with TailRecall ≥ 0.080 and coverage ≥ 0.42 in one configuration. The
    hybrid's configuration is the one `coldrec evaluate --model hybrid --rerank
    tail-balanced` selects on validation; EASE λ=500 (the PEERS one) reaches it with a
    milder chain."""
    split = make_split(ml100k, "P1")
    train = split.test.train
    task = split.test.tasks["test"]
    head = split.selection.train.item_counts
    hybrid = Hybrid(cf="ease", cf_lam=500, semantic_weight=0.0, transfer_weight=0.0,
                    user_trust=10.0, progress=False).fit(train)
    ease = EASE(lam=500).fit(train)
    plain = evaluate_task(ease, task, [10], train, head_counts=head)
    for model, spec in ((hybrid, "tail-balanced"), (ease, "popularity:1.3,tail:2")):
        tuned = evaluate_task(model, task, [10], train, head_counts=head,
                              rerank=get_reranker(spec))
        assert tuned["ndcg@10"] >= 0.340, spec
        assert tuned["tail_recall@10"] >= 0.080 >= 2 * plain["tail_recall@10"], spec
        assert tuned["coverage@10"] >= 0.42, spec
