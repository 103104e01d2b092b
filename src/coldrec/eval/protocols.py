"""Evaluation protocols P1–P5, exactly as PROTOCOLS.md defines them, for any dataset.

Every protocol turns a :class:`~coldrec.data.Dataset` into a :class:`Split`: a *selection*
phase (a training set and validation tasks, used to choose hyperparameters) and a *test*
phase (the training set the chosen configuration is refit on, and the test tasks). All
random choices come from ``numpy.random.default_rng(seed)`` (``seed=0`` reproduces the
published splits bit for bit); the unit of splitting is the (user, item) pair.

* **P1** — per user, interactions sorted by (timestamp, item) are shuffled with one generator
  (users in index order); with n ≥ 3, n_valid = n_test = max(1, round_half_up(0.1·n)), order
  [train | valid | test]. Full ranking; valid excludes train, test excludes train+valid.
* **P2** — leave-one-out in time order: last = test, second-to-last = valid (n ≥ 3).
* **P3** — 20 % of items are cold (all their interactions leave training); test ranks the
  cold shelf only (nothing excluded) and, as a second task, all items (train items
  excluded); nested valid-cold items (20 % of the warm ones) for selection, each task
  selected on its own validation counterpart.
* **P4** — 20 % of users are cold; tasks ``zero-shot`` (attributes only, truth = all their
  interactions) and ``first-k`` (their k earliest interactions revealed as history and
  excluded, truth = the rest); nested valid-cold users for selection.
* **P5** — temporal: a global time cut at 90 % of the time span; the test truth is each
  training user's new (user, item) pairs after the cut, seen items excluded; selection uses
  the cut at 80 % with the 80–90 % slice as validation, and the refit sees everything
  before the 90 % cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.dataset import Dataset
from coldrec.errors import ConfigError, DataError
from coldrec.eval.metrics import round_half_up

__all__ = ["PROTOCOLS", "EvalTask", "Phase", "Split", "make_split"]


@dataclass
class EvalTask:
    """One ranking task: who is ranked, over what, against which truth."""

    name: str
    users: np.ndarray  # internal user indices (rows of truth)
    truth: sp.csr_matrix  # len(users) × n_items
    exclude_seen: bool = True  # exclude the history the model sees
    history: sp.csr_matrix | None = None  # None → the model's stored training rows
    exclude: sp.csr_matrix | None = None  # extra items to exclude per user
    candidates: np.ndarray | None = None  # the shelf (None → all items)
    focus: np.ndarray | None = None  # items whose share in the lists is reported
    focus_name: str = "focus"

    @property
    def n_users(self) -> int:
        return len(self.users)


@dataclass
class Phase:
    """A training set and the tasks evaluated after fitting on it."""

    train: Dataset
    tasks: dict[str, EvalTask]


@dataclass
class Split:
    """Selection phase, test phase and how test tasks pick their configuration."""

    protocol: str
    selection: Phase
    test: Phase
    #: test task → selection task whose metric chooses its configuration
    selected_by: dict[str, str]
    #: metric and cut-off used for selection, e.g. ("ndcg", 10)
    selection_metric: tuple[str, int]
    #: tasks scored with the selection-phase model (reference only; P1/P2 ``test_trainonly``)
    trainonly_tasks: dict[str, EvalTask] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)


def _rows_matrix(pairs: pd.DataFrame, users: np.ndarray, n_items: int) -> sp.csr_matrix:
    """CSR (len(users) × n_items) with a 1 for each pair of the listed users."""
    pos = pd.Series(np.arange(len(users)), index=users)
    sub = pairs[pairs["user"].isin(users)]
    rows = pos.loc[sub["user"].to_numpy()].to_numpy()
    mat = sp.csr_matrix(
        (np.ones(len(sub), dtype=np.float32), (rows, sub["item"].to_numpy())),
        shape=(len(users), n_items),
    )
    mat.sum_duplicates()
    mat.data[:] = 1.0
    return mat


def _task(name: str, truth_pairs: pd.DataFrame, n_items: int, **kw: object) -> EvalTask:
    users = np.unique(truth_pairs["user"].to_numpy())
    return EvalTask(name=name, users=users, truth=_rows_matrix(truth_pairs, users, n_items),
                    **kw)  # type: ignore[arg-type]


def _need_pairs(data: Dataset, protocol: str) -> pd.DataFrame:
    if data.n_interactions == 0:
        raise DataError(f"{protocol}: the dataset has no interactions")
    return data.pairs


def _user_positions(pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For pairs sorted by user: start offset and count of every user's block."""
    users = pairs["user"].to_numpy()
    change = np.flatnonzero(np.diff(users)) + 1
    starts = np.concatenate([[0], change])
    counts = np.diff(np.concatenate([starts, [len(users)]]))
    return starts, counts


