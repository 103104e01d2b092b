"""Built-in readers on the real data (counts from the datasets' READMEs)."""

from __future__ import annotations

import numpy as np
import pytest

from coldrec.data import Dataset, load
from coldrec.errors import ConfigError


def test_movielens(ml100k: Dataset) -> None:
    assert (ml100k.n_users, ml100k.n_items, ml100k.n_interactions) == (943, 1682, 100_000)
    assert ml100k.users.ids[0] == 1 and ml100k.items.ids[-1] == 1682
    assert ml100k.matrix.data.min() == 1.0 and ml100k.matrix.data.max() == 1.0
    assert set(ml100k.user_attributes["age_bucket"]) <= {"<18", "18-24", "25-34", "35-44",
                                                         "45-49", "50-55", "56+"}
    assert ml100k.describe_item(0).startswith("Toy Story")


def test_amazon(amazon: Dataset) -> None:
    assert (amazon.n_users, amazon.n_items, amazon.n_interactions) == (8317, 4344, 58_492)
    assert " > " in amazon.catalog.loc[0, "category"]
    # positions in the chronological lists are the timestamps
    first = amazon.pairs[amazon.pairs["user"] == 0]["item"].tolist()
    assert first == list(range(9))


def test_instacart(shared_dir) -> None:
    data = load("instacart")
    assert data.n_users == 593 and data.n_items == 14_190
    assert int(np.median(data.item_counts)) <= 3  # the long tail the README describes
    assert data.catalog["category"].str.contains(" > ").all()


def test_completejourney() -> None:
    data = load("completejourney")
    assert (data.n_users, data.n_items) == (2469, 68_509)
    assert len(data.events) == 1_469_307
    assert int(data.user_attributes.notna().any(axis=1).sum()) == 801
    prices = data.catalog["price"].dropna()
    assert (prices >= 0).all() and 1.0 < prices.median() < 10.0
    assert data.catalog["title"].str.len().gt(0).mean() > 0.99


def test_unknown_dataset_name() -> None:
    with pytest.raises(ConfigError, match="completejourney"):
        load("no-such-dataset")
