"""``coldrec demo``: the main job on the built-in Complete Journey dataset.

Loads the data, evaluates popularity, item-KNN and the hybrid on protocol P1 (selection on
validation, refit, one test), refits the hybrid on all data and shows — with product text
and the reason for each item — recommendations for a loyal household, a household with two
purchases, a brand-new household known only by its demographics, the same household after
a search phrase (in English and in Chinese), and a brand-new product that nobody has bought.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from coldrec.cli.common import Shopper, recommend_for, recommendation_table
from coldrec.data.builtin import load
from coldrec.data.dataset import Dataset
from coldrec.eval.protocols import make_split
from coldrec.eval.reports import save_evaluation
from coldrec.eval.runner import ProtocolResult, run_protocol
from coldrec.models.hybrid import Hybrid
from coldrec.models.registry import get_model_spec

__all__ = ["run_demo"]

NEW_SHOPPER = {
    "age": "35-44", "income": "50-74K", "home_ownership": "Homeowner",
    "marital_status": "Married", "household_size": "4", "household_comp": "2 Adults Kids",
    "kids_count": "2",
}
#: brand-new products (text only) and the category whose buyers should see each first
NEW_PRODUCTS = [
    ("Oat Milk Barista Edition 32 oz. National. Grocery > Fluid Milk Products > Oat Milk",
     "Fluid Milk Products"),
    ("Grain Free Salmon Dog Food 12 lb. National. Pet > Dog Foods > Dry Dog Food",
     "Dog Foods"),
    ("Sensitive Baby Wipes 3 x 72 ct. Private. Drug Gm > Baby Hbc > Baby Wipes",
     "Baby Hbc"),
    ("Organic Lawn Fertilizer 15 lb. National. Drug Gm > Lawn And Garden > Fertilizer",
     "Lawn And Garden"),
]
#: the hybrid's configuration for the demo (a small grid keeps it within minutes; the full
#: grid is in `coldrec models` and the benchmarks)
HYBRID_GRID = [{"cf": "itemknn", "cf_neighbors": 100, "semantic_weight": 0.5,
                "transfer_weight": 1.0, "item_trust": 5.0, "user_trust": u} for u in (0.0, 5.0)]


def _candidates(quick: bool) -> list[tuple[str, list[dict[str, Any]]]]:
    knn = [{"similarity": "cosine", "neighbors": k} for k in ((100,) if quick else (50, 200))]
    hybrid = HYBRID_GRID[:1] if quick else HYBRID_GRID
    return [("popularity", [{}]), ("itemknn", knn), ("hybrid", hybrid)]


def _history(data: Dataset, user: int, n: int = 5) -> list[str]:
    pairs = data.pairs[data.pairs["user"] == user].sort_values("last_timestamp")
    return [data.describe_item(int(i)) for i in pairs["item"].to_numpy()[-n:][::-1]]


def _with_reasons(model: Hybrid, frame: pd.DataFrame, data: Dataset, user: int,
                  history: Any = None, attributes: pd.DataFrame | None = None) -> pd.DataFrame:
    items = data.items.lookup(frame["item_id"].tolist(), unknown="unknown")
    frame = frame.copy()
    frame["product"] = [f"{p}  [dim]← {r}[/]" for p, r in zip(
        frame["product"], model.explain(user, items, history=history, attributes=attributes),
        strict=True)]
    return frame


def _evaluate(console: Console, data: Dataset, quick: bool) -> dict[str, ProtocolResult]:
    console.rule("Evaluation: protocol P1 (per-household 80/10/10, full ranking)")
    split = make_split(data, "P1")
    results: dict[str, ProtocolResult] = {}
    table = Table(title="test metrics (configuration chosen on validation NDCG@10)")
    for col in ("model", "params", "valid ndcg@10", "recall@10", "ndcg@10", "hit@10",
                "coverage@10", "tail_recall@10", "fit s"):
        table.add_column(col, justify="left" if col in ("model", "params") else "right")
    for name, grid in _candidates(quick):
        spec = get_model_spec(name)
        build = spec.build if name != "hybrid" else (
            lambda **p: Hybrid(progress=True, **p))
        res = run_protocol(split, "P1", build, grid, ks=[10], model_name=name)
        results[name] = res
        task = res.tasks["test"]
        m = task.metrics
        table.add_row(name, ", ".join(f"{k}={v}" for k, v in task.params.items()
                                      if k not in ("cf",)) or "–",
                      f"{task.valid:.4f}", f"{m['recall@10']:.4f}", f"{m['ndcg@10']:.4f}",
                      f"{m['hit@10']:.4f}", f"{m['coverage@10']:.4f}",
                      f"{m['tail_recall@10']:.4f}", f"{task.fit_seconds:.1f}")
    console.print(table)
    return results


def _new_arrivals(console: Console, model: Hybrid, data: Dataset) -> None:
    """Add products nobody has bought; show each household's "new arrivals for you"."""
    texts = [text for text, _ in NEW_PRODUCTS]
    new = model.add_items(texts)
    console.print("Added without retraining: " + "; ".join(t.split(".")[0] for t in texts))
    table = Table(title="new arrivals for you (ranking among the new products only)",
                  title_justify="left")
    table.add_column("household")
    table.add_column("buys a lot of")
    table.add_column("share of its items")  # the keenest gardener still mostly buys food
    table.add_column("new arrivals, best first")
    category = data.catalog["category"].fillna("")
    for _, cat in NEW_PRODUCTS:
        items = np.flatnonzero(category.str.contains(cat, regex=False).to_numpy())
        in_cat = data.pairs.loc[data.pairs["item"].isin(items), "user"].value_counts()
        in_cat = in_cat[in_cat >= 5]
        if in_cat.empty:
            continue
        share = in_cat / data.user_counts[in_cat.index.to_numpy()]
        user = int(share.idxmax())  # the household most devoted to this category
        ids, _ = model.recommend([user], k=len(new), candidates=new)
        order = [texts[int(i) - int(new[0])].split(".")[0] for i in ids[0] if i >= 0]
        table.add_row(str(data.users.ids[user]), cat,
                      f"{int(in_cat[user])} of {int(data.user_counts[user])}", " › ".join(order))
    console.print(table)
    ids, _ = model.search("oat milk", k=3)
    console.print("search 'oat milk' → " + "; ".join(
        texts[int(i) - int(new[0])].split(".")[0] + " (new)" if i >= new[0]
        else data.describe_item(int(i)) for i in ids))


