"""Cold start side by side with peers, written into docs/benchmarks/.

    python benchmarks/coldstart.py                  # everything (hours on 2 cores)
    python benchmarks/coldstart.py --only warm      # about 55 min
    python benchmarks/coldstart.py --only p3-amazon --only p4-ml100k

Tasks: P3 cold items on amazon-scientific (new-arrivals shelf and mixed shelf) with every
text encoder, and (``p3-amazon-combined``) with the three encoders side by side; P4 cold
users on ml-100k (zero-shot, first-1/3/5); P3 and P4 on Complete Journey; warm P1/P2 of the
hybrid (its registry grid, the transfer in kernel form included) against EASE and DLAE (no
regression); encoder throughput.
Peers: TF-IDF content, LightFM with side features (lightfm-next), segment popularity,
implicit ALS with recalculate_user, implicit item-KNN, EASE fold-in. Every model's grid is
searched on validation; the chosen configuration is refit and tested once.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from _common import IMG, stamp, update_section
from coldrec.data import Dataset, load
from coldrec.eval import paired_difference, run_protocol
from coldrec.eval.report import markdown_table
from coldrec.models import MODELS, Recommender
from coldrec.models.registry import KERNEL_RIDGES, expand_grid
from coldrec.text import ENCODERS, get_encoder, item_texts
from peers import LightFMPeer, TfidfContent

Factory = Callable[..., Recommender]
Entry = tuple[str, Factory, list[dict[str, Any]]]

EPOCHS = [5, 10, 15, 20, 25, 30]


def ours(name: str, **fixed: Any) -> tuple[Factory, list[dict[str, Any]]]:
    spec = MODELS[name]
    configs = [{**c, **fixed} for c in spec.configs()]
    unique = {repr(sorted(c.items())): c for c in configs}
    return (lambda **p: spec.build(progress=False, **p) if "progress" in
            spec.cls._param_names() else spec.build(**p)), list(unique.values())


def hybrid_itemknn_only() -> list[dict[str, Any]]:
    """The hybrid grid for catalogues too big for EASE (item-KNN collaborative part)."""
    return expand_grid({"cf": ["itemknn"], "cf_neighbors": [50, 200],
                        "semantic_weight": [0.0, 0.5], "transfer_weight": [0.0, 1.0],
                        "item_trust": [0.0, 5.0], "user_trust": [0.0, 2.0, 10.0],
                        # z-scores over 68k products have a far longer tail than over the
                        # registry's ~4k: new arrivals need a bigger lift to surface
                        "new_item_boost": [0.0, 3.0, 30.0]})


def p3_entries(big: bool = False) -> list[Entry]:
    entries: list[Entry] = [
        ("random", *ours("random")),
        ("tfidf-content (peer)", TfidfContent,
         expand_grid({"ngram_max": [1, 2], "min_df": [1, 2]})),
    ]
    if not big:
        entries.append(("lightfm+item features (peer)", LightFMPeer,
                        expand_grid({"side": ["items"], "identity": [True, False],
                                     "epochs": EPOCHS})))
    encoders = ["use-multilingual"] if big else list(ENCODERS)
    for enc in encoders:
        entries.append((f"content-knn [{enc}]", *ours("content-knn", encoder=enc)))
    if big:
        entries.append(("hybrid [use-multilingual]", ours("hybrid")[0], hybrid_itemknn_only()))
    else:
        for enc in encoders:
            factory, grid = ours("hybrid", encoder=enc)
            # EASE's IPS variants left out (never chosen on P3) to make room for the kernel
            # transfer, tried over the two collaborative parts P3 picks (cold, mixed shelf)
            grid = [c for c in new_arrivals_boosts(embedding_transfer(grid))
                    if c.get("cf_ips", 0.0) == 0.0]
            grid += kernel_transfer([c for c in grid if (c.get("cf"), c.get("cf_lam"))
                                     in (("ease", 50), ("dlae", 100))])
            entries.append((f"hybrid [{enc}]", factory, grid))
    return entries


def kernel_transfer(base: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``base``'s configs that use the transfer, in kernel form over sentence-encoder +
    TF-IDF similarity (``transfer_kernel="text"``: it reads the words too), at the ridges new
    arrivals want (``KERNEL_RIDGES["cold"]``), with and without the plain TF-IDF cosine
    beside it. Grouped by fit, as ``base`` is."""
    lam, drop, out = KERNEL_RIDGES["cold"]
    return [{**c, "transfer_kernel": "text", "transfer_lam": lam, "transfer_dropout": drop,
             "transfer_lam_out": out, "lexical_weight": lw}
            for c in base if c.get("transfer_weight", 0.0) > 0 for lw in (0.0, 1.0)]


