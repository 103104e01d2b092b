"""What the shop shows of a pipeline's lists: the catalogue's rules
(:mod:`coldrec.data.rules`), one slot per displayed title, product titles for reasons."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from coldrec.data.rules import CatalogueRules

__all__ = ["ShopView"]


class ShopView:
    """The shop's view of a catalogue, for :class:`~coldrec.pipeline.Pipeline`."""

    rules: CatalogueRules
    catalog: pd.DataFrame | None
    item_counts: np.ndarray
    _allowed: np.ndarray | None
    _titles: np.ndarray | None
    _names: list[Any] | None

    def allowed_items(self) -> np.ndarray | None:
        """The products the catalogue's rules let the shop show (None: every one)."""
        if not self.rules.active:
            return None
        if self._allowed is None:
            self._allowed = np.flatnonzero(self.rules.allowed(self.catalog,
                                                              len(self.item_counts)))
        return self._allowed

    def banned_items(self) -> np.ndarray | None:
        """The products the catalogue's rules keep off the shop (None: no rules)."""
        allowed = self.allowed_items()
        if allowed is None:
            return None
        keep = np.zeros(len(self.item_counts), dtype=bool)
        keep[allowed] = True
        return np.flatnonzero(~keep)

    def one_per_title(self, ids: np.ndarray, scores: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Each row with later products of an already listed displayed title left out
        (the rest move up; ``-1`` fill the end)."""
        titles = self._display_titles()
        out_ids, out_scores = np.full_like(ids, -1), np.full_like(scores, -np.inf)
        for r in range(len(ids)):
            seen: set[str] = set()
            at = 0
            for item, score in zip(ids[r], scores[r], strict=True):
                if item < 0:
                    continue
                key = titles[item] if item < len(titles) else f"#{item}"
                if key in seen:
                    continue
                seen.add(key)
                out_ids[r, at], out_scores[r, at] = item, score
                at += 1
        return out_ids, out_scores

    def _display_titles(self) -> np.ndarray:
        """What a shopper reads of each product, normalised (its index when untitled)."""
        n = len(self.item_counts)
        if self._titles is None or len(self._titles) != n:
            names = np.asarray([f"#{i}" for i in range(n)], dtype=object)
            if self.catalog is not None and "title" in self.catalog.columns:
                col = self.catalog["title"].reindex(range(n)).astype("string")
                clean = col.str.lower().str.split().str.join(" ").fillna("")
                has = (clean.str.len() > 0).to_numpy(dtype=bool)
                names[has] = clean.to_numpy(dtype=object)[has]
            self._titles = names
        return self._titles

    def title(self, item: int) -> str:
        """The product's catalogue title (its index when it has none)."""
        n = len(self.item_counts)
        if self._names is None or len(self._names) != n:
            names = [None] * n
            if self.catalog is not None and "title" in self.catalog.columns:
                names = self.catalog["title"].reindex(range(n)).tolist()
            self._names = names
        value = self._names[item] if 0 <= item < n else None
        return value if isinstance(value, str) and value else f"item {item}"
