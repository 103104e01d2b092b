"""Data layer: tables, vocabularies, loaders and the in-memory :class:`Dataset`."""

from coldrec.data.builtin import BUILTIN_DATASETS, load, shared_datasets_dir
from coldrec.data.dataset import Dataset
from coldrec.data.loaders import TableSpec, load_dataset, load_toml
from coldrec.data.schema import DEFAULT_EVENT_WEIGHTS
from coldrec.data.vocab import UNKNOWN, Vocabulary

__all__ = [
    "BUILTIN_DATASETS",
    "DEFAULT_EVENT_WEIGHTS",
    "UNKNOWN",
    "Dataset",
    "TableSpec",
    "Vocabulary",
    "load",
    "load_dataset",
    "load_toml",
    "shared_datasets_dir",
]
