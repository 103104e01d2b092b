"""The same request through Python, the CLI and HTTP gives the same list: for every
re-ranker, every business rule, search and an A/B arm (one pipeline behind all three)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldrec.experiments.design import Experiment, Variant
from coldrec.rerank import PRESETS, RERANKERS
from tests.pipeline.conftest import Doors, same_everywhere, train_cli

HYBRID = "cf=ease,cf_lam=10,user_trust=2"
USERS = ("u001", "u014", "u033")
RERANKS = ["popularity:0.8", "calibrated:0.7", "mmr:0.5", "cap:0.2", "tail:2",
           "discovery:2:2", "popularity:1,tail:2", *PRESETS]


@pytest.fixture(scope="module")
def hybrid(shop_toml: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Doors]:
    folder = tmp_path_factory.mktemp("hybrid")
    model = train_cli(shop_toml, "hybrid", HYBRID, folder / "model")
    doors = Doors(shop_toml, model, folder / "store.sqlite")
    yield doors
    doors.close()


def test_every_reranker_is_listed() -> None:
    named = {spec.split(":")[0] for spec in RERANKS for spec in spec.split(",")}
    assert named >= set(RERANKERS)


@pytest.mark.parametrize("rerank", [None, *RERANKS])
def test_rerankers_agree_through_every_door(hybrid: Doors, rerank: str | None) -> None:
    for user in USERS:
        ids = same_everywhere(hybrid, user, k=5, rerank=rerank)
        assert len(ids) == 5 and len(set(ids)) == 5


@pytest.mark.parametrize("rules", [
    {"in_stock_only": True}, {"exclude_categories": ("Tea",)},
    {"price_min": 4.0, "price_max": 9.0},
    {"in_stock_only": True, "exclude_categories": ("Grocery",), "price_max": 12.0}])
def test_business_rules_agree_through_every_door(hybrid: Doors, rules: dict) -> None:
    catalog = hybrid.data.catalog.set_axis(hybrid.data.items.raw(range(hybrid.data.n_items)))
    for user in USERS:
        ids = same_everywhere(hybrid, user, k=5, rerank="mmr:0.3", **rules)
        rows = catalog.loc[ids]
        if rules.get("in_stock_only"):
            assert rows["in_stock"].all()
        for category in rules.get("exclude_categories", ()):
            assert not rows["category"].str.contains(category).any()
        assert (rows["price"] >= rules.get("price_min", 0)).all()
        assert (rows["price"] <= rules.get("price_max", 1e9)).all()


def test_search_agrees_through_every_door(hybrid: Doors) -> None:
    for query, rules in (("green tea", {}), ("狗粮", {}), ("coffee", {"price_max": 6.0})):
        ids = same_everywhere(hybrid, "u002", k=4, query=query, **rules)
        assert ids


def test_mmr_over_http_answers_200(hybrid: Doors) -> None:
    response = hybrid.client.get("/recommend/u001", params={"rerank": "mmr:0.3"})
    assert response.status_code == 200 and len(response.json()["items"]) == 10


def test_ab_arm_answers_like_its_reranker_through_every_door(
        shop_toml: Path, hybrid: Doors, tmp_path: Path) -> None:
    exp = Experiment("doors", (Variant("plain"), Variant("tail", rerank="popularity:3")))
    design = tmp_path / "exp.json"
    design.write_text(json.dumps(exp.to_json()))
    doors = Doors(shop_toml, hybrid.folder, tmp_path / "ab.sqlite", experiment=design)
    try:
        users = [f"u{u:03d}" for u in range(60)]
        arms = {u: exp.assign(u) for u in users}
        assert {v.name for v in arms.values()} == {"plain", "tail"}
        for user in users[:12]:
            body = doors.client.get(f"/recommend/{user}", params={"k": 5}).json()
            assert body["variant"] == f"doors/{arms[user].name}"
            by_http = [r["item_id"] for r in body["items"]]
            rerank = arms[user].rerank
            assert by_http == doors.python(user, k=5, rerank=rerank)
            assert by_http == doors.cli(user, k=5, rerank=rerank)
    finally:
        doors.close()