def embedding_transfer(grid: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``grid`` without the registry's kernel-transfer configs. P3 tries the kernel form
    with its own configs: the cold ridges over the two collaborative parts it picks, with
    and without the TF-IDF cosine (the registry's warm ridges lose on new arrivals)."""
    return [c for c in grid if "transfer_kernel" not in c]


def new_arrivals_boosts(grid: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """P3's hybrid grid: the registry's negative new-item boost (it keeps never-bought
    products off warm lists, i.e. buries the new arrivals P3 is about) swapped for a large
    positive one (a shelf that leads with new arrivals), as on Complete Journey. Order, and
    so the grouping by fit, is kept."""
    return [{**c, "new_item_boost": 30.0} if c.get("new_item_boost", 0.0) < 0 else c
            for c in grid]


def p3_combined_entries() -> list[Entry]:
    """The hybrid over all three encoders side by side, with the TF-IDF peer in the same run.

    The output ridge of the text → collaborative map is searched too (a wider text space
    wants less of it), and so is its kernel form over sentence-encoder + TF-IDF similarity
    (``transfer_kernel="text"``, alone or beside the TF-IDF cosine; its ridges fixed at the
    values the nested valid-cold split preferred in a wider search); the collaborative part
    without EASE's IPS variants and item-KNN, to keep the run short (the cold shelf does not
    depend on it; the mixed shelf has picked DLAE).
    """
    combined = "+".join(ENCODERS)
    factory, grid = ours("hybrid", encoder=combined)
    base = [c for c in new_arrivals_boosts(embedding_transfer(grid))
            if c.get("cf") in ("ease", "dlae") and c.get("cf_ips", 0.0) == 0.0]
    grid = [{**c, "transfer_lam_out": out} for out in (3.0, 10.0) for c in base]  # by fit
    grid += kernel_transfer(base)
    return [("tfidf-content (peer)", TfidfContent,
             expand_grid({"ngram_max": [1, 2], "min_df": [1, 2]})),
            (f"hybrid [{combined}]", factory, grid)]


def p4_entries(big: bool = False) -> list[Entry]:
    entries: list[Entry] = [
        ("popularity", *ours("popularity")),
        ("segment-popularity", *ours("segment-popularity")),
        ("implicit ALS + recalculate_user (peer)", *ours("als")),
        ("implicit item-KNN fold-in (peer)", *ours("itemknn")),
    ]
    if not big:
        entries.append(("EASE fold-in (peer)", *ours("ease")))
        entries.append(("lightfm+user features (peer)", LightFMPeer,
                        expand_grid({"side": ["users"], "identity": [True, False],
                                     "epochs": EPOCHS})))
        # the user tower is a fit-time choice: the plain attribute tower or the one trained
        # on simulated new shoppers (first 0/1/3/5 clicks revealed); each task picks on valid
        factory, grid = ours("hybrid")
        entries.append(("hybrid", factory, [{**c, "tower": t} for c in grid
                                            for t in ("attributes", "cold-start")]))
    else:
        entries.append(("hybrid", ours("hybrid")[0], hybrid_itemknn_only()))
    return entries


def run_entries(data: Dataset, protocol: str, entries: Sequence[Entry], ks: Sequence[int],
                ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    results = {}
    for label, factory, grid in entries:
        start = time.perf_counter()
        try:
            res = run_protocol(data, protocol, factory, grid, ks, model_name=label)
        except Exception as exc:  # a peer that cannot run is reported, not fatal
            print(f"{data.name} {protocol} {label}: FAILED {exc!r}", flush=True)
            rows.append({"model": label, "task": "–", "params (chosen on valid)":
                         f"failed: {type(exc).__name__}: {exc}"})
            continue
        print(f"{data.name} {protocol} {label}: {time.perf_counter() - start:.0f} s",
              flush=True)
        results[label] = res
        for task, tr in res.tasks.items():
            row: dict[str, Any] = {"model": label, "task": task,
                                   "params (chosen on valid)": ", ".join(
                                       f"{k}={v}" for k, v in tr.params.items()) or "–",
                                   f"valid {res.selection_metric}": tr.valid}
            for metric in ("recall", "ndcg", "coverage", "cold_share"):
                for k in ks:
                    if f"{metric}@{k}" in tr.metrics:
                        row[f"{metric}@{k}"] = tr.metrics[f"{metric}@{k}"]
            row["fit s"] = round(tr.fit_seconds, 2)
            row["configs"] = res.configs
            rows.append(row)
    return rows, results


def tables_by_task(rows: list[dict[str, Any]]) -> str:
    parts = []
    for task in dict.fromkeys(r["task"] for r in rows if r["task"] != "–"):
        group = [{k: v for k, v in r.items() if k != "task"} for r in rows if r["task"] == task]
        bold = [c for c in group[0] if c.startswith(("recall@", "ndcg@"))]
        parts.append(f"Task `{task}`:\n\n{markdown_table(group, bold_max=bold)}\n")
    failed = [r for r in rows if r["task"] == "–"]
    for r in failed:
        parts.append(f"- {r['model']}: {r['params (chosen on valid)']}\n")
    return "\n".join(parts)


def target_lines(results: dict[str, Any], checks: list[tuple[str, str, str, float]]) -> str:
    """The issue's targets: ours against the bar, with the test figure's sampling noise.

    "95 % CI" is the bootstrap interval over the task's test users. The last column
    compares the hybrid with the best other model of this run on the same users (paired
    bootstrap interval of the difference, paired t-test p).
    """
    lines = ["| task | metric | hybrid | 95 % CI | target | met | vs best other model here "
             "(paired 95 % CI, p) |", "|---|---|---:|---|---:|---|---|"]
    model = next((k for k in results if k.startswith("hybrid")), None)
    for task, metric, label, bar in checks:
        if model is None:
            lines.append(f"| {task} | {metric} | – | – | {label} = {bar:.4f} | **no** | – |")
            continue
        ours_task = results[model].tasks[task]
        value = ours_task.metrics[metric]
        low, high = ours_task.ci95[metric]
        met = "yes" if value >= bar else \
            "**no** (bar inside the CI)" if low <= bar <= high else "**no**"
        others = {name: res.tasks[task] for name, res in results.items()
                  if name != model and task in res.tasks}
        versus = "–"
        if others:
            name, best = max(others.items(), key=lambda kv: kv[1].metrics[metric])
            d = paired_difference(ours_task.per_user[metric], best.per_user[metric])
            versus = (f"{name} {best.metrics[metric]:.4f}: {d.mean:+.4f} "
                      f"[{d.low:+.4f}, {d.high:+.4f}], p={d.p_value:.2g}")
        lines.append(f"| {task} | {metric} | {value:.4f} | [{low:.4f}, {high:.4f}] | "
                     f"{label} = {bar:.4f} | {met} | {versus} |")
    return "\n".join(lines)


P3_TARGETS = [("cold-shelf", "ndcg@20", "1.25 × TF-IDF 0.1699", 1.25 * 0.1699),
              ("cold-shelf", "recall@20", "1.15 × TF-IDF 0.2748", 1.15 * 0.2748)]
P4_TARGETS = [("zero-shot", "ndcg@20", "segment popularity", 0.500),
              ("zero-shot", "recall@20", "1.05 × 0.131", 1.05 * 0.131),
              ("first-1", "ndcg@20", "1.03 × 0.482", 1.03 * 0.482),
              ("first-3", "ndcg@20", "1.03 × 0.458", 1.03 * 0.458),
              ("first-5", "ndcg@20", "1.03 × 0.446", 1.03 * 0.446),
              ("first-1", "recall@20", "1.05 × 0.126", 1.05 * 0.126),
              ("first-3", "recall@20", "1.05 × 0.143", 1.05 * 0.143),
              ("first-5", "recall@20", "1.05 × 0.142", 1.05 * 0.142)]


def bar_chart(results: dict[str, Any], metric: str, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(results)
    tasks = list(next(iter(results.values())).tasks)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(tasks) * len(labels) / 3), 3.8),
                           dpi=110)
    width = 0.8 / len(labels)
    for i, label in enumerate(labels):
        vals = [results[label].tasks[t].metrics.get(metric, 0.0) for t in tasks]
        ax.bar(np.arange(len(tasks)) + i * width, vals, width, label=label)
    ax.set_xticks(np.arange(len(tasks)) + 0.4 - width / 2, tasks)
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1),
              frameon=False)
    fig.tight_layout()
    fig.savefig(IMG / path)
    plt.close(fig)


