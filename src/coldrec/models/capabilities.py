"""What a model can do beyond the contract, declared by inheritance and never probed.

Every :class:`~coldrec.models.base.Recommender` fits, scores, recommends, explains (a
default reason per list) and finds similar products (co-purchases). A model that can do
more says so by deriving from one of these abstract classes; callers ask
``isinstance(model, SearchesText)``, never ``hasattr``:

* :class:`SearchesText` — rank products for a free-text query;
* :class:`AddsItemsFromText` — take brand-new products known only by their text;
* :class:`TextVectors` — a language-model vector per product (diversity, similar items);
* :class:`RetrievalVectors` — user and item vectors whose inner product is the score, so
  an approximate nearest-neighbour index can retrieve candidates;
* :class:`EpochTrained` — trained by epochs: ``fit(..., validation=...)`` stops early on
  the validation callback and :meth:`EpochTrained.refit_params` says how long to train on
  more data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["AddsItemsFromText", "EpochTrained", "RetrievalVectors", "SearchesText",
           "TextVectors", "Validation"]

#: the validation callback of an epoch-trained fit: the model (after an epoch) → its score
Validation = Callable[[Any], float]


class SearchesText(ABC):
    """Ranks products for a text query (any language its encoder knows)."""

    @abstractmethod
    def search(self, query: str, k: int = 10, *, user: int | None = None,
               personalisation: float = 0.5, history: Any = None,
               attributes: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(item indices, scores)`` of the best ``k`` products for ``query``."""


class AddsItemsFromText(ABC):
    """Takes brand-new products from their text, recommendable at once without a refit."""

    @abstractmethod
    def add_items(self, texts: Sequence[str],
                  lexical_texts: Sequence[str] | None = None) -> np.ndarray:
        """Append products; returns their new item indices."""


class TextVectors(ABC):
    """A language-model vector per product."""

    @abstractmethod
    def text_vectors(self) -> np.ndarray:
        """Items × dimensions (float32, one row per item the model knows)."""


class RetrievalVectors(ABC):
    """Scores are inner products of user and item vectors (ANN retrieval applies)."""

    @abstractmethod
    def user_vectors(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Users × factors for ``users`` with their ``history`` rows."""

    @abstractmethod
    def item_vectors(self) -> np.ndarray:
        """Items × factors."""


class EpochTrained(ABC):
    """Trained by epochs, stopping early on a validation callback when given one."""

    @abstractmethod
    def refit_params(self) -> dict[str, Any]:
        """Parameters for a refit on more data (the epoch count chosen on validation)."""
