"""The in-memory dataset every model and protocol works on.

A :class:`Dataset` owns the two vocabularies (users, items), the optional catalog and user
attribute tables (one row per internal index), and the interaction *pairs*: one row per
(user, item) with the aggregated weight, the first and last timestamps and the event count.
Models read :attr:`Dataset.matrix`, a CSR float32 user×item matrix of those weights.

Splits (see :mod:`coldrec.eval.protocols`) produce new datasets with the same vocabularies,
tables and index space but fewer pairs, so a model fitted on a split can be asked about any
user or item of the full dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.rules import NO_RULES, CatalogueRules
from coldrec.data.schema import clean_catalog, clean_events, clean_users
from coldrec.data.vocab import Vocabulary
from coldrec.errors import DataError

__all__ = ["Aggregate", "Dataset", "UnknownItems"]

Aggregate = Literal["sum", "max", "binary"]
UnknownItems = Literal["error", "drop", "keep"]

PAIR_COLUMNS = ("user", "item", "weight", "timestamp", "last_timestamp", "count")


def aggregate_pairs(events: pd.DataFrame, aggregate: Aggregate = "sum") -> pd.DataFrame:
    """Collapse events (internal ``user``/``item``) into one row per pair.

    ``weight`` is the sum (``"sum"``), maximum (``"max"``) of the event weights, or 1
    (``"binary"``); ``timestamp`` is the first time the pair occurred, ``last_timestamp`` the
    last, ``count`` the number of events. Rows are sorted by (user, timestamp, item).
    """
    if aggregate not in ("sum", "max", "binary"):
        raise DataError(f"aggregate must be sum, max or binary, not {aggregate!r}")
    grouped = events.groupby(["user", "item"], sort=False)
    pairs = grouped.agg(
        weight=("weight", "max" if aggregate == "max" else "sum"),
        timestamp=("timestamp", "min"),
        last_timestamp=("timestamp", "max"),
        count=("weight", "size"),
    ).reset_index()
    if aggregate == "binary":
        pairs["weight"] = 1.0
    pairs["weight"] = pairs["weight"].astype(np.float32)
    pairs["count"] = pairs["count"].astype(np.int32)
    pairs["user"] = pairs["user"].astype(np.int32)
    pairs["item"] = pairs["item"].astype(np.int32)
    return sort_pairs(pairs)


def sort_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs in (user, timestamp, item) order with a fresh 0..n-1 index."""
    order = np.lexsort(
        (pairs["item"].to_numpy(), pairs["timestamp"].to_numpy(), pairs["user"].to_numpy())
    )
    return pairs.iloc[order].reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Users, items, their tables and the aggregated interactions between them."""

    name: str
    users: Vocabulary
    items: Vocabulary
    pairs: pd.DataFrame
    catalog: pd.DataFrame | None = None
    user_attributes: pd.DataFrame | None = None
    events: pd.DataFrame | None = field(default=None, repr=False)
    #: what the shop may show (:mod:`coldrec.data.rules`); applied by the CLI and service
    rules: CatalogueRules = NO_RULES

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_frames(
        cls,
        events: pd.DataFrame,
        catalog: pd.DataFrame | None = None,
        users: pd.DataFrame | None = None,
        *,
        name: str = "dataset",
        weights: Mapping[str, float] | None = None,
        aggregate: Aggregate = "sum",
        unknown_items: UnknownItems = "error",
        sources: Mapping[str, str] | None = None,
        keep_events: bool = True,
    ) -> Dataset:
        """Validate canonical tables (see :mod:`coldrec.data.schema`) and build a dataset.

        ``unknown_items`` decides what happens to events whose item is not in the catalog
        (only when a catalog is given): ``"error"`` raises a :class:`DataError` naming the
        row, ``"drop"`` removes those events, ``"keep"`` adds the items without catalog data.
        Users in the users table without events, and catalog items nobody touched, are part
        of the vocabularies: they are the cold users and cold items.
        """
        src = {"events": "events", "catalog": "catalog", "users": "users", **(sources or {})}
        ev = clean_events(events, src["events"], weights)
        cat = clean_catalog(catalog, src["catalog"]) if catalog is not None else None
        usr = clean_users(users, src["users"]) if users is not None else None

        if cat is not None:
            cat_vocab = Vocabulary(cat["item_id"], name="item")
            _, known = cat_vocab.lookup_with_mask(ev["item_id"], unknown="unknown")
            if not known.all():
                if unknown_items == "error":
                    row = int(np.flatnonzero(~known)[0]) + 1
                    raise DataError(
                        f"item id {ev['item_id'].iloc[row - 1]!r} is not in the catalog "
                        f"({int((~known).sum())} events refer to unknown items; set "
                        "unknown_items to 'drop' or 'keep' to accept them)",
                        source=src["events"],
                        column="item_id",
                        row=row,
                    )
                if unknown_items == "drop":
                    ev = ev.loc[known].reset_index(drop=True)
                    if len(ev) == 0:
                        raise DataError("no event refers to a catalog item", source=src["events"])
                elif unknown_items != "keep":
                    raise DataError(f"unknown_items must be error, drop or keep, "
                                    f"not {unknown_items!r}")
            item_vocab = Vocabulary(np.concatenate([cat_vocab.ids, _as_ids(ev["item_id"])]),
                                    name="item")
        else:
            item_vocab = Vocabulary(ev["item_id"].unique(), name="item")

        user_raw = _as_ids(ev["user_id"])
        if usr is not None:
            user_raw = np.concatenate([_as_ids(Vocabulary(usr["user_id"]).ids), user_raw])
        user_vocab = Vocabulary(pd.unique(pd.Series(user_raw)), name="user")

        ev["user"] = user_vocab.lookup(ev["user_id"]).astype(np.int32)
        ev["item"] = item_vocab.lookup(ev["item_id"]).astype(np.int32)
        pairs = aggregate_pairs(ev, aggregate)

        catalog_table = _index_table(cat, "item_id", item_vocab) if cat is not None else None
        user_table = _index_table(usr, "user_id", user_vocab) if usr is not None else None
        return cls(
            name=name,
            users=user_vocab,
            items=item_vocab,
            pairs=pairs,
            catalog=catalog_table,
            user_attributes=user_table,
            events=ev if keep_events else None,
        )

    def with_pairs(self, pairs: pd.DataFrame, name: str | None = None) -> Dataset:
        """The same users, items and tables with another set of interactions (a split)."""
        missing = [c for c in PAIR_COLUMNS if c not in pairs.columns]
        if missing:
            raise DataError(f"pairs table lacks columns {missing}")
        return replace(self, pairs=sort_pairs(pairs.loc[:, list(PAIR_COLUMNS)]),
                       events=None, name=name or self.name)

    # -- sizes and matrices ------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_interactions(self) -> int:
        return len(self.pairs)

    @cached_property
    def matrix(self) -> sp.csr_matrix:
        """User×item CSR float32 matrix of aggregated event weights."""
        p = self.pairs
        mat = sp.csr_matrix(
            (p["weight"].to_numpy(np.float32), (p["user"].to_numpy(), p["item"].to_numpy())),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )
        mat.sum_duplicates()
        mat.sort_indices()
        return mat

    @cached_property
    def binary_matrix(self) -> sp.csr_matrix:
        """User×item CSR float32 matrix with a 1 for every interacted pair."""
        mat = self.matrix.copy()
        mat.data[:] = 1.0
        return mat

    @cached_property
    def item_counts(self) -> np.ndarray:
        """Number of users who interacted with each item (int64, length n_items)."""
        return np.bincount(self.pairs["item"].to_numpy(), minlength=self.n_items).astype(np.int64)

    @cached_property
    def user_counts(self) -> np.ndarray:
        """Number of items each user interacted with (int64, length n_users)."""
        return np.bincount(self.pairs["user"].to_numpy(), minlength=self.n_users).astype(np.int64)

    # -- human-readable views ------------------------------------------------------------------
    def describe_item(self, item: int) -> str:
        """One line of product text for reports: title, brand, category path and price."""
        raw = self.items.ids[item]
        if self.catalog is None:
            return f"item {raw}"
        if self.catalog.iloc[int(item)].isna().all():
            return f"item {raw} (no catalog entry)"
        row = self.catalog.iloc[int(item)]
        parts = []
        for col in ("title", "brand", "category"):
            val = row.get(col) if col in row.index else None
            if isinstance(val, str) and val:
                parts.append(val)
        price = row.get("price") if "price" in row.index else None
        if price is not None and pd.notna(price):
            parts.append(f"${float(price):.2f}")
        return " | ".join(parts) if parts else f"item {raw} (no catalog text)"

    def summary(self) -> dict[str, float | int | str]:
        """Counts and sparsity for reports."""
        n_cells = max(1, self.n_users * self.n_items)
        return {
            "name": self.name,
            "users": self.n_users,
            "items": self.n_items,
            "interactions": self.n_interactions,
            "events": len(self.events) if self.events is not None else self.n_interactions,
            "density": self.n_interactions / n_cells,
            "users_with_attributes": len(self.user_attributes.dropna(how="all"))
            if self.user_attributes is not None
            else 0,
            "items_with_text": int(self.catalog is not None and self.catalog.notna().any(axis=1)
                                   .sum()),
        }


def _as_ids(values: pd.Series | np.ndarray) -> np.ndarray:
    return Vocabulary(values).ids if len(values) else np.asarray([], dtype=np.int64)


def _index_table(table: pd.DataFrame, id_col: str, vocab: Vocabulary) -> pd.DataFrame:
    """Reindex a table so that row ``i`` describes internal index ``i`` (NaN where absent)."""
    idx = vocab.lookup(table[id_col], unknown="unknown")
    body = table.drop(columns=[id_col])
    body.index = idx
    body = body[idx >= 0]
    out = body.reindex(np.arange(len(vocab)))
    out.index.name = vocab.name
    return out
