"""Edge helpers shared by CLI commands: raw ids in, readable recommendations out."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from rich.console import Console
from rich.table import Table

from coldrec.data.dataset import Dataset
from coldrec.errors import ConfigError
from coldrec.eval.runner import ProtocolResult
from coldrec.models.base import Recommender
from coldrec.models.ensemble import member_names
from coldrec.models.registry import ModelSpec, ensemble_weights
from coldrec.pipeline import ListRequest, Pipeline, RankedLists
from coldrec.rerank import BusinessFilter, Reranker

__all__ = ["Shopper", "parse_ks", "parse_params", "pipeline_for", "recommend_for",
           "recommendation_table", "search_for", "shopper_request"]


def parse_ks(text: str) -> list[int]:
    """``"10,20"`` → ``[10, 20]`` (each ≥ 1)."""
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise ConfigError(f"--k must be comma-separated integers, not {text!r}") from exc
    if not ks or ks[0] < 1:
        raise ConfigError(f"--k needs positive cut-offs, not {text!r}")
    return ks


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """``["lam=500", "similarity=bm25"]`` → ``{"lam": 500, "similarity": "bm25"}``."""
    out: dict[str, Any] = {}
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ConfigError(f"parameters are NAME=VALUE, not {part!r}")
            key, value = part.split("=", 1)
            out[key.strip()] = _value(value.strip())
    return out


def grid_with(spec: ModelSpec, fixed: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The model's grid with the ``fixed`` parameters pinned (their axes removed)."""
    valid = set(spec.cls._param_names())
    unknown = sorted(set(fixed) - valid)
    if unknown:
        raise ConfigError(f"{spec.name} has no parameter {', '.join(unknown)}; "
                          f"valid: {', '.join(sorted(valid))}")
    configs = spec.configs()
    members = fixed.get("members")
    if spec.name == "ensemble" and members is not None and "weights" not in fixed:
        # the blend grid has one weight per member
        configs = [{"weights": w} for w in ensemble_weights(len(member_names(members)))]
    unique: dict[str, dict[str, Any]] = {}
    for cfg in configs:
        merged = {**cfg, **fixed}
        unique.setdefault(json.dumps(merged, sort_keys=True, default=str), merged)
    return list(unique.values())


@dataclass
class Shopper:
    """A shopper as the shop knows them: an id (maybe new), attributes, recent items."""

    user_id: Any = None
    attributes: Mapping[str, Any] | None = None
    items: Sequence[Any] = ()


def shopper_request(data: Dataset, shopper: Shopper, k: int = 10, *,
                    rerank: Reranker | None = None,
                    filters: BusinessFilter | None = None) -> ListRequest:
    """The pipeline request of one shopper given by raw ids (unknown ids are new shoppers;
    unknown item ids are left out)."""
    user = data.users.lookup([shopper.user_id], unknown="unknown") \
        if shopper.user_id is not None else np.asarray([-1])
    history = None
    if shopper.items:
        idx = data.items.lookup(list(shopper.items), unknown="drop")
        history = sp.csr_matrix((np.ones(len(idx), np.float32), (np.zeros(len(idx), int), idx)),
                                shape=(1, data.n_items))
    attributes = pd.DataFrame([dict(shopper.attributes)]) if shopper.attributes else None
    return ListRequest(user, k=k, history=history, attributes=attributes, rerank=rerank,
                       filters=filters, explain=True, shop_rules=True)


def pipeline_for(model: Recommender, data: Dataset, encoder: str | None = None) -> Pipeline:
    """The recommendation pipeline of ``model`` on ``data``; a model without text vectors
    borrows the catalogue's (encoded on first use, for diversity re-ranking)."""
    return Pipeline.for_dataset(model, data, encoder=encoder)


def recommend_for(model: Recommender, data: Dataset, shopper: Shopper, k: int = 10, *,
                  rerank: Reranker | None = None, filters: BusinessFilter | None = None,
                  encoder: str | None = None) -> pd.DataFrame:
    """Top-``k`` for one shopper with raw ids, through the pipeline; unknown ids get
    cold-start answers."""
    request = shopper_request(data, shopper, k, rerank=rerank, filters=filters)
    return _frame(data, pipeline_for(model, data, encoder).run(request))


def metrics_table(result: ProtocolResult, ks: Sequence[int]) -> Table:
    """Metrics as rows, one column per (task, k); chosen parameters and seconds on top."""
    table = Table(title=f"{result.protocol} on {result.dataset}: {result.model} "
                        f"({result.configs} configs, selected by valid "
                        f"{result.selection_metric})", title_justify="left")
    table.add_column("")
    columns = [(name, k) for name in result.tasks for k in ks]
    for name, k in columns:
        table.add_column(f"{name} @{k}" if len(result.tasks) > 1 else f"@{k}", justify="right")
    per_task = {name: t for name, t in result.tasks.items()}
    table.caption = "chosen on validation: " + "; ".join(
        f"{n}: " + (", ".join(f"{p}={v}" for p, v in t.params.items()) or "–")
        for n, t in per_task.items())
    table.caption_justify = "left"
    table.add_row(f"valid {result.selection_metric}",
                  *[f"{per_task[n].valid:.4f}" for n, _ in columns])
    for metric in ("recall", "ndcg", "hit", "precision", "mrr", "map", "coverage", "gini",
                   "avg_pop", "tail_share", "tail_recall", "ild", "cold_share"):
        cells = [per_task[n].metrics.get(f"{metric}@{k}") for n, k in columns]
        if any(c is not None for c in cells):
            table.add_row(metric, *["–" if c is None else f"{c:.4f}" for c in cells])
    for metric in ("recall", "ndcg"):  # how far another draw of test users could move them
        ci = [per_task[n].ci95.get(f"{metric}@{k}") for n, k in columns]
        if any(c is not None for c in ci):
            table.add_row(f"{metric} 95 % CI", *["–" if c is None else f"{c[0]:.4f}–{c[1]:.4f}"
                                                for c in ci])
    table.add_row("fit s", *[f"{per_task[n].fit_seconds:.2f}" for n, _ in columns])
    table.add_row("eval s", *[f"{per_task[n].eval_seconds:.2f}" for n, _ in columns])
    table.add_row("users", *[str(per_task[n].metrics.get("users", 0)) for n, _ in columns])
    return table


def search_for(model: Recommender, data: Dataset, query: str, *, user_id: Any = None,
               k: int = 10, filters: BusinessFilter | None = None) -> pd.DataFrame:
    """Products for a text query with raw ids, through the pipeline; personalised when
    ``user_id`` is a known shopper."""
    request = shopper_request(data, Shopper(user_id), k, filters=filters)
    request.query = query
    return _frame(data, pipeline_for(model, data).run(request))


def _frame(data: Dataset, lists: RankedLists) -> pd.DataFrame:
    items, scores, reasons = lists.row(0)
    return pd.DataFrame({
        "rank": np.arange(1, len(items) + 1),
        "item_id": data.items.raw(items),
        "score": scores,
        "product": [data.describe_item(int(i)) for i in items],
        "reason": reasons,
    })


def recommendation_table(frame: pd.DataFrame, title: str) -> Table:
    """A rich table of :func:`recommend_for` output."""
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("item id")
    table.add_column("product")
    table.add_column("score", justify="right")
    table.add_column("why")
    for row in frame.itertuples(index=False):
        table.add_row(str(row.rank), str(row.item_id), row.product, f"{row.score:.3g}",
                      row.reason)
    return table


# Reports are wide; when the output is not a terminal (a pipe, a CI log) use 120 columns.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True)
