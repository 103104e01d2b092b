"""Mapping between raw ids (as the shop knows them) and contiguous internal indices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from coldrec.errors import DataError

__all__ = ["UNKNOWN", "UnknownPolicy", "Vocabulary"]

#: Internal index given to an id that the vocabulary does not know (policy ``"unknown"``).
UNKNOWN = -1

UnknownPolicy = Literal["error", "unknown", "drop"]


def _canonical(ids: Any) -> np.ndarray:
    """Return ids as an int64 array when they are all integers, else as strings."""
    arr = np.asarray(ids)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
        return arr.astype(str)
    if arr.dtype.kind == "b":
        raise DataError("ids must be integers or strings, not booleans")
    as_str = np.asarray([str(x) for x in arr.ravel()], dtype=object)
    as_num = pd.to_numeric(pd.Series(as_str), errors="coerce")
    stripped = np.asarray([s.strip() for s in as_str], dtype=object)
    is_int = (
        as_num.notna().all()
        and len(as_str) > 0
        and bool(np.all(as_num.to_numpy() == np.round(as_num.to_numpy())))
        and all(s.lstrip("-").isdigit() for s in stripped)
    )
    if is_int:
        return as_num.to_numpy().astype(np.int64)
    return stripped.astype(str)


class Vocabulary:
    """Raw ids ↔ contiguous indices ``0..n-1``, assigned in ascending order of the raw ids.

    Integer ids sort numerically, other ids as strings. Lookups of ids the vocabulary does
    not hold follow an explicit policy:

    * ``"error"`` — raise :class:`~coldrec.errors.DataError` naming the first unknown id;
    * ``"unknown"`` — map it to :data:`UNKNOWN` (``-1``): models answer such ids with their
      cold-start behaviour;
    * ``"drop"`` — leave it out (the caller gets the kept positions too).
    """

    def __init__(self, ids: Iterable[Any], name: str = "id") -> None:
        raw = _canonical(list(ids) if not isinstance(ids, np.ndarray | pd.Index) else ids)
        uniq = np.unique(raw)
        self.name = name
        self._ids = uniq
        self._index = pd.Index(uniq)

    # -- size and raw access -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, raw: object) -> bool:
        try:
            return bool(self.lookup([raw], unknown="unknown")[0] != UNKNOWN)
        except DataError:
            return False

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Vocabulary)
            and len(self) == len(other)
            and bool(np.all(self._ids == other._ids))
        )

    def __hash__(self) -> int:  # pragma: no cover - vocabularies are not used as keys
        return id(self)

    def __repr__(self) -> str:
        return f"Vocabulary({self.name!r}, n={len(self)})"

    @property
    def ids(self) -> np.ndarray:
        """All raw ids, position ``i`` holding the id of index ``i``."""
        return self._ids

    @property
    def is_integer(self) -> bool:
        return self._ids.dtype.kind == "i"

    # -- lookups ---------------------------------------------------------------------------
    def lookup(self, raw: Iterable[Any], unknown: UnknownPolicy = "error") -> np.ndarray:
        """Indices of ``raw`` ids; see the class docstring for ``unknown``.

        With ``unknown="drop"`` the result only holds the known ids (use
        :meth:`lookup_with_mask` to know which were kept).
        """
        idx, known = self.lookup_with_mask(raw, unknown=unknown)
        return idx[known] if unknown == "drop" else idx

    def lookup_with_mask(
        self, raw: Iterable[Any], unknown: UnknownPolicy = "error"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices (``-1`` for unknown) and a boolean mask of the ids that are known."""
        values = list(raw) if not isinstance(raw, np.ndarray | pd.Series | pd.Index) else raw
        arr = np.asarray(values)
        if len(arr) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=bool)
        if self.is_integer:
            conv = pd.to_numeric(pd.Series(arr.ravel()), errors="coerce").to_numpy()
            ok = np.isfinite(conv) & (conv == np.round(np.nan_to_num(conv)))
            probe = np.where(ok, np.nan_to_num(conv), -(2**62)).astype(np.int64)
        else:
            ok = np.ones(arr.size, dtype=bool)
            probe = np.asarray([str(x).strip() for x in arr.ravel()], dtype=str)
        idx = self._index.get_indexer(probe).astype(np.int64)
        idx[~ok] = UNKNOWN
        known = idx != UNKNOWN
        if unknown == "error" and not known.all():
            first = int(np.flatnonzero(~known)[0])
            bad = arr.ravel()[first]
            bad = bad.item() if isinstance(bad, np.generic) else bad
            raise DataError(
                f"unknown {self.name} {bad!r} (position {first}); "
                f"{int((~known).sum())} unknown in all"
            )
        if unknown not in ("error", "unknown", "drop"):
            raise DataError(f"unknown-id policy must be error, unknown or drop, not {unknown!r}")
        return idx, known

    def raw(self, index: Iterable[int] | np.ndarray) -> np.ndarray:
        """Raw ids of internal indices (``-1`` gives ``None``)."""
        idx = np.asarray(index, dtype=np.int64)
        out = np.empty(idx.shape, dtype=object)
        valid = (idx >= 0) & (idx < len(self))
        out[valid] = self._ids[idx[valid]]
        out[~valid] = None
        return out

    # -- growth and persistence --------------------------------------------------------------
    def extended(self, new_ids: Iterable[Any]) -> Vocabulary:
        """A new vocabulary with ``new_ids`` appended after the existing ones.

        Existing indices keep their positions (so fitted models stay valid); only ids that
        are not yet known are appended, in ascending order.
        """
        cand = _canonical(np.asarray(list(new_ids)))
        if len(cand) and self.is_integer and cand.dtype.kind != "i":
            raise DataError(f"{self.name} ids are integers; cannot add {cand[0]!r}")
        if len(cand) and not self.is_integer:
            cand = cand.astype(str)
        fresh = np.setdiff1d(np.unique(cand), self._ids)
        out = Vocabulary.__new__(Vocabulary)
        out.name = self.name
        out._ids = np.concatenate([self._ids, fresh.astype(self._ids.dtype)])
        out._index = pd.Index(out._ids)
        return out

    def to_array(self) -> np.ndarray:
        """The raw ids as an array suitable for ``np.savez`` (ints or unicode strings)."""
        return self._ids if self.is_integer else self._ids.astype(str)

    @classmethod
    def from_array(cls, ids: np.ndarray, name: str = "id") -> Vocabulary:
        """Rebuild a vocabulary saved with :meth:`to_array`, keeping positions exactly."""
        out = cls.__new__(cls)
        out.name = name
        out._ids = np.asarray(ids)
        if out._ids.dtype.kind not in "iU":
            out._ids = out._ids.astype(str)
        out._index = pd.Index(out._ids)
        if not out._index.is_unique:
            raise DataError(f"{name} vocabulary holds duplicate ids")
        return out
