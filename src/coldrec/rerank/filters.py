"""Business rules: in-stock only, excluded categories, a price range."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from coldrec.errors import ConfigError
from coldrec.rerank.base import RerankContext, Reranker, truncate

__all__ = ["BusinessFilter"]


class BusinessFilter(Reranker):
    """Drop candidates that break a business rule; the survivors keep their order.

    ``in_stock_only`` reads an ``in_stock`` catalog column (a product without a value, or
    a catalogue without the column, counts as in stock); ``exclude_categories`` matches any
    level of a ``"A > B > C"`` category path, case-insensitively; ``price_min`` /
    ``price_max`` read a ``price`` column (a product without a price is dropped when a bound
    is set, and an empty range leaves nothing). :meth:`allowed` gives the mask, so a caller
    can pass it to a model as candidates before ranking instead of filtering afterwards.
    """

    name = "filter"

    def __init__(self, in_stock_only: bool = False,
                 exclude_categories: Sequence[str] = (),
                 price_min: float | None = None, price_max: float | None = None) -> None:
        self.in_stock_only = bool(in_stock_only)
        self.exclude_categories = tuple(str(c) for c in exclude_categories)
        self.price_min = None if price_min is None else float(price_min)
        self.price_max = None if price_max is None else float(price_max)
        for bound in (self.price_min, self.price_max):
            if bound is not None and not np.isfinite(bound):
                raise ConfigError(f"price bounds must be finite numbers, not {bound}")

    @property
    def active(self) -> bool:
        return (self.in_stock_only or bool(self.exclude_categories)
                or self.price_min is not None or self.price_max is not None)

    def allowed(self, context: RerankContext) -> np.ndarray:
        """Boolean mask over items: True where every rule passes."""
        n = len(context.item_counts)
        mask = np.ones(n, dtype=bool)
        if not self.active:
            return mask
        catalog = context.catalog if isinstance(context.catalog, pd.DataFrame) else \
            pd.DataFrame(index=range(n))
        catalog = catalog.reindex(np.arange(n))
        if self.in_stock_only and "in_stock" in catalog.columns:
            mask &= ~catalog["in_stock"].map(_falsy).to_numpy(dtype=bool)
        if self.exclude_categories and "category" in catalog.columns:
            wanted = {c.strip().lower() for c in self.exclude_categories}
            paths = catalog["category"].fillna("").astype(str)
            hit = paths.map(lambda p: any(level.strip().lower() in wanted
                                          for level in p.split(">")))
            mask &= ~hit.to_numpy(dtype=bool)
        if self.price_min is not None or self.price_max is not None:
            price = pd.to_numeric(catalog["price"], errors="coerce").to_numpy(dtype=np.float64) \
                if "price" in catalog.columns else np.full(n, np.nan)
            ok = np.isfinite(price)
            if self.price_min is not None:
                ok &= price >= self.price_min
            if self.price_max is not None:
                ok &= price <= self.price_max
            mask &= ok
        return mask

    def rerank(self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        keep = self.allowed(context)
        ok = (ids >= 0) & keep[np.maximum(ids, 0)]
        order = np.argsort(~ok, axis=1, kind="stable")  # survivors first, order kept
        out_ids = np.where(np.take_along_axis(ok, order, axis=1),
                           np.take_along_axis(ids, order, axis=1), -1)
        out_scores = np.where(out_ids >= 0, np.take_along_axis(scores, order, axis=1), -np.inf)
        return truncate(out_ids, out_scores, k)


def _falsy(value: object) -> bool:
    """True for values that say "out of stock" (False, 0, "no", "false"); NaN is in stock."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    if isinstance(value, str):
        return value.strip().lower() in {"0", "false", "no", "n", "out", "f"}
    return not bool(value)
