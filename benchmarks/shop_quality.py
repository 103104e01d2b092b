"""What a shopper sees on the built-in Complete Journey shop, checked like a shop would.

    python benchmarks/shop_quality.py            # about 3 minutes on 2 cores

Starts the service in-process over HTTP (FastAPI's test client: the same routes, engine and
pipeline as `coldrec serve --data completejourney`, default model and settings, a fresh
SQLite store) and measures issue 30's checks: phantom and non-merchandise products and
repeated titles in the lists of 500 households and 50 new shoppers; what one click does;
where a new product lands; whether reasons name the shopper's own products; searches in
Chinese and English. Writes section `shop-quality` of docs/benchmarks/shop.md.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from _common import stamp, update_section
from coldrec.data.builtin import load
from coldrec.eval.report import markdown_table
from coldrec.serve.app import create_app
from coldrec.serve.settings import Settings

KEY = "shop-quality"
AUTH = {"Authorization": f"Bearer {KEY}"}
BANNED = ("Fuel", "Coupon")  # what a grocery list must never show
OAT_MILK = {"title": "Organic Oat Milk Barista Edition 32 oz", "category":
            "Grocery > Fluid Milk Products > Oat Milk", "brand": "National", "price": 3.49,
            "description": "Plant-based oat milk, creamy, for coffee and cereal"}
DOG_FOOD = {"title": "Grain Free Salmon Dog Food 24 lb", "category":
            "Grocery > Dog Foods > Dry Dog Food", "brand": "National", "price": 39.99,
            "description": "Dry dog food with salmon and sweet potato, no grain"}


def main() -> None:
    data = load("completejourney")
    tmp = Path(tempfile.mkdtemp(prefix="coldrec-shop-"))
    settings = Settings(database_url=f"sqlite:///{tmp / 'store.sqlite'}", api_key=KEY,
                        reports_dir=tmp / "reports")
    begin = time.perf_counter()
    with TestClient(create_app(settings)) as client:
        print(f"service up in {time.perf_counter() - begin:.0f} s", flush=True)
        rows = [*lists_check(client, data), *click_check(client, data),
                *new_product_check(client, data), *reasons_check(client, data),
                *search_check(client)]
    for row in rows:
        row["met"] = "yes" if row.pop("ok") else "**no**"
    print(pd.DataFrame(rows).to_string(), flush=True)
    update_section("shop-quality", "\n".join([
        "### What a shopper sees — Complete Journey, default model and settings\n",
        "Each check from issue 30, measured through the HTTP routes on the built-in "
        "data.\n", markdown_table(rows) + "\n", stamp()]))


def _items(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _post(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.post("/recommend", json=body)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _bad(items: list[dict[str, Any]]) -> tuple[int, int, bool]:
    """Untitled items, banned items, whether two items show the same title."""
    titles = [(i["title"] or "").strip().lower() for i in items]
    untitled = sum(1 for t in titles if not t)
    banned = sum(1 for i in items if any(b in (i["category"] or "") for b in BANNED))
    return untitled, banned, len(set(titles)) < len(titles)


def lists_check(client: TestClient, data: Any) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    households = rng.choice(np.asarray(data.users.ids, dtype=str), 500, replace=False)
    lists = [_items(client, f"/recommend/{h}", k=10) for h in households]
    ages = ["25-34", "35-44", "45-54", "55-64", "65+"]
    for n in range(50):  # new shoppers: a profile, or a profile and one click
        body: dict[str, Any] = {"user_id": f"new-{n}", "k": 10,
                                "attributes": {"age": ages[n % 5]}}
        if n % 2:
            body["items"] = [str(data.items.ids[int(rng.integers(data.n_items))])]
        lists.append(_post(client, body))
    bad = np.asarray([_bad(items) for items in lists])
    return [
        {"check": "items without a catalogue title (550 lists)", "target": "0",
         "measured": int(bad[:, 0].sum()), "ok": bad[:, 0].sum() == 0},
        {"check": "fuel / coupon items (550 lists)", "target": "0",
         "measured": int(bad[:, 1].sum()), "ok": bad[:, 1].sum() == 0},
        {"check": "lists with two identical titles (550 lists)", "target": "0",
         "measured": int(bad[:, 2].sum()), "ok": bad[:, 2].sum() == 0}]


def _find(data: Any, **contains: str) -> str:
    cat = data.catalog
    keep = np.ones(len(cat), dtype=bool)
    for col, text in contains.items():
        keep &= cat[col].fillna("").str.contains(text, case=False, regex=False).to_numpy()
    return str(data.items.ids[int(np.flatnonzero(keep)[0])])


def click_check(client: TestClient, data: Any) -> list[dict[str, Any]]:
    client.put("/items/new-oat-milk", json=OAT_MILK, headers=AUTH)
    clicks = {"baby food": (_find(data, title="Baby Food"), "Baby Foods"),
              "dog food": (_find(data, category="Dog Foods"), "Dog Foods"),
              "the new oat milk": ("new-oat-milk", "Fluid Milk Products")}
    rows = []
    for name, (item, category) in clicks.items():
        items = _post(client, {"k": 10, "items": [item]})
        same = sum(1 for i in items if category in (i["category"] or ""))
        distinct = len({(i["title"] or "").lower() for i in items})
        rows.append({"check": f"one click on {name}: from its category / distinct titles",
                     "target": "≥ 2 / ≥ 8", "measured": f"{same} / {distinct}",
                     "ok": same >= 2 and distinct >= 8})
    return rows


def new_product_check(client: TestClient, data: Any) -> list[dict[str, Any]]:
    r = client.put("/items/new-dog-food", json=DOG_FOOD, headers=AUTH)
    assert r.status_code in (200, 201), r.text
    cat = data.catalog["category"].fillna("")
    dog = set(np.flatnonzero(cat.str.contains("Dog Foods", regex=False).to_numpy()))
    pairs = data.pairs
    share = pairs.assign(dog=pairs["item"].isin(dog)).groupby("user")["dog"].mean()
    devoted = share.sort_values(ascending=False).index[:30]
    others = np.random.default_rng(1).choice(share.index[share == 0], 100, replace=False)

    def reach(users: Any) -> float:
        hits = [any(i["item_id"] == "new-dog-food" for i in
                    _items(client, f"/recommend/{data.users.ids[int(u)]}", k=10))
                for u in users]
        return float(np.mean(hits))
    fans, rest = reach(devoted), reach(others)
    return [{"check": "new dog food (PUT from text) in the top 10 of the 30 most dog-devoted "
                      "households / of 100 without dog food", "target": "≥ 60 % / ≤ 5 %",
             "measured": f"{fans:.0%} / {rest:.0%}", "ok": fans >= 0.6 and rest <= 0.05}]


def reasons_check(client: TestClient, data: Any) -> list[dict[str, Any]]:
    heavy = np.flatnonzero(data.user_counts >= 500)
    heavy = np.random.default_rng(2).choice(heavy, min(100, len(heavy)), replace=False)
    reasons = [i["reason"] for u in heavy
               for i in _items(client, f"/recommend/{data.users.ids[int(u)]}", k=10)]
    own = float(np.mean([r.startswith("because you bought") for r in reasons]))
    return [{"check": f"reasons naming one of their own products ({len(heavy)} households "
                      "with ≥ 500 purchases)", "target": "≥ 80 %", "measured": f"{own:.0%}",
             "ok": own >= 0.8}]


def search_check(client: TestClient) -> list[dict[str, Any]]:
    rows = []
    found = _items(client, "/search", q="燕麦奶", k=10)
    rank = next((n for n, i in enumerate(found, 1) if i["item_id"] == "new-oat-milk"), None)
    rows.append({"check": "search 燕麦奶: rank of the new oat milk", "target": "≤ 3",
                 "measured": rank or "not in 10", "ok": rank is not None and rank <= 3})
    for query, word in (("麦片", "cereal"), ("red wine", "wine")):
        found = _items(client, "/search", q=query, k=10)
        hits = sum(1 for i in found if word in ((i["title"] or "") + " " +
                                                (i["category"] or "")).lower())
        distinct = len({(i["title"] or "").lower() for i in found})
        rows.append({"check": f"search {query}: results about {word} / distinct titles",
                     "target": "≥ 5 / ≥ 8", "measured": f"{hits} / {distinct}",
                     "ok": hits >= 5 and distinct >= 8})
    return rows


if __name__ == "__main__":
    main()