def section(name: str, title: str, data: Dataset, protocol: str, entries: list[Entry],
            ks: list[int], targets: list[tuple[str, str, str, float]] | None,
            chart_metric: str) -> None:
    rows, results = run_entries(data, protocol, entries, ks)
    body = [f"### {title}\n"]
    if targets:
        body.append("Targets of the cold-start issue (test split, chosen on validation):\n")
        body.append(target_lines(results, targets) + "\n")
    chart = f"coldstart-{name}.png"
    bar_chart(results, chart_metric, chart, title)
    body.append(f"![{title}](../img/{chart})\n")
    body.append(tables_by_task(rows))
    update_section(f"coldstart-{name}", "\n".join(body) + "\n" + stamp())


def warm_no_regression() -> None:
    rows = []
    for dataset, protocol in (("ml-100k", "P1"), ("amazon-scientific", "P2")):
        data = load(dataset)
        for label in ("ease", "dlae", "hybrid"):
            factory, grid = ours(label)
            res = run_protocol(data, protocol, factory, grid, [10, 20], model_name=label)
            tr = res.tasks["test"]
            rows.append({"dataset": dataset, "protocol": protocol, "model": label,
                         "params": ", ".join(f"{k}={v}" for k, v in tr.params.items()),
                         "valid ndcg@10": tr.valid, "recall@10": tr.metrics["recall@10"],
                         "ndcg@10": tr.metrics["ndcg@10"], "ndcg@20": tr.metrics["ndcg@20"],
                         "fit s": round(tr.fit_seconds, 2)})
            print(f"warm {dataset} {label}: ndcg@10 {tr.metrics['ndcg@10']:.4f}", flush=True)
    update_section("coldstart-warm", "### Warm users: the hybrid against pure collaborative "
                   "filtering\n\n" + markdown_table(rows) + "\n\n" + stamp())


