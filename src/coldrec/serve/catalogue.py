"""What the demo page and the metrics view read from a live model: products, catalogue
pages, categories, profile fields, the newest products and the long-tail curve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from coldrec.serve.live import LiveModel

__all__ = ["attribute_choices", "catalog_page", "categories", "describe", "longtail",
           "newest"]


def describe(live: LiveModel, idx: int) -> dict[str, Any]:
    """Id, title, category, brand and price of a product (None where unknown); a copy of
    what the live model keeps per product."""
    found = live.shown.get(idx)
    if found is None:
        found = live.shown[idx] = _describe(live, idx)
    return dict(found)


def _describe(live: LiveModel, idx: int) -> dict[str, Any]:
    out: dict[str, Any] = {"item_id": live.item_ids[idx]}
    for col in ("title", "category", "brand", "price"):
        value = None
        if live.catalog is not None and col in live.catalog.columns:
            value = live.catalog[col].get(idx)
            value = None if value is None or pd.isna(value) else value
        out[col] = float(value) if col == "price" and value is not None else \
            (None if value is None else str(value))
    return out


def newest(live: LiveModel, n: int) -> np.ndarray:
    """The ``n`` products first seen most recently (live additions first), by index."""
    n = min(n, len(live.arrival))
    return np.sort(np.argsort(-live.arrival, kind="stable")[:n])


def catalog_page(live: LiveModel, offset: int = 0, limit: int = 24,
                 category: str | None = None, contains: str | None = None
                 ) -> tuple[int, list[dict[str, Any]]]:
    """A page of the catalogue (newest products first), optionally one category's products
    or those whose title contains a phrase; returns (total, page)."""
    order = np.argsort(-live.arrival, kind="stable")
    cat = live.catalog
    if cat is not None:
        keep = np.ones(len(live.item_ids), dtype=bool)
        if category and "category" in cat.columns:
            col = cat["category"].reindex(range(len(keep))).astype("string")
            keep &= col.str.startswith(category).fillna(False).to_numpy(dtype=bool)
        if contains and "title" in cat.columns:
            col = cat["title"].reindex(range(len(keep))).astype("string")
            keep &= col.str.contains(contains, case=False, regex=False) \
                .fillna(False).to_numpy(dtype=bool)
        order = order[keep[order]]
    page = order[offset:offset + limit]
    return len(order), [describe(live, int(i)) for i in page]


def categories(live: LiveModel, depth: int = 2) -> list[str]:
    """Distinct category paths cut at 1 … ``depth`` levels (``A > B > C`` → ``A``,
    ``A > B``), sorted so each department precedes its aisles."""
    cat = live.catalog
    if cat is None or "category" not in cat.columns:
        return []
    parts = cat["category"].dropna().astype(str).str.split(" > ")
    paths = set()
    for level in range(1, depth + 1):
        paths |= set(parts.str[:level].str.join(" > "))
    return sorted(paths)


def attribute_choices(live: LiveModel, most: int = 12) -> dict[str, list[str]]:
    """Profile fields of the training shoppers with their most common values."""
    users = live.data.user_attributes
    if users is None:
        return {}
    out = {}
    for col in users.columns:
        values = users[col].dropna().astype(str)
        if len(values):
            out[str(col)] = [str(v) for v in values.value_counts().index[:most]]
    return out


def longtail(live: LiveModel, exposure: Mapping[str, int], points: int = 50) -> dict[str, Any]:
    """The long-tail curve: products by training popularity (most popular first) against
    the cumulative share of purchases they hold and of the recommendations served; plus
    catalogue coverage of what has been served."""
    counts = live.item_counts
    served_per_item = np.asarray([exposure.get(x, 0) for x in live.item_ids], float)
    order = np.argsort(-counts, kind="stable")
    n = len(order)
    marks = np.unique(np.linspace(0, n, points + 1).round().astype(int))[1:]

    def curve(values: np.ndarray) -> list[float]:
        total = values.sum()
        cum = np.cumsum(values[order])
        return [float(cum[m - 1] / total) if total else 0.0 for m in marks]

    head = max(1, round(0.2 * n))
    served = float(served_per_item.sum())
    return {"items": n, "x": [float(m / n) for m in marks],
            "purchases": curve(counts), "recommended": curve(served_per_item),
            "coverage": float((served_per_item > 0).sum() / n) if n else 0.0,
            "tail_share": float(served_per_item[order[head:]].sum() / served)
            if served else 0.0,
            "served": int(served)}
