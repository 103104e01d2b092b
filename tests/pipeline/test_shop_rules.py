"""What a shop shows: catalogue rules, one slot per displayed title, reasons that are true."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coldrec.data import Dataset, load_toml
from coldrec.data.builtin import COMPLETEJOURNEY_RULES, rules_of
from coldrec.data.rules import CatalogueRules
from coldrec.errors import ConfigError
from coldrec.models import Hybrid, ItemKNN
from coldrec.pipeline import ListRequest, Pipeline, load_model, save_model


def _shop() -> Dataset:
    """Eight products: two sold as the same displayed title, fuel, a coupon, a free one, an
    untitled one and two plain products; every shopper bought product 0."""
    titles = ["Whole Milk 1 gal", "whole  milk 1 GAL", "Gasoline-Reg Unleaded", "Store Coupon",
              "Free Sample Bag", None, "Oat Milk Barista", "Rye Bread"]
    cats = ["Grocery > Milk", "Grocery > Milk", "Fuel > Fuel > Gasoline",
            "Miscellaneous > Coupon/Misc Items > Coupons", "Grocery > Bags", None,
            "Grocery > Milk", "Grocery > Bread"]
    prices = [3.0, 3.1, 23.0, 0.5, 0.0, 1.0, 4.0, 2.0]
    catalog = pd.DataFrame({"item_id": [f"i{j}" for j in range(8)], "title": titles,
                            "category": cats, "price": prices,
                            "in_stock": [True] * 7 + [False]})
    rows = [{"user_id": f"u{u}", "item_id": f"i{j}", "timestamp": u * 10 + j}
            for u in range(30) for j in ([0] + [1 + (u + s) % 7 for s in range(3)])]
    data = Dataset.from_frames(pd.DataFrame(rows), catalog, name="rules-shop")
    return data


RULES = CatalogueRules(require_title=True, exclude_categories=("Fuel", "Coupon/Misc Items"),
                       min_price=0.0, in_stock_column="in_stock")


def test_rules_say_which_products_may_be_shown() -> None:
    data = _shop()
    allowed = RULES.allowed(data.catalog, data.n_items)
    shown = set(data.items.raw(np.flatnonzero(allowed)).astype(str))
    assert shown == {"i0", "i1", "i6"}  # fuel, coupon, free, untitled, out of stock: never
    assert CatalogueRules().allowed(data.catalog, data.n_items).all()  # no rules: all
    cj = COMPLETEJOURNEY_RULES.allowed(pd.DataFrame({
        "title": ["Gasoline-Reg Unleaded", "Eggs", "Gift card", None, "Milk"],
        "category": ["Miscellaneous > Coupon/Misc Items > Gasoline-Reg Unleaded",
                     "Grocery > Eggs", "Coupon > Coupons/Store & Mfg > x", "Grocery > x",
                     "Grocery > Fluid Milk"],
        "price": [2.0, 1.0, 5.0, 1.0, 0.0]}), 5)
    assert cj.tolist() == [False, True, False, False, False]
    assert rules_of("completejourney") == COMPLETEJOURNEY_RULES


def test_rules_come_from_the_dataset_toml(tmp_path: Path) -> None:
    data = _shop()
    data.catalog.assign(item_id=data.items.raw(np.arange(8))).to_csv(tmp_path / "c.csv",
                                                                     index=False)
    pd.DataFrame([{"user_id": "u", "item_id": "i0"}]).to_csv(tmp_path / "e.csv", index=False)
    body = '[events]\npath = "e.csv"\n[catalog]\npath = "c.csv"\n'
    (tmp_path / "ok.toml").write_text(body + '[rules]\nrequire_title = true\n'
                                      'exclude_categories = ["Fuel"]\nmin_price = 0\n')
    assert load_toml(tmp_path / "ok.toml").rules == CatalogueRules(True, ("Fuel",), 0.0)
    assert rules_of(tmp_path / "ok.toml") == CatalogueRules(True, ("Fuel",), 0.0)
    (tmp_path / "bad.toml").write_text(body + '[rules]\nexclude_categorys = ["Fuel"]\n')
    with pytest.raises(ConfigError, match="exclude_categorys"):
        load_toml(tmp_path / "bad.toml")
    (tmp_path / "nan.toml").write_text(body + '[rules]\nmin_price = nan\n')
    with pytest.raises(ConfigError, match="min_price"):
        load_toml(tmp_path / "nan.toml")


def test_shop_lists_follow_the_rules_and_show_each_title_once() -> None:
    data = _shop()
    data = replace(data, rules=RULES)
    model = ItemKNN(neighbors=10).fit(data)
    pipeline = Pipeline.for_dataset(model, data)
    new = sp.csr_matrix(([1.0], ([0], [7])), shape=(1, data.n_items))  # bought the bread
    plain = pipeline.run(ListRequest([-1], k=8, history=new)).row(0)[0]
    shop = pipeline.run(ListRequest([-1], k=8, history=new, shop_rules=True)).row(0)[0]
    assert {2, 3, 4, 5} & set(plain.tolist())  # the protocol's list holds them all
    assert set(shop.tolist()) <= {0, 1, 6} and len({0, 1} & set(shop.tolist())) == 1
    similar = pipeline.similar(6, k=5).row(0)[0]
    assert set(similar.tolist()) <= {0, 1} and len(similar) == 1  # one milk, nothing banned


def test_reasons_name_the_signal_that_placed_the_item(tmp_path: Path) -> None:
    data = _shop()
    model = Hybrid(cf="itemknn", cf_neighbors=10, progress=False).fit(data)
    user = int(data.users.lookup(["u3"])[0])
    hist = model.user_history(np.asarray([user]))
    ids = model.recommend([user], k=3)[0][0]
    reasons = model.explain(user, ids, history=hist)
    # a shopper with history and user_trust 0: the prior weighs nothing in their list
    assert "popular with shoppers like you" not in reasons
    anchors = model.anchors(user, ids, history=hist)
    sim = model.cf_model_.similarity_.toarray()
    for item, anchor in zip(ids, anchors, strict=True):
        assert anchor in hist.indices  # one of their own products
        assert sim[anchor, item] == sim[hist.indices, item].max()  # the largest term
    pipeline = Pipeline.for_dataset(model, data)
    shown = pipeline.run(ListRequest([user], k=3, explain=True)).reasons[0]
    assert all(r.startswith("because you bought ") for r in shown), shown
    # saved and loaded with the dataset's rules
    save_model(model, replace(data, rules=RULES), tmp_path / "m")
    assert load_model(tmp_path / "m")[1].rules == RULES
