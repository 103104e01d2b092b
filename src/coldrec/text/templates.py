"""Turning catalog rows and shopper attributes into the texts that encoders read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coldrec.data.dataset import Dataset

__all__ = ["ItemTemplate", "catalog_texts", "embed_items", "item_texts", "price_bands",
           "user_texts"]

DEFAULT_FIELDS = ("title", "brand", "category", "price_band", "description")
BANDS = ("budget price", "mid-range price", "premium price")


@dataclass(frozen=True)
class ItemTemplate:
    """Which catalog fields make an item's text, in order, joined by ``". "``.

    Field names are catalog columns (``title``, ``brand``, ``category``, ``description`` or
    any free attribute) or ``price_band`` (budget / mid-range / premium, by price terciles
    over the catalog). ``description`` is cut to ``description_chars`` at a word boundary.
    """

    fields: tuple[str, ...] = DEFAULT_FIELDS
    description_chars: int = 300

    @classmethod
    def parse(cls, spec: str | Sequence[str] | None) -> ItemTemplate:
        """From ``"title+brand+category"`` (or a list of fields); ``None`` gives the default."""
        if spec is None:
            return cls()
        fields = spec.split("+") if isinstance(spec, str) else list(spec)
        return cls(fields=tuple(f.strip() for f in fields if f.strip()))

    def describe(self) -> str:
        return "+".join(self.fields)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


def price_bands(prices: pd.Series, reference: pd.Series | None = None) -> pd.Series:
    """``budget / mid-range / premium price`` by terciles of the known prices (of
    ``reference`` when given, e.g. the whole catalogue for one new product)."""
    known = (prices if reference is None else pd.to_numeric(reference, errors="coerce")
             ).dropna()
    out = pd.Series("", index=prices.index, dtype=object)
    if len(known) < 3:
        return out
    lo, hi = np.quantile(known.to_numpy(), [1 / 3, 2 / 3])
    out[prices.notna() & (prices <= lo)] = BANDS[0]
    out[prices.notna() & (prices > lo) & (prices <= hi)] = BANDS[1]
    out[prices.notna() & (prices > hi)] = BANDS[2]
    return out


def item_texts(data: Dataset, template: ItemTemplate | None = None) -> list[str]:
    """One text per item index (items without catalog data get their raw id)."""
    if data.catalog is None:
        return [f"item {raw}" for raw in data.items.ids]
    return catalog_texts(data.catalog, list(data.items.ids), template)


def catalog_texts(catalog: pd.DataFrame, ids: Sequence[object],
                  template: ItemTemplate | None = None,
                  price_reference: pd.Series | None = None) -> list[str]:
    """One text per catalog row (row ``i`` describes ``ids[i]``), rendered by ``template``;
    price bands come from ``price_reference`` (default: these rows' own prices)."""
    template = template or ItemTemplate()
    cat = catalog.reset_index(drop=True)
    columns: list[list[str]] = []
    for field in template.fields:
        if field == "price_band":
            if "price" in cat.columns:
                columns.append(price_bands(pd.to_numeric(cat["price"], errors="coerce"),
                                           price_reference).tolist())
            continue
        if field not in cat.columns:
            continue
        values = cat[field].astype("string").fillna("").astype(str).str.strip()
        if field == "description":
            values = values.map(lambda t: _cut(t, template.description_chars))
        columns.append(values.tolist())
    texts = []
    for i in range(len(cat)):
        parts = [col[i] for col in columns if col[i]]
        texts.append(". ".join(parts) if parts else f"item {ids[i]}")
    return texts


def user_texts(attributes: pd.DataFrame) -> list[str]:
    """``"age: 35-44; income: 50-74K; …"`` per row; empty string when nothing is known."""
    rows = []
    for _, row in attributes.iterrows():
        parts = [f"{col.replace('_', ' ')}: {val}" for col, val in row.items()
                 if pd.notna(val) and str(val).strip() != ""]
        rows.append("; ".join(parts))
    return rows


def embed_items(data: Dataset, encoder: str = "use-multilingual",
                template: ItemTemplate | None = None, *, cache_path: str | None = None,
                progress: bool = True) -> np.ndarray:
    """Text vectors of every item of ``data`` (rendered by ``template``), through the
    on-disk embedding cache (``cache_path``: default location; ``"none"``: no cache)."""
    from coldrec.text.cache import EmbeddingCache, embed_texts
    from coldrec.text.encoders import get_encoder

    cache = None if cache_path == "none" else EmbeddingCache(cache_path)
    return embed_texts(get_encoder(encoder), item_texts(data, template), cache,
                       progress=progress)