def split_p1(data: Dataset, seed: int = 0, ratio: float = 0.1) -> Split:
    """P1: per-user random [train | valid | test] split of each user's pairs."""
    pairs = _need_pairs(data, "P1")  # sorted by (user, timestamp, item)
    rng = np.random.default_rng(seed)
    role = np.zeros(len(pairs), dtype=np.int8)  # 0 train, 1 valid, 2 test
    order = np.arange(len(pairs))
    starts, counts = _user_positions(pairs)
    for start, n in zip(starts, counts, strict=True):
        perm = rng.permutation(n)
        order[start:start + n] = start + perm
        if n >= 3:
            n_hold = max(1, round_half_up(ratio * n))
            role[start + n - 2 * n_hold:start + n - n_hold] = 1
            role[start + n - n_hold:start + n] = 2
    permuted = pairs.iloc[order].reset_index(drop=True)
    return _holdout_split("P1", data, permuted, role, seed)


def split_p2(data: Dataset, seed: int = 0) -> Split:
    """P2: leave-one-out in time order (last = test, second-to-last = valid)."""
    pairs = _need_pairs(data, "P2")
    role = np.zeros(len(pairs), dtype=np.int8)
    starts, counts = _user_positions(pairs)
    big = counts >= 3
    role[(starts + counts - 1)[big]] = 2
    role[(starts + counts - 2)[big]] = 1
    return _holdout_split("P2", data, pairs, role, seed)


def _holdout_split(protocol: str, data: Dataset, pairs: pd.DataFrame, role: np.ndarray,
                   seed: int) -> Split:
    train, valid, test = pairs[role == 0], pairs[role == 1], pairs[role == 2]
    if len(test) == 0:
        raise DataError(f"{protocol}: no user has the 3 interactions a hold-out split needs")
    n_items = data.n_items
    sel_train = data.with_pairs(train, name=f"{data.name}:{protocol}:train")
    full_train = data.with_pairs(pd.concat([train, valid]),
                                 name=f"{data.name}:{protocol}:train+valid")
    valid_task = _task("valid", valid, n_items)
    test_task = _task("test", test, n_items)
    trainonly = _task("test", test, n_items)
    trainonly.exclude = _rows_matrix(valid, trainonly.users, n_items)
    return Split(
        protocol=protocol,
        selection=Phase(sel_train, {"valid": valid_task}),
        test=Phase(full_train, {"test": test_task}),
        selected_by={"test": "valid"},
        selection_metric=("ndcg", 10),
        trainonly_tasks={"test": trainonly},
        info={"train": len(train), "valid": len(valid), "test": len(test), "seed": seed},
    )


def _choose(rng: np.random.Generator, pool: np.ndarray, share: float) -> np.ndarray:
    size = round_half_up(share * len(pool))
    return np.sort(rng.choice(pool, size=size, replace=False))


