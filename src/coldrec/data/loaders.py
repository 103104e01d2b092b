"""Generic loaders: CSV, Parquet and JSON-lines files with a column mapping, in code or TOML.

A shop plugs in its own data with a small TOML file::

    name = "myshop"
    aggregate = "sum"            # how repeated events of one (user, item) combine
    unknown_items = "error"      # events whose item is not in the catalog: error/drop/keep

    [events]
    path = "events.csv"          # relative to the TOML file; format from the extension
    columns = { user_id = "customer", item_id = "sku", timestamp = "ts", event_type = "kind" }

    [events.weights]             # optional: weight of each event type
    view = 1.0
    purchase = 5.0

    [catalog]                    # optional
    path = "products.parquet"
    columns = { item_id = "sku", title = "name", category = "category_path" }

    [users]                      # optional
    path = "customers.jsonl"
    columns = { user_id = "customer" }

    [rules]                      # optional: what may be shown (coldrec.data.rules)
    require_title = true
    exclude_categories = ["Gift Cards"]
    min_price = 0.0

``columns`` maps coldrec's canonical names (see :mod:`coldrec.data.schema`) to the file's
column names; unmapped columns keep their names.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from coldrec.data.dataset import Aggregate, Dataset, UnknownItems
from coldrec.data.rules import NO_RULES, CatalogueRules
from coldrec.errors import ConfigError, DataError

__all__ = ["TableSpec", "load_dataset", "load_table", "load_toml"]

FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


@dataclass
class TableSpec:
    """Where one table lives and how its columns map to coldrec's canonical names."""

    path: str | Path
    columns: Mapping[str, str] = field(default_factory=dict)
    format: str | None = None
    read_options: Mapping[str, Any] = field(default_factory=dict)

    def resolved_format(self) -> str:
        if self.format:
            fmt = self.format.lower()
            if fmt not in set(FORMATS.values()):
                raise ConfigError(f"unknown format {self.format!r} for {self.path}; "
                                  f"use one of {sorted(set(FORMATS.values()))}")
            return fmt
        suffix = Path(self.path).suffix.lower()
        if suffix not in FORMATS:
            raise ConfigError(f"cannot tell the format of {self.path} from its extension; "
                              "set format = csv, tsv, parquet, jsonl or json")
        return FORMATS[suffix]


def load_table(spec: TableSpec) -> pd.DataFrame:
    """Read one table and rename its columns to canonical names."""
    path = Path(spec.path)
    fmt = spec.resolved_format()
    if not path.exists():
        raise DataError("file not found", source=str(path))
    if path.stat().st_size == 0:
        raise DataError("the file is empty", source=str(path))
    opts = dict(spec.read_options)
    try:
        if fmt == "csv":
            df = pd.read_csv(path, **opts)
        elif fmt == "tsv":
            df = pd.read_csv(path, sep="\t", **opts)
        elif fmt == "parquet":
            df = pd.read_parquet(path, **opts)
        elif fmt == "jsonl":
            df = pd.read_json(path, lines=True, **opts)
        else:
            df = pd.read_json(path, **opts)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read as {fmt}: {exc}", source=str(path)) from exc
    rename = {}
    for canonical, source_col in spec.columns.items():
        if source_col not in df.columns:
            raise DataError(
                f"mapped column {source_col!r} (for {canonical}) is missing; found: "
                f"{', '.join(map(str, df.columns))}",
                source=str(path),
                column=source_col,
            )
        rename[source_col] = canonical
    return df.rename(columns=rename)


def load_dataset(
    events: TableSpec,
    catalog: TableSpec | None = None,
    users: TableSpec | None = None,
    *,
    name: str = "dataset",
    weights: Mapping[str, float] | None = None,
    aggregate: Aggregate = "sum",
    unknown_items: UnknownItems = "error",
) -> Dataset:
    """Load and validate a dataset from files described by :class:`TableSpec` objects."""
    frames = {"events": load_table(events)}
    sources = {"events": str(events.path)}
    if catalog is not None:
        frames["catalog"] = load_table(catalog)
        sources["catalog"] = str(catalog.path)
    if users is not None:
        frames["users"] = load_table(users)
        sources["users"] = str(users.path)
    return Dataset.from_frames(
        frames["events"],
        frames.get("catalog"),
        frames.get("users"),
        name=name,
        weights=weights,
        aggregate=aggregate,
        unknown_items=unknown_items,
        sources=sources,
    )


def _spec_from_toml(section: Mapping[str, Any], base: Path, table: str, cfg: Path) -> TableSpec:
    if "path" not in section:
        raise ConfigError(f"{cfg}: [{table}] needs a path")
    columns = section.get("columns", {})
    if not isinstance(columns, Mapping):
        raise ConfigError(f"{cfg}: [{table}].columns must be a table of name = column")
    path = Path(section["path"])
    return TableSpec(
        path=path if path.is_absolute() else base / path,
        columns=dict(columns),
        format=section.get("format"),
        read_options=dict(section.get("read_options", {})),
    )


def load_toml(path: str | Path) -> Dataset:
    """Load a dataset described by a TOML file (format in the module docstring)."""
    cfg = Path(path)
    if not cfg.exists():
        raise ConfigError(f"dataset config {cfg} not found")
    try:
        doc = tomllib.loads(cfg.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{cfg}: invalid TOML: {exc}") from exc
    if "events" not in doc:
        raise ConfigError(f"{cfg}: an [events] table is required")
    base = cfg.parent
    events = _spec_from_toml(doc["events"], base, "events", cfg)
    catalog = _spec_from_toml(doc["catalog"], base, "catalog", cfg) if "catalog" in doc else None
    users = _spec_from_toml(doc["users"], base, "users", cfg) if "users" in doc else None
    weights = doc["events"].get("weights")
    rules = CatalogueRules.from_mapping(doc["rules"], f"{cfg} [rules]") if "rules" in doc \
        else NO_RULES
    return replace(load_dataset(
        events,
        catalog,
        users,
        name=str(doc.get("name", cfg.stem)),
        weights=weights,
        aggregate=doc.get("aggregate", "sum"),
        unknown_items=doc.get("unknown_items", "error"),
    ), rules=rules)
