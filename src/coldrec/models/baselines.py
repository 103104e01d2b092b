"""Baselines under the common contract: random, popularity, segment popularity."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.dataset import Dataset
from coldrec.models.base import Recommender

__all__ = ["Popularity", "RandomRecommender", "SegmentPopularity"]


class RandomRecommender(Recommender):
    """Uniformly random scores, different for every user and fixed by ``random_state``."""

    name: ClassVar[str] = "random"
    handles_cold_users: ClassVar[bool] = True
    reason_with_history: ClassVar[str] = "picked at random"
    reason_without_history: ClassVar[str] = "picked at random"

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def _fit(self, data: Dataset) -> None:
        self.seed_ = int(self.random_state)

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        out = np.empty((len(users), self.n_items_), dtype=np.float32)
        for row, user in enumerate(users):
            out[row] = np.random.default_rng([self.seed_, int(user) + 1]).random(self.n_items_)
        return out


class Popularity(Recommender):
    """Items ranked by how many training users interacted with them."""

    name: ClassVar[str] = "popularity"
    handles_cold_users: ClassVar[bool] = True
    reason_with_history: ClassVar[str] = "popular in the shop"
    reason_without_history: ClassVar[str] = "popular in the shop"

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def _fit(self, data: Dataset) -> None:
        self.counts_ = data.item_counts.astype(np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        return np.broadcast_to(self.counts_, (len(users), self.n_items_)).copy()


def auto_segment_fields(table: pd.DataFrame, max_values: int = 64) -> list[str]:
    """Categorical attribute columns with 2..``max_values`` distinct values, in table order."""
    fields = []
    for col in table.columns:
        series = table[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        n = series.dropna().nunique()
        if 2 <= n <= max_values:
            fields.append(str(col))
    return fields


def segment_keys(table: pd.DataFrame, fields: list[str]) -> np.ndarray:
    """One string key per row over ``fields``; ``""`` where any field is missing."""
    if not fields:
        return np.full(len(table), "", dtype=object)
    parts = table[fields].astype("string")
    missing = parts.isna().any(axis=1).to_numpy()
    keys = parts.fillna("").agg("\x1f".join, axis=1).to_numpy(dtype=object)
    keys[missing] = ""
    return keys


class SegmentPopularity(Recommender):
    """Most popular items among training users of the same segment.

    A segment is the combination of the user's values of ``fields`` (default: every
    categorical attribute with 2–64 values, in table order). When a segment has fewer than
    ``min_users`` training users, it backs off to the segment of the first fields only (the
    last field dropped, repeatedly), and finally to global popularity. New users are placed
    by the ``attributes`` given at query time.
    """

    name: ClassVar[str] = "segment-popularity"
    handles_cold_users: ClassVar[bool] = True
    user_state: ClassVar[tuple[str, ...]] = ("user_segment_",)

    def __init__(self, fields: list[str] | None = None, min_users: int = 20,
                 random_state: int = 0) -> None:
        self.fields = fields
        self.min_users = min_users
        self.random_state = random_state

    def _fit(self, data: Dataset) -> None:
        table = data.user_attributes
        fields = list(self.fields) if self.fields is not None else (
            auto_segment_fields(table) if table is not None else [])
        if table is not None:
            fields = [f for f in fields if f in table.columns]
        self.fields_ = fields
        binary = data.binary_matrix
        trained = data.user_counts > 0
        rows: list[np.ndarray] = []
        keys: list[str] = []
        user_segment = np.full(data.n_users, -1, dtype=np.int64)
        for level in range(len(fields), 0, -1):
            level_keys = segment_keys(table, fields[:level])
            frame = pd.DataFrame({"key": level_keys, "trained": trained})
            frame = frame[(frame["key"] != "") & frame["trained"]]
            sizes = frame.groupby("key").size()
            for key in sizes.index[sizes >= self.min_users]:
                members = frame.index[frame["key"] == key].to_numpy()
                rows.append(np.asarray(binary[members].sum(axis=0)).ravel())
                keys.append(f"{level}:{key}")
            lookup = {k: i for i, k in enumerate(keys)}
            for user in np.flatnonzero(user_segment < 0):
                idx = lookup.get(f"{level}:{level_keys[user]}")
                if idx is not None and level_keys[user] != "":
                    user_segment[user] = idx
        self.segment_keys_ = keys
        self.segment_scores_ = (np.vstack(rows).astype(np.float32) if rows
                                else np.zeros((0, data.n_items), dtype=np.float32))
        self.user_segment_ = user_segment
        self.global_scores_ = data.item_counts.astype(np.float32)

    def _blank_user_row(self, name: str, row: np.ndarray) -> np.ndarray:
        return np.full_like(row, -1)  # global popularity

    def segments_of(self, attributes: pd.DataFrame) -> np.ndarray:
        """Segment index of each attribute row (``-1`` = global popularity)."""
        lookup = {k: i for i, k in enumerate(self.segment_keys_)}
        out = np.full(len(attributes), -1, dtype=np.int64)
        for level in range(len(self.fields_), 0, -1):
            fields = self.fields_[:level]
            if not all(f in attributes.columns for f in fields):
                continue
            keys = segment_keys(attributes.reset_index(drop=True), fields)
            for row in np.flatnonzero(out < 0):
                if keys[row] != "":
                    out[row] = lookup.get(f"{level}:{keys[row]}", -1)
        return out

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        known = (users >= 0) & (users < self.n_users_)
        seg = np.where(known, self.user_segment_[np.where(known, users, 0)], -1)
        if attributes is not None:
            given = self.segments_of(attributes)
            has_attr = attributes.notna().any(axis=1).to_numpy()
            seg = np.where(has_attr, given, seg)
        table = np.vstack([self.segment_scores_, self.global_scores_[None, :]])
        return table[np.where(seg >= 0, seg, len(self.segment_scores_))]