def throughput(repeats: int = 3, n: int = 256) -> None:
    data = load("amazon-scientific")
    texts = item_texts(data)[:n]
    rows = []
    for name in ENCODERS:
        enc = get_encoder(name)
        enc.encode(texts[:4])  # load weights before timing
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            enc.encode(texts)
            times.append(time.perf_counter() - start)
        med = float(np.median(times))
        rows.append({"encoder": name, "dim": enc.dim, "texts/s (median)": round(n / med, 1),
                     "min s": round(min(times), 2), "median s": round(med, 2),
                     "max s": round(max(times), 2)})
        print(f"throughput {name}: {n / med:.0f} texts/s", flush=True)
    mean_len = float(np.mean([len(t) for t in texts]))
    update_section("coldstart-throughput",
                   f"### Text encoder throughput\n\n{n} amazon-scientific product texts "
                   f"(title, brand, category, price band, description ≤ 300 chars; mean "
                   f"{mean_len:.0f} characters), encoded without cache, {repeats} runs each; "
                   "cached re-runs encode nothing.\n\n" + markdown_table(rows) + "\n\n"
                   + stamp())


def fold_in_latency(n_users: int = 50) -> None:
    """Milliseconds to answer a brand-new shopper with three clicks (no retraining)."""
    import scipy.sparse as sp

    from coldrec.models import Hybrid

    rows = []
    for dataset, params in (("ml-100k", {"cf": "ease", "cf_lam": 500.0}),
                            ("completejourney", {"cf": "itemknn", "cf_neighbors": 100})):
        data = load(dataset)
        model = Hybrid(progress=False, user_trust=2.0, item_trust=5.0, **params).fit(data)
        rng = np.random.default_rng(0)
        times = []
        for _ in range(n_users):
            clicks = rng.choice(np.flatnonzero(data.item_counts > 0), size=3, replace=False)
            hist = sp.csr_matrix((np.ones(3, np.float32), (np.zeros(3, int), clicks)),
                                 shape=(1, data.n_items))
            start = time.perf_counter()
            model.recommend([-1], k=10, history=hist)
            times.append(1000 * (time.perf_counter() - start))
        rows.append({"dataset": dataset, "items": data.n_items,
                     "median ms": round(float(np.median(times)), 1),
                     "p95 ms": round(float(np.percentile(times, 95)), 1)})
        print(f"fold-in {dataset}: {np.median(times):.1f} ms", flush=True)
    update_section("coldstart-latency",
                   "### Fold-in of a new shopper's first clicks\n\nA shopper unknown to the "
                   f"model with 3 clicks, top-10 from the full catalogue ({n_users} shoppers, "
                   "one at a time, hybrid, no retraining):\n\n"
                   + markdown_table(rows) + "\n\n" + stamp())