def _nested_cold(pairs: pd.DataFrame, column: str, n: int, seed: int, share: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The protocol's cold ``column`` values (a ``share`` of ``0..n-1``) and, among the rest,
    the nested valid-cold ones; with the pairs that touch each (seeded, in that order)."""
    rng = np.random.default_rng(seed)
    cold = _choose(rng, np.arange(n), share)
    valid_cold = _choose(rng, np.setdiff1d(np.arange(n), cold), share)
    values = pairs[column].to_numpy()
    return cold, valid_cold, np.isin(values, cold), np.isin(values, valid_cold)


def split_p3(data: Dataset, seed: int = 0, share: float = 0.2) -> Split:
    """P3: cold items (new-arrivals shelf) with nested valid-cold items."""
    pairs = _need_pairs(data, "P3")
    cold, valid_cold, is_cold, is_vcold = _nested_cold(pairs, "item", data.n_items, seed,
                                                       share)
    warm_pairs = pairs[~is_cold]
    sel_pairs = pairs[~is_cold & ~is_vcold]
    n_items = data.n_items
    sel_train = data.with_pairs(sel_pairs, name=f"{data.name}:P3:selection")
    test_train = data.with_pairs(warm_pairs, name=f"{data.name}:P3:warm")
    vtruth = pairs[is_vcold]
    truth = pairs[is_cold]
    if len(truth) == 0 or len(vtruth) == 0:
        raise DataError("P3: the cold items have no interactions to evaluate")
    sel_tasks = {
        "cold-shelf": _task("cold-shelf", vtruth, n_items, exclude_seen=False,
                            candidates=valid_cold),
        "mixed-shelf": _task("mixed-shelf", vtruth, n_items, exclude_seen=True,
                             focus=valid_cold, focus_name="cold"),
    }
    test_tasks = {
        "cold-shelf": _task("cold-shelf", truth, n_items, exclude_seen=False, candidates=cold),
        "mixed-shelf": _task("mixed-shelf", truth, n_items, exclude_seen=True, focus=cold,
                             focus_name="cold"),
    }
    return Split(
        protocol="P3",
        selection=Phase(sel_train, sel_tasks),
        test=Phase(test_train, test_tasks),
        selected_by={"cold-shelf": "cold-shelf", "mixed-shelf": "mixed-shelf"},
        selection_metric=("ndcg", 20),
        info={"cold_items": len(cold), "valid_cold_items": len(valid_cold),
              "test_interactions": len(truth), "test_users": int(truth["user"].nunique()),
              "seed": seed},
    )


def split_p4(data: Dataset, seed: int = 0, share: float = 0.2,
             reveal: tuple[int, ...] = (1, 3, 5)) -> Split:
    """P4: cold users (zero-shot and first-k) with nested valid-cold users."""
    pairs = _need_pairs(data, "P4")
    cold, valid_cold, is_cold, is_vcold = _nested_cold(pairs, "user", data.n_users, seed,
                                                       share)
    sel_train = data.with_pairs(pairs[~is_cold & ~is_vcold], name=f"{data.name}:P4:selection")
    test_train = data.with_pairs(pairs[~is_cold], name=f"{data.name}:P4:warm")
    sel_tasks = _cold_user_tasks(pairs[is_vcold], data.n_items, reveal)
    test_tasks = _cold_user_tasks(pairs[is_cold], data.n_items, reveal)
    if "zero-shot" not in test_tasks:
        raise DataError("P4: the cold users have no interactions to evaluate")
    return Split(
        protocol="P4",
        selection=Phase(sel_train, sel_tasks),
        test=Phase(test_train, test_tasks),
        selected_by={name: name for name in test_tasks},
        selection_metric=("ndcg", 20),
        info={"cold_users": len(cold), "valid_cold_users": len(valid_cold), "seed": seed},
    )


def _cold_user_tasks(cold_pairs: pd.DataFrame, n_items: int,
                     reveal: tuple[int, ...]) -> dict[str, EvalTask]:
    tasks: dict[str, EvalTask] = {}
    if len(cold_pairs) == 0:
        return tasks
    tasks["zero-shot"] = _task("zero-shot", cold_pairs, n_items, exclude_seen=False,
                               history=None)
    # cold_pairs is sorted by (user, timestamp, item): rank within user = reveal order
    rank = cold_pairs.groupby("user").cumcount().to_numpy()
    for k in reveal:
        revealed = cold_pairs[rank < k]
        rest = cold_pairs[rank >= k]
        if len(rest) == 0:
            continue
        task = _task(f"first-{k}", rest, n_items, exclude_seen=True)
        task.history = _rows_matrix(revealed, task.users, n_items)
        tasks[f"first-{k}"] = task
    # zero-shot users have no history: an explicit empty history keeps models from
    # looking anything up for them
    zs = tasks["zero-shot"]
    zs.history = sp.csr_matrix((zs.n_users, n_items), dtype=np.float32)
    return tasks


def split_p5(data: Dataset, seed: int = 0, test_share: float = 0.1) -> Split:
    """P5: global temporal split at 90 % (test) and 80 % (validation) of the time span."""
    pairs = _need_pairs(data, "P5")
    t = pairs["timestamp"].to_numpy()
    t_min, t_max = float(t.min()), float(t.max())
    if t_max <= t_min:
        raise DataError("P5: all interactions have the same timestamp; no time split")
    test_cut = t_min + (1.0 - test_share) * (t_max - t_min)
    valid_cut = t_min + (1.0 - 2 * test_share) * (t_max - t_min)
    n_items = data.n_items
    before_test = pairs[t < test_cut]
    before_valid = pairs[t < valid_cut]
    test_truth = pairs[(t >= test_cut) & pairs["user"].isin(before_test["user"].unique())]
    valid_truth = pairs[(t >= valid_cut) & (t < test_cut)
                        & pairs["user"].isin(before_valid["user"].unique())]
    if len(test_truth) == 0 or len(valid_truth) == 0:
        raise DataError("P5: no returning user interacts after the time cut")
    return Split(
        protocol="P5",
        selection=Phase(data.with_pairs(before_valid, name=f"{data.name}:P5:selection"),
                        {"valid": _task("valid", valid_truth, n_items)}),
        test=Phase(data.with_pairs(before_test, name=f"{data.name}:P5:train"),
                   {"test": _task("test", test_truth, n_items)}),
        selected_by={"test": "valid"},
        selection_metric=("ndcg", 10),
        info={"valid_cut": valid_cut, "test_cut": test_cut, "train": len(before_test),
              "test": len(test_truth), "seed": seed},
    )


PROTOCOLS = {"P1": split_p1, "P2": split_p2, "P3": split_p3, "P4": split_p4, "P5": split_p5}


def make_split(data: Dataset, protocol: str, seed: int = 0) -> Split:
    """The split of ``data`` for ``protocol`` (P1–P5)."""
    key = protocol.upper()
    if key not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    return PROTOCOLS[key](data, seed=seed)