def run_demo(console: Console, quick: bool = False, report_dir: Path | None = None
             ) -> dict[str, ProtocolResult]:
    """Run the demo, printing to ``console``; returns the evaluation results (also saved
    in ``report_dir`` when given)."""
    start = time.perf_counter()
    console.rule("[bold]coldrec demo — The Complete Journey (dunnhumby)")
    data = load("completejourney")
    s = data.summary()
    console.print(f"{s['users']:,} households, {s['items']:,} products, "
                  f"{s['events']:,} purchases ({s['interactions']:,} household×product pairs); "
                  f"{s['users_with_attributes']:,} households with demographics.")
    results = _evaluate(console, data, quick)
    best = results["hybrid"].tasks["test"]
    console.print("Refitting the hybrid (collaborative + language model + demographics) on "
                  "all purchases. (EASE needs a dense 68k×68k matrix and is left out here.)")
    model = Hybrid(progress=True, **best.params).fit(data)

    events_per_user = np.bincount(data.events["user"].to_numpy(), minlength=data.n_users)
    loyal = int(np.argmax(events_per_user))
    two = np.flatnonzero(events_per_user == 2)
    occasional = int(two[0]) if len(two) else int(np.argmin(np.where(events_per_user > 0,
                                                                     events_per_user, 10**9)))
    console.rule("Recommendations (each with the strongest reason)")
    for label, user in (("a loyal household", loyal), ("a household with two purchases",
                                                       occasional)):
        raw = data.users.ids[user]
        console.print(f"\n[bold]{label}[/] (household {raw}, {events_per_user[user]:,} "
                      "purchases); recently bought:")
        for line in _history(data, user, 3):
            console.print(f"   · {line}")
        frame = recommend_for(model, data, Shopper(user_id=raw), k=6)
        console.print(recommendation_table(_with_reasons(model, frame, data, user),
                                           "hybrid recommends"))

    console.print("\n[bold]a brand-new household[/] (never seen; demographics only: "
                  + ", ".join(f"{k}={v}" for k, v in NEW_SHOPPER.items()) + ")")
    attrs = pd.DataFrame([NEW_SHOPPER])
    frame = recommend_for(model, data, Shopper(user_id="new-household",
                                               attributes=NEW_SHOPPER), k=6)
    console.print(recommendation_table(_with_reasons(model, frame, data, -1, attributes=attrs),
                                       "hybrid recommends (user tower over demographics)"))
    for query in ("organic baby food", "牛奶 和 奶酪"):
        ids, _ = model.search(query, k=5, user=-1, attributes=attrs, personalisation=0.2)
        table = Table(title=f"the same household searches {query!r}", title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("item id")
        table.add_column("product")
        for rank, item in enumerate(ids[ids >= 0], 1):
            table.add_row(str(rank), str(data.items.ids[item]), data.describe_item(int(item)))
        console.print(table)

    console.rule("Brand-new products, known only by their text")
    _new_arrivals(console, model, data)
    if report_dir is not None:
        path = save_evaluation(list(results.values()), report_dir, "coldrec demo")
        console.print(f"\nevaluation saved to {path} (the metrics view of `make serve` "
                      "shows it)")
    console.print(f"\n[dim]demo finished in {time.perf_counter() - start:.0f} s[/]")
    return results
