"""``coldrec demo``: the main job on the built-in Complete Journey dataset.

Loads the data, evaluates the available models on protocol P1 (selection on validation,
refit, one test), refits the winner on all data and shows recommendations — with product
text — for a loyal shopper, a shopper with two purchases and a brand-new shopper known only
by demographics.
"""

from __future__ import annotations

import time

import numpy as np
from rich.console import Console
from rich.table import Table

from coldrec.cli.common import Shopper, recommend_for, recommendation_table
from coldrec.data.builtin import load
from coldrec.data.dataset import Dataset
from coldrec.eval.protocols import make_split
from coldrec.eval.runner import ProtocolResult, run_protocol
from coldrec.models.registry import get_model_spec

__all__ = ["run_demo"]

NEW_SHOPPER = {
    "age": "35-44", "income": "50-74K", "home_ownership": "Homeowner",
    "marital_status": "Married", "household_size": "4", "household_comp": "2 Adults Kids",
    "kids_count": "2",
}


def _candidates(quick: bool) -> list[tuple[str, list[dict]]]:
    knn = [{"similarity": s, "neighbors": k} for s in ("cosine", "bm25")
           for k in ((100,) if quick else (50, 200))]
    return [("popularity", [{}]), ("itemknn", knn)]


def _history(data: Dataset, user: int, n: int = 5) -> list[str]:
    pairs = data.pairs[data.pairs["user"] == user].sort_values("last_timestamp")
    return [data.describe_item(int(i)) for i in pairs["item"].to_numpy()[-n:][::-1]]


def run_demo(console: Console, quick: bool = False) -> dict[str, ProtocolResult]:
    """Run the demo, printing to ``console``; returns the evaluation results."""
    start = time.perf_counter()
    console.rule("[bold]coldrec demo — The Complete Journey (dunnhumby)")
    data = load("completejourney")
    s = data.summary()
    console.print(f"{s['users']:,} households, {s['items']:,} products, "
                  f"{s['events']:,} purchases ({s['interactions']:,} household×product pairs); "
                  f"{s['users_with_attributes']:,} households with demographics.")

    console.rule("Evaluation: protocol P1 (per-household 80/10/10, full ranking)")
    split = make_split(data, "P1")
    results: dict[str, ProtocolResult] = {}
    table = Table(title="test metrics (configuration chosen on validation NDCG@10)")
    for col in ("model", "params", "valid ndcg@10", "recall@10", "ndcg@10", "hit@10",
                "coverage@10", "tail_recall@10", "fit s"):
        table.add_column(col, justify="left" if col in ("model", "params") else "right")
    for name, grid in _candidates(quick):
        spec = get_model_spec(name)
        res = run_protocol(split, "P1", spec.build, grid, ks=[10], model_name=name)
        results[name] = res
        task = res.tasks["test"]
        m = task.metrics
        table.add_row(name, ", ".join(f"{k}={v}" for k, v in task.params.items()) or "–",
                      f"{task.valid:.4f}", f"{m['recall@10']:.4f}", f"{m['ndcg@10']:.4f}",
                      f"{m['hit@10']:.4f}", f"{m['coverage@10']:.4f}",
                      f"{m['tail_recall@10']:.4f}", f"{task.fit_seconds:.1f}")
    console.print(table)
    best_name = max(results, key=lambda n: results[n].tasks["test"].valid)
    best = results[best_name].tasks["test"]
    console.print(f"Best on validation: [bold]{best_name}[/] {best.params} — refitting on all "
                  "purchases. (EASE needs a dense 68k×68k matrix and is left out here.)")

    model = get_model_spec(best_name).build(**best.params).fit(data)
    segment = get_model_spec("segment-popularity").build().fit(data)

    events_per_user = np.bincount(data.events["user"].to_numpy(), minlength=data.n_users)
    loyal = int(np.argmax(events_per_user))
    two = np.flatnonzero(events_per_user == 2)
    occasional = int(two[0]) if len(two) else int(np.argmin(np.where(events_per_user > 0,
                                                                     events_per_user, 10**9)))
    console.rule("Recommendations")
    for label, user in (("a loyal household", loyal), ("a household with two purchases",
                                                       occasional)):
        raw = data.users.ids[user]
        console.print(f"\n[bold]{label}[/] (household {raw}, {events_per_user[user]:,} "
                      "purchases); recently bought:")
        for line in _history(data, user, 3):
            console.print(f"   · {line}")
        frame = recommend_for(model, data, Shopper(user_id=raw), k=8)
        console.print(recommendation_table(frame, f"{best_name} recommends"))

    console.print("\n[bold]a brand-new household[/] (never seen; demographics only: "
                  + ", ".join(f"{k}={v}" for k, v in NEW_SHOPPER.items()) + ")")
    frame = recommend_for(segment, data, Shopper(user_id="new-household",
                                                 attributes=NEW_SHOPPER), k=8)
    console.print(recommendation_table(frame, "segment popularity recommends"))
    console.print(f"\n[dim]demo finished in {time.perf_counter() - start:.0f} s[/]")
    return results