JOBS = ("p3-amazon", "p3-amazon-combined", "p4-ml100k", "p3-cj", "p4-cj", "warm", "throughput",
        "latency")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=JOBS)
    args = parser.parse_args()
    jobs = args.only or list(JOBS)
    if "p3-amazon" in jobs:
        section("p3-amazon", "P3 cold items — amazon-scientific", load("amazon-scientific"),
                "P3", p3_entries(), [20], P3_TARGETS, "ndcg@20")
    if "p3-amazon-combined" in jobs:
        section("p3-amazon-combined", "P3 cold items — amazon-scientific, three encoders "
                "combined", load("amazon-scientific"), "P3", p3_combined_entries(), [20],
                P3_TARGETS, "ndcg@20")
    if "p4-ml100k" in jobs:
        section("p4-ml100k", "P4 cold users — ml-100k", load("ml-100k"), "P4",
                p4_entries(), [20], P4_TARGETS, "ndcg@20")
    if "p3-cj" in jobs or "p4-cj" in jobs:
        cj = load("completejourney")
        if "p3-cj" in jobs:
            section("p3-cj", "P3 cold items — Complete Journey", cj, "P3",
                    p3_entries(big=True), [20], None, "ndcg@20")
        if "p4-cj" in jobs:
            section("p4-cj", "P4 cold users — Complete Journey", cj, "P4",
                    p4_entries(big=True), [20], None, "ndcg@20")
    if "warm" in jobs:
        warm_no_regression()
    if "throughput" in jobs:
        throughput()
    if "latency" in jobs:
        fold_in_latency()


if __name__ == "__main__":
    main()
