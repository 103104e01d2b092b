"""The three tables coldrec reads, their canonical columns, and their validation.

Canonical columns (after a loader applied its column mapping):

* **events** — ``user_id``, ``item_id`` (required); ``timestamp``, ``event_type``, ``value``
  (optional). Without ``timestamp`` the row order is the time order.
* **catalog** — ``item_id`` (required); ``title``, ``description``, ``category`` (a path such
  as ``"Food > Dairy > Milk"``), ``brand``, ``price`` (optional); every other column is kept
  as a free attribute.
* **users** — ``user_id`` (required); every other column is a free attribute (age, gender,
  income, location, ...).

Validation raises :class:`~coldrec.errors.DataError` naming the source, the column and the
1-based data row (the first data row after a header is row 1).

Duplicate rule: repeated events are kept (a repeat purchase is signal) and aggregated per
(user, item) pair when the interaction matrix is built; a catalog or users row whose id
already appeared replaces the earlier one (last row wins, like an upsert).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from coldrec.data.ids import id_problem
from coldrec.errors import DataError

__all__ = [
    "CATALOG_TEXT_COLUMNS",
    "DEFAULT_EVENT_WEIGHTS",
    "NON_INTERACTIONS",
    "clean_catalog",
    "clean_events",
    "clean_users",
]

#: Event types that are logged (for experiment reports) but are not interactions: they
#: never enter an interaction matrix.
NON_INTERACTIONS: frozenset[str] = frozenset({"impression"})

#: Weight of each event type in the interaction matrix unless a dataset config overrides it.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "click": 2.0,
    "search": 1.0,
    "cart": 3.0,
    "wishlist": 3.0,
    "purchase": 4.0,
    "rating": 1.0,
    "interaction": 1.0,
}

CATALOG_TEXT_COLUMNS = ("title", "description", "category", "brand")


def _require(df: pd.DataFrame, columns: tuple[str, ...], source: str) -> None:
    for col in columns:
        if col not in df.columns:
            raise DataError(
                f"required column is missing (found: {', '.join(map(str, df.columns)) or 'none'})",
                source=source,
                column=col,
            )
    if len(df) == 0:
        raise DataError("the table has no rows", source=source)


def _check_ids(df: pd.DataFrame, column: str, source: str) -> pd.Series:
    """The id column, refused with the first bad row named (:func:`coldrec.data.ids.id_problem`)."""
    ids = df[column]
    missing = ids.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0]) + 1
        raise DataError("id is empty", source=source, column=column, row=row)
    if ids.dtype == object or pd.api.types.is_string_dtype(ids):
        problems = ids.map(id_problem)
        bad = problems.notna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(str(problems.iloc[row]), source=source, column=column, row=row + 1)
    return ids


def parse_timestamps(values: pd.Series, source: str, column: str = "timestamp") -> np.ndarray:
    """Seconds since the epoch as float64, from numbers, datetimes or date strings."""
    if pd.api.types.is_datetime64_any_dtype(values):
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
            raise DataError("timestamp is missing", source=source, column=column, row=row)
        as_ns = values.dt.tz_localize(None) if values.dt.tz is not None else values
        return as_ns.astype("datetime64[ns]").astype(np.int64).to_numpy() / 1e9
    if pd.api.types.is_numeric_dtype(values):
        arr = values.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(arr)
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + 1
            raise DataError("timestamp is missing or not finite", source=source, column=column,
                            row=row)
        return arr
    text = values.astype("string")
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=np.float64)
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise DataError(
            f"cannot parse {values.iloc[row - 1]!r} as a timestamp "
            "(expected epoch seconds or an ISO date/time)",
            source=source,
            column=column,
            row=row,
        )
    return parsed.dt.tz_localize(None).astype("datetime64[ns]").astype(np.int64).to_numpy() / 1e9


def clean_events(
    df: pd.DataFrame, source: str, weights: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Validate an events table; returns columns user_id, item_id, timestamp, event_type,
    value, weight (float32) in the original row order."""
    _require(df, ("user_id", "item_id"), source)
    weights = {k.lower(): float(v) for k, v in (weights or DEFAULT_EVENT_WEIGHTS).items()}
    out = pd.DataFrame(
        {
            "user_id": _check_ids(df, "user_id", source).to_numpy(),
            "item_id": _check_ids(df, "item_id", source).to_numpy(),
        }
    )
    if "timestamp" in df.columns:
        out["timestamp"] = parse_timestamps(df["timestamp"].reset_index(drop=True), source)
    else:
        out["timestamp"] = np.arange(len(df), dtype=np.float64)
    if "event_type" in df.columns:
        types = df["event_type"].astype("string").str.strip().str.lower().reset_index(drop=True)
        unknown = ~types.isin(list(weights)).to_numpy(dtype=bool, na_value=False)
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0]) + 1
            raise DataError(
                f"unknown event type {df['event_type'].iloc[row - 1]!r}; "
                f"known types: {', '.join(sorted(weights))} (add it to the weight table)",
                source=source,
                column="event_type",
                row=row,
            )
        out["event_type"] = types.astype(str).to_numpy()
    else:
        default_type = "interaction" if "interaction" in weights else next(iter(weights))
        out["event_type"] = default_type
    if "value" in df.columns:
        value = pd.to_numeric(df["value"].reset_index(drop=True), errors="coerce")
        bad = value.isna().to_numpy() & df["value"].reset_index(drop=True).notna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + 1
            raise DataError(f"value {df['value'].iloc[row - 1]!r} is not a number",
                            source=source, column="value", row=row)
        out["value"] = value.fillna(1.0).to_numpy(dtype=np.float64)
    else:
        out["value"] = 1.0
    out["weight"] = out["event_type"].map(weights).to_numpy(dtype=np.float32)
    return out


def _dedupe_last(df: pd.DataFrame, column: str) -> pd.DataFrame:
    return df.drop_duplicates(subset=[column], keep="last").reset_index(drop=True)


def clean_catalog(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validate a catalog table (prices numeric and ≥ 0); duplicate item ids: last row wins."""
    _require(df, ("item_id",), source)
    _check_ids(df, "item_id", source)
    out = df.reset_index(drop=True).copy()
    if "price" in out.columns:
        price = pd.to_numeric(out["price"], errors="coerce")
        bad = price.isna().to_numpy() & out["price"].notna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + 1
            raise DataError(f"price {out['price'].iloc[row - 1]!r} is not a number",
                            source=source, column="price", row=row)
        negative = (price < 0).to_numpy(dtype=bool, na_value=False)
        if negative.any():
            row = int(np.flatnonzero(negative)[0]) + 1
            raise DataError(f"price {price.iloc[row - 1]} is negative", source=source,
                            column="price", row=row)
        out["price"] = price.astype(np.float64)
    for col in CATALOG_TEXT_COLUMNS:
        if col in out.columns:
            out[col] = out[col].astype("string").fillna("").astype(str).str.strip()
    return _dedupe_last(out, "item_id")


def clean_users(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validate a users table; duplicate user ids: last row wins."""
    _require(df, ("user_id",), source)
    _check_ids(df, "user_id", source)
    return _dedupe_last(df.reset_index(drop=True).copy(), "user_id")
