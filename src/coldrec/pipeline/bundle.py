"""A fitted model saved with what it needs to answer raw ids: its vocabularies, its
catalogue and its shoppers' attributes.

``save_model(model, data, folder)`` writes the model (``config.json`` + ``state.npz``, see
:meth:`~coldrec.models.base.Recommender.save`) and beside it ``vocab.npz`` (raw user and
item ids by internal index) and ``tables.json`` (the dataset's name, catalogue and user
attributes). :func:`load_model` gives the model back with a :class:`~coldrec.data.Dataset`
rebuilt from them and from the model's stored interactions, so ``coldrec recommend --load``
and ``coldrec serve --load`` never re-read the data the model was trained on.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.builtin import rules_of
from coldrec.data.dataset import Dataset, sort_pairs
from coldrec.data.rules import CatalogueRules
from coldrec.data.vocab import Vocabulary
from coldrec.errors import DataError
from coldrec.models.base import Recommender

__all__ = ["load_model", "save_model"]

VOCAB_FILE = "vocab.npz"
TABLES_FILE = "tables.json"


def save_model(model: Recommender, data: Dataset, folder: str | Path) -> Path:
    """Save ``model`` (fitted on ``data``) with ``data``'s vocabularies and tables."""
    if model.is_fitted and model.n_items_ != data.n_items:
        raise DataError(f"the model knows {model.n_items_} items, the dataset "
                        f"{data.n_items}: save it with the data it was fitted on")
    out = model.save(folder)
    np.savez_compressed(out / VOCAB_FILE, users=data.users.to_array(),
                        items=data.items.to_array())
    tables = {"name": data.name, "catalog": _frame_json(data.catalog),
              "users": _frame_json(data.user_attributes), "rules": data.rules.to_json()}
    (out / TABLES_FILE).write_text(json.dumps(tables))
    return out


def load_model(folder: str | Path) -> tuple[Recommender, Dataset]:
    """A model saved by :func:`save_model` and the dataset it answers for (vocabularies,
    tables and the interactions the model stores; no event times)."""
    path = Path(folder)
    model = Recommender.load(path)
    if not (path / VOCAB_FILE).exists() or not (path / TABLES_FILE).exists():
        raise DataError("saved without its vocabularies; save it with `coldrec train` "
                        "(coldrec.pipeline.save_model)", source=str(path))
    with np.load(path / VOCAB_FILE, allow_pickle=False) as npz:
        users = Vocabulary.from_array(npz["users"], name="user")
        items = Vocabulary.from_array(npz["items"], name="item")
    try:
        tables = json.loads((path / TABLES_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {TABLES_FILE}: {exc}", source=str(path)) from exc
    stored = sp.coo_matrix(model.history_)
    if stored.shape != (len(users), len(items)):
        raise DataError(f"the model stores {stored.shape[0]} × {stored.shape[1]} interactions "
                        f"for {len(users)} users and {len(items)} items", source=str(path))
    pairs = pd.DataFrame({"user": stored.row.astype(np.int32),
                          "item": stored.col.astype(np.int32),
                          "weight": stored.data.astype(np.float32),
                          "timestamp": np.nan, "last_timestamp": np.nan,
                          "count": np.ones(stored.nnz, dtype=np.int32)})
    data = Dataset(name=str(tables.get("name", path.name)), users=users, items=items,
                   pairs=sort_pairs(pairs), catalog=_frame(tables.get("catalog"), "item"),
                   user_attributes=_frame(tables.get("users"), "user"),
                   rules=rules_of(str(tables.get("name"))) if "rules" not in tables else
                   CatalogueRules.from_mapping(tables["rules"], f"{path / TABLES_FILE} rules"))
    return model, data


def _frame_json(frame: pd.DataFrame | None) -> str | None:
    return None if frame is None else frame.to_json(orient="table")


def _frame(text: str | None, index_name: str) -> pd.DataFrame | None:
    if text is None:
        return None
    frame = pd.read_json(io.StringIO(text), orient="table")
    frame.index = pd.RangeIndex(len(frame), name=index_name)
    return frame
