"""Shared fixtures: a small synthetic shop with a known structure, and the shared datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldrec.data import Dataset, shared_datasets_dir

N_A, N_B = 25, 15  # users in group A (items 0-5) and group B (items 6-11)


def block_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Two taste groups; each user bought 5 of their group's 6 items, missing item u % 6.

    The missing item is the known best recommendation for a personalised model. Group A is
    bigger, so its items are the most popular overall.
    """
    rows = []
    for u in range(N_A + N_B):
        group_a = u < N_A
        base = 0 if group_a else 6
        for j in range(6):
            if j == u % 6:
                continue
            rows.append({"user_id": 100 + u, "item_id": 1000 + base + j,
                         "timestamp": 1_600_000_000 + 3600 * (u * 10 + j),
                         "event_type": "purchase"})
    events = pd.DataFrame(rows)
    catalog = pd.DataFrame({
        "item_id": 1000 + np.arange(12),
        "title": [f"{'garden' if i < 6 else 'kitchen'} product {i}" for i in range(12)],
        "category": ["Home > Garden" if i < 6 else "Home > Kitchen" for i in range(12)],
        "brand": ["Acme"] * 12,
        "price": np.linspace(1.0, 12.0, 12),
    })
    users = pd.DataFrame({
        "user_id": 100 + np.arange(N_A + N_B),
        "group": ["A" if u < N_A else "B" for u in range(N_A + N_B)],
        "age": [25 + u for u in range(N_A + N_B)],
    })
    return events, catalog, users


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory):
    """Embeddings go to a per-run cache, never the user's; no progress bars in tests."""
    mp = pytest.MonkeyPatch()
    mp.setenv("COLDREC_CACHE", str(tmp_path_factory.mktemp("cache") / "embeddings.sqlite"))
    mp.setenv("COLDREC_PROGRESS", "0")
    yield
    mp.undo()


@pytest.fixture()
def blocks() -> Dataset:
    events, catalog, users = block_frames()
    return Dataset.from_frames(events, catalog, users, name="blocks")


def missing_item(user: int) -> int:
    """Internal index of the one group item user ``user`` did not buy."""
    return (0 if user < N_A else 6) + user % 6


@pytest.fixture(scope="session")
def shared_dir():
    root = shared_datasets_dir()
    if root is None:
        pytest.skip("../shared/datasets is not present (research datasets are not shipped)")
    return root


@pytest.fixture(scope="session")
def ml100k(shared_dir):
    from coldrec.data import load

    return load("ml-100k")


@pytest.fixture(scope="session")
def amazon(shared_dir):
    from coldrec.data import load

    return load("amazon-scientific")
