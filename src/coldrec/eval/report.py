"""Human-facing reports: dataset statistics, long-tail curve, metric tables, markdown."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from coldrec.data.dataset import Dataset
from coldrec.eval.metrics import head_items
from coldrec.eval.runner import ProtocolResult

__all__ = [
    "dataset_stats",
    "markdown_table",
    "plot_long_tail",
    "result_rows",
]

HEADLINE = ("recall", "ndcg", "hit", "coverage", "gini", "avg_pop", "tail_recall", "cold_share")


def dataset_stats(data: Dataset) -> dict[str, Any]:
    """Counts, sparsity, long-tail shape and cold-start shares of a dataset."""
    counts = np.sort(data.item_counts)[::-1]
    total = max(1, counts.sum())
    n_items = len(counts)
    head = head_items(data.item_counts)
    user_counts = data.user_counts
    stats: dict[str, Any] = dict(data.summary())
    stats.update({
        "interactions_per_user_median": float(np.median(user_counts)),
        "interactions_per_item_median": float(np.median(data.item_counts)),
        "head_share_of_interactions": float(data.item_counts[head].sum() / total),
        # the long-tail curve in four points: share of interactions on the top x % of items
        **{f"top{p}pct_share_of_interactions":
           float(counts[: max(1, round(n_items * p / 100))].sum() / total)
           for p in (1, 5, 20, 50)},
        "items_without_interactions": float(np.mean(data.item_counts == 0)),
        "items_with_at_most_3": float(np.mean(data.item_counts <= 3)),
        "users_without_interactions": float(np.mean(user_counts == 0)),
        "users_with_at_most_2": float(np.mean(user_counts <= 2)),
    })
    return stats


def plot_long_tail(data: Dataset, path: str | Path, title: str | None = None) -> Path:
    """Save the item popularity curve (sorted counts, log scale, head/tail split) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.sort(data.item_counts)[::-1]
    n_head = int(head_items(data.item_counts).sum())
    x = np.arange(1, len(counts) + 1)
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    head_share = counts[:n_head].sum() / max(1, counts.sum())
    ax.fill_between(x[:n_head], np.maximum(counts[:n_head], 0.8), 0.8, color="#c0392b",
                    alpha=0.7, label=f"head (top 20 %: {head_share:.0%} of interactions)")
    ax.fill_between(x[n_head:], np.maximum(counts[n_head:], 0.8), 0.8, color="#2980b9",
                    alpha=0.7, label="tail (other 80 % of items)")
    ax.set_yscale("log")
    ax.set_xlabel("items, by popularity rank")
    ax.set_ylabel("users who interacted")
    ax.set_title(title or f"Long tail — {data.name}")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def result_rows(result: ProtocolResult, ks: Sequence[int]) -> list[dict[str, Any]]:
    """One flat row per test task: model, task, params, valid score, metrics, seconds."""
    rows = []
    for name, task in result.tasks.items():
        row: dict[str, Any] = {"model": result.model, "task": name,
                               "params": ", ".join(f"{k}={v}" for k, v in task.params.items())
                               or "–",
                               f"valid {result.selection_metric}": task.valid}
        for metric in HEADLINE:
            for k in ks:
                key = f"{metric}@{k}"
                if key in task.metrics:
                    row[key] = task.metrics[key]
        row["fit s"] = task.fit_seconds
        row["eval s"] = task.eval_seconds
        rows.append(row)
    return rows


def _fmt(value: Any, column: str = "") -> str:
    if isinstance(value, float):
        if column.endswith(" s"):  # seconds
            return f"{value:.2f}"
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]], bold_max: Sequence[str] = ()) -> str:
    """A GitHub markdown table of ``rows`` (union of keys, in first-seen order)."""
    if not rows:
        return ""
    cols: list[str] = []
    for row in rows:
        cols.extend(c for c in row if c not in cols)
    best = {c: max((r[c] for r in rows if isinstance(r.get(c), float)), default=None)
            for c in bold_max}
    lines = ["| " + " | ".join(cols) + " |",
             "|" + "|".join("---:" if isinstance(rows[0].get(c), float | int) else "---"
                            for c in cols) + "|"]
    for row in rows:
        cells = []
        for c in cols:
            val = row.get(c, "")
            text = _fmt(val, c)
            if c in best and best[c] and val == best[c]:
                text = f"**{text}**"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
