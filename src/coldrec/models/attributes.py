"""Shopper attributes as model features: one-hot categories, numbers in quantile bins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["AttributeEncoder"]


@dataclass
class AttributeEncoder:
    """Turns an attribute table into a dense feature matrix (intercept first).

    Categorical columns with 2..``max_values`` distinct values become one-hot blocks;
    numeric columns become one-hot quantile bins (``n_bins``). Missing values and values
    unseen at fit time contribute nothing (only the intercept remains), so a shopper with no
    known attributes gets the population average.
    """

    levels: dict[str, list[str]] = field(default_factory=dict)
    bins: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def fit(cls, table: pd.DataFrame | None, max_values: int = 64,
            n_bins: int = 5) -> AttributeEncoder:
        enc = cls()
        if table is None:
            return enc
        for col in table.columns:
            series = table[col].dropna()
            if series.empty:
                continue
            if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
                edges = np.unique(np.quantile(series.to_numpy(float),
                                              np.linspace(0, 1, n_bins + 1)[1:-1]))
                if len(edges):
                    enc.bins[str(col)] = [float(e) for e in edges]
                continue
            values = sorted(series.astype(str).unique().tolist())
            if 2 <= len(values) <= max_values:
                enc.levels[str(col)] = values
        return enc

    @property
    def n_features(self) -> int:
        return 1 + sum(len(v) for v in self.levels.values()) + sum(
            len(e) + 1 for e in self.bins.values())

    def transform(self, table: pd.DataFrame | None, n_rows: int | None = None) -> np.ndarray:
        """Features of each row (``n_rows`` intercept-only rows when ``table`` is None)."""
        n = len(table) if table is not None else int(n_rows or 0)
        out = np.zeros((n, self.n_features), dtype=np.float32)
        out[:, 0] = 1.0
        if table is None:
            return out
        col = 1
        for name, values in self.levels.items():
            if name in table.columns:
                pos = {v: i for i, v in enumerate(values)}
                raw = table[name].to_numpy()
                for row, val in enumerate(raw):
                    if val is not None and not (isinstance(val, float) and np.isnan(val)):
                        idx = pos.get(str(val))
                        if idx is not None:
                            out[row, col + idx] = 1.0
            col += len(values)
        for name, edges in self.bins.items():
            if name in table.columns:
                vals = pd.to_numeric(table[name], errors="coerce").to_numpy(float)
                ok = np.isfinite(vals)
                which = np.searchsorted(np.asarray(edges), vals[ok], side="right")
                out[np.flatnonzero(ok), col + which] = 1.0
            col += len(edges) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {"levels": self.levels, "bins": self.bins}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> AttributeEncoder:
        return cls(levels={k: list(v) for k, v in doc.get("levels", {}).items()},
                   bins={k: [float(x) for x in v] for k, v in doc.get("bins", {}).items()})
