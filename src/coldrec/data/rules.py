"""What a shop may show: catalogue rules a dataset carries (built-in defaults, or a
``[rules]`` table in the dataset TOML)::

    [rules]
    require_title = true                          # products without a catalogue title: never
    exclude_categories = ["Fuel", "Coupon"]       # a category path or any of its levels
    min_price = 0.0                               # prices at or below it: never (missing: ok)
    in_stock_column = "in_stock"                  # a false value there: never

The CLI and the service apply them to every list; evaluation protocols do not (a protocol
may count purchases of anything), unless asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from coldrec.errors import ConfigError

__all__ = ["NO_RULES", "CatalogueRules"]


@dataclass(frozen=True)
class CatalogueRules:
    """Which products may be recommended (see the module docstring)."""

    require_title: bool = False
    exclude_categories: tuple[str, ...] = ()
    min_price: float | None = None
    in_stock_column: str | None = None

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], source: str = "rules") -> CatalogueRules:
        """Rules from a TOML ``[rules]`` table; unknown keys and wrong types are errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(known))}")
        cats = table.get("exclude_categories", ())
        if isinstance(cats, str) or not all(isinstance(c, str) for c in cats):
            raise ConfigError(f"{source}: exclude_categories must be a list of strings")
        price = table.get("min_price")
        if price is not None and (isinstance(price, bool) or
                                  not isinstance(price, int | float) or not np.isfinite(price)):
            raise ConfigError(f"{source}: min_price must be a finite number, not {price!r}")
        column = table.get("in_stock_column")
        if column is not None and not isinstance(column, str):
            raise ConfigError(f"{source}: in_stock_column must be a column name")
        return cls(bool(table.get("require_title", False)), tuple(cats),
                   None if price is None else float(price), column)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["exclude_categories"] = list(self.exclude_categories)
        return out

    @property
    def active(self) -> bool:
        return self != NO_RULES

    def allowed(self, catalog: pd.DataFrame | None, n_items: int) -> np.ndarray:
        """Per item index below ``n_items``: may it be shown? (rows missing from the
        catalogue have no title)."""
        keep = np.ones(n_items, dtype=bool)
        if catalog is None or not self.active:  # rules speak of the catalogue's rows
            return keep
        cat = catalog.reindex(range(n_items))
        if self.require_title:
            title = cat["title"] if "title" in cat.columns else pd.Series(index=cat.index)
            keep &= title.astype("string").str.strip().fillna("").str.len().to_numpy() > 0
        if self.exclude_categories and "category" in cat.columns:
            levels = cat["category"].astype("string").fillna("").str.split(" > ")
            banned = set(self.exclude_categories)
            paths = cat["category"].astype("string").fillna("")
            hit = np.array(levels.map(lambda parts: any(p.strip() in banned for p in parts)),
                           dtype=bool)
            for prefix in self.exclude_categories:
                hit |= paths.str.startswith(prefix).fillna(False).to_numpy(dtype=bool)
            keep &= ~hit
        if self.min_price is not None and "price" in cat.columns:
            price = pd.to_numeric(cat["price"], errors="coerce").to_numpy(dtype=float)
            keep &= ~(price <= self.min_price)  # a missing price passes
        if self.in_stock_column and self.in_stock_column in cat.columns:
            stock = cat[self.in_stock_column]
            keep &= ~stock.map(lambda v: v is False or v == 0 or str(v).lower() == "false"
                               ).to_numpy(dtype=bool)
        return keep


NO_RULES = CatalogueRules()
