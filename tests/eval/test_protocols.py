"""Protocol splits: exact sizes on the shared data, rules on synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldrec.data import Dataset
from coldrec.errors import ConfigError, DataError
from coldrec.eval import make_split


def timed_dataset(n_users: int = 30, n_items: int = 40, seed: int = 1) -> Dataset:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for item in rng.choice(n_items, size=rng.integers(2, 15), replace=False):
            rows.append((u, int(item), float(rng.integers(0, 1000))))
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    users = pd.DataFrame({"user_id": range(n_users), "segment": ["x", "y"] * (n_users // 2)})
    return Dataset.from_frames(events, None, users)


def pair_set(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame["user"].tolist(), frame["item"].tolist(), strict=True))


def test_p1_partitions_pairs_per_user() -> None:
    data = timed_dataset()
    split = make_split(data, "P1")
    train = pair_set(split.selection.train.pairs)
    full = pair_set(split.test.train.pairs)
    valid = split.selection.tasks["valid"]
    test = split.test.tasks["test"]
    assert train < full <= pair_set(data.pairs)
    for row, user in enumerate(test.users):
        n = int(data.user_counts[user])
        n_hold = max(1, int(np.floor(0.1 * n + 0.5)))
        assert test.truth[row].nnz == n_hold
        assert not set(test.truth[row].indices) & {i for u, i in full if u == user}
    assert len(train) + valid.truth.nnz + test.truth.nnz == data.n_interactions
    # users with fewer than 3 pairs are train-only
    small = np.flatnonzero(data.user_counts < 3)
    assert not set(small) & set(test.users)


def test_p1_is_deterministic_by_seed() -> None:
    data = timed_dataset()
    a, b = make_split(data, "P1", seed=0), make_split(data, "P1", seed=0)
    c = make_split(data, "P1", seed=1)
    assert (a.test.tasks["test"].truth != b.test.tasks["test"].truth).nnz == 0
    assert (a.test.tasks["test"].truth != c.test.tasks["test"].truth).nnz > 0


def test_p2_holds_out_the_last_two_in_time() -> None:
    data = timed_dataset()
    split = make_split(data, "P2")
    test = split.test.tasks["test"]
    for row, user in enumerate(test.users[:10]):
        last = data.pairs[data.pairs["user"] == user].iloc[-1]["item"]
        assert test.truth[row].indices.tolist() == [last]


def test_p5_cuts_time_globally() -> None:
    data = timed_dataset()
    split = make_split(data, "P5")
    cut = split.info["test_cut"]
    assert split.test.train.pairs["timestamp"].max() < cut
    assert split.selection.train.pairs["timestamp"].max() < split.info["valid_cut"] < cut
    test = split.test.tasks["test"]
    seen = split.test.train.binary_matrix[test.users]
    assert (test.truth.multiply(seen)).nnz == 0  # truth holds only new pairs


def test_p4_first_k_reveals_the_earliest() -> None:
    data = timed_dataset(n_users=60)
    split = make_split(data, "P4")
    task = split.test.tasks["first-1"]
    for row, user in enumerate(task.users):
        earliest = data.pairs[data.pairs["user"] == user].iloc[0]["item"]
        assert task.history[row].indices.tolist() == [earliest]
        assert earliest not in task.truth[row].indices
    cold = set(split.test.tasks["zero-shot"].users.tolist())
    assert not cold & set(split.test.train.pairs["user"].tolist())


def test_unknown_protocol_and_empty_data() -> None:
    with pytest.raises(ConfigError, match="P1"):
        make_split(timed_dataset(), "P9")
    tiny = Dataset.from_frames(pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2]}))
    with pytest.raises(DataError, match="3 interactions"):
        make_split(tiny, "P1")


def test_p1_sizes_on_movielens(ml100k: Dataset) -> None:
    split = make_split(ml100k, "P1")
    assert split.selection.tasks["valid"].n_users == 943
    assert split.test.tasks["test"].n_users == 943
    assert split.info["valid"] == split.info["test"]


def test_p3_sizes_on_amazon(amazon: Dataset) -> None:
    split = make_split(amazon, "P3")
    assert split.info["cold_items"] == 869 and split.info["valid_cold_items"] == 695
    assert split.info["test_interactions"] == 11_003 and split.info["test_users"] == 6_037
    assert len(split.test.tasks["cold-shelf"].candidates) == 869


def test_p4_sizes_on_movielens(ml100k: Dataset) -> None:
    split = make_split(ml100k, "P4")
    assert split.info["cold_users"] == 189 and split.info["valid_cold_users"] == 151
    assert split.test.train.pairs["user"].nunique() == 754
    assert {t.n_users for t in split.test.tasks.values()} == {189}
