"""Baselines on every protocol, written into docs/benchmarks/.

    python benchmarks/protocols.py            # all datasets (a few minutes on 2 cores)
    python benchmarks/protocols.py --only ml-100k --only amazon-scientific

ml-100k: P1 and P4; amazon-scientific: P2 and P3; Complete Journey: P1 and P5. Each model's
grid is searched on validation, the winner refit and tested once (coldrec.eval.run_protocol).
Also measures full-ranking evaluation speed (10,000 users × 50,000 items, a 64-factor model)
and draws each dataset's long-tail curve.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from _common import IMG, stamp, update_section
from coldrec.data import Dataset, load, shared_datasets_dir
from coldrec.eval import EvalTask, evaluate_task, run_protocol
from coldrec.eval.report import markdown_table, plot_long_tail
from coldrec.models import MODELS, Recommender

PLAN: dict[str, list[tuple[str, list[str], list[int]]]] = {
    "ml-100k": [("P1", ["random", "popularity", "segment-popularity", "itemknn", "ease"], [10]),
                ("P4", ["random", "popularity", "segment-popularity", "itemknn", "ease"], [20])],
    "amazon-scientific": [("P2", ["random", "popularity", "itemknn", "ease"], [10, 20]),
                          ("P3", ["random", "popularity", "itemknn"], [20])],
    "completejourney": [("P1", ["random", "popularity", "segment-popularity", "itemknn"], [10]),
                        ("P5", ["random", "popularity", "segment-popularity", "itemknn"],
                         [10])],
}

NOT_RUN = {
    "completejourney": "EASE is not run on Complete Journey: 68,509 items need a dense "
                       "68,509² matrix (35 GiB in float64) — over this machine's 24 GiB.",
}

#: the numbers to beat, from ../shared/benchmarks/PEERS.md (test split, same protocol)
PEER_BAR = {
    ("ml-100k", "P1"): "EASE λ=500: Recall@10 0.2764, NDCG@10 0.3508, Coverage@10 0.2140, "
                       "TailRecall@10 0.0081 · implicit BPR-wide: TailRecall@10 0.0796, "
                       "Coverage@10 0.5226 at NDCG@10 0.2439",
    ("ml-100k", "P4"): "zero-shot: segment popularity NDCG@20 0.4998 / Recall@20 0.1309; "
                       "first-1/3/5 best NDCG@20 0.482 / 0.458 / 0.446, best Recall@20 "
                       "0.126 / 0.143 / 0.142",
    ("amazon-scientific", "P2"): "EASE λ=50: Recall@10 0.1155, NDCG@10 0.0789, Recall@20 "
                                 "0.1431, NDCG@20 0.0859",
    ("amazon-scientific", "P3"): "tfidf-content: Recall@20 0.2748, NDCG@20 0.1699; "
                                 "random 0.0231 / 0.0095",
}

COLUMNS = ("recall", "ndcg", "hit", "coverage", "gini", "tail_recall", "cold_share")


def rows_for(result: Any, ks: Sequence[int]) -> list[dict[str, Any]]:
    rows = []
    for task_name, task in result.tasks.items():
        row: dict[str, Any] = {"model": result.model}
        if len(result.tasks) > 1:
            row["task"] = task_name
        row["params (chosen on valid)"] = ", ".join(
            f"{k}={v}" for k, v in task.params.items()) or "–"
        row[f"valid {result.selection_metric}"] = task.valid
        for metric in COLUMNS:
            for k in ks:
                if f"{metric}@{k}" in task.metrics:
                    row[f"{metric}@{k}"] = task.metrics[f"{metric}@{k}"]
        row["fit s"] = round(task.fit_seconds, 2)
        row["configs"] = result.configs
        rows.append(row)
    return rows


def run_dataset(name: str, data: Dataset) -> str:
    parts = [f"### {name}\n", f"{data.n_users:,} users, {data.n_items:,} items, "
             f"{data.n_interactions:,} (user, item) pairs. Long tail: "
             f"![long tail of {name}](../img/longtail-{name}.png)\n"]
    plot_long_tail(data, IMG / f"longtail-{name}.png")
    for protocol, model_names, ks in PLAN[name]:
        rows: list[dict[str, Any]] = []
        for model_name in model_names:
            spec = MODELS[model_name]
            start = time.perf_counter()
            result = run_protocol(data, protocol, spec.build, spec.configs(), ks,
                                  model_name=model_name)
            print(f"{name} {protocol} {model_name}: {time.perf_counter() - start:.1f} s",
                  flush=True)
            rows.extend(rows_for(result, ks))
        bold = [c for c in rows[0] if "@" in c and not c.startswith(("gini", "valid"))]
        parts.append(f"#### {protocol} — {name}\n")
        if (name, protocol) in PEER_BAR:
            parts.append(f"Peer bar (PEERS.md): {PEER_BAR[(name, protocol)]}.\n")
        for task in dict.fromkeys(r.get("task") for r in rows):
            group = [{k: v for k, v in r.items() if k != "task"} for r in rows
                     if r.get("task") == task]
            if task is not None:
                parts.append(f"Task `{task}`:\n")
            parts.append(markdown_table(group, bold_max=bold) + "\n")
    if name in NOT_RUN:
        parts.append(f"_{NOT_RUN[name]}_\n")
    return "\n".join(parts)


class RandomFactors(Recommender):
    """A factor model with random factors: only here to time the evaluator."""

    name: ClassVar[str] = "random-factors"

    def __init__(self, factors: int = 64, random_state: int = 0) -> None:
        self.factors = factors
        self.random_state = random_state

    def _fit(self, data: Dataset) -> None:
        rng = np.random.default_rng(self.random_state)
        self.user_factors_ = rng.standard_normal((data.n_users, self.factors), np.float32)
        self.item_factors_ = rng.standard_normal((data.n_items, self.factors), np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        known = (users >= 0) & (users < self.n_users_)
        return self.user_factors_[np.where(known, users, 0)] @ self.item_factors_.T


def eval_speed(repeats: int = 3) -> str:
    n_users, n_items, per_user = 10_000, 50_000, 25
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(n_users), per_user)
    items = rng.integers(0, n_items, size=len(users))
    events = pd.DataFrame({"user_id": users, "item_id": items})
    data = Dataset.from_frames(events, keep_events=False)
    pairs = data.pairs
    is_test = rng.random(len(pairs)) < 0.2
    train = data.with_pairs(pairs[~is_test])
    test = pairs[is_test]
    truth = sp.csr_matrix((np.ones(len(test), np.float32),
                           (test["user"].to_numpy(), test["item"].to_numpy())),
                          shape=(data.n_users, data.n_items))
    task = EvalTask("test", np.arange(data.n_users), truth)
    model = RandomFactors().fit(train)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        metrics = evaluate_task(model, task, [10, 20], train)
        times.append(time.perf_counter() - start)
    med = float(np.median(times))
    print(f"evaluation speed: median {med:.2f} s over {repeats} runs", flush=True)
    return (f"Full-ranking evaluation of {n_users:,} users over {n_items:,} items (64-factor "
            f"model, {train.n_interactions:,} training pairs excluded, metrics at 10 and 20, "
            f"{metrics['users']:,} users with truth): **median {med:.2f} s** over {repeats} "
            f"runs (min {min(times):.2f}, max {max(times):.2f}); target < 10 s.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=list(PLAN),
                        help="run only these datasets (repeatable)")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    names = args.only or list(PLAN)
    if shared_datasets_dir() is None:
        names = [n for n in names if n == "completejourney"]
        print("../shared/datasets not found: running Complete Journey only")
    for name in names:
        body = run_dataset(name, load(name))
        update_section(f"protocols-{name}", f"{body}\n{stamp()}")
    if not args.skip_speed:
        update_section("eval-speed", "## Evaluation speed\n\n" + eval_speed() + "\n" + stamp())


if __name__ == "__main__":
    main()
