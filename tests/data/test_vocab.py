"""Vocabulary: ascending ids, unknown-id policies, growth and persistence."""

from __future__ import annotations

import numpy as np
import pytest

from coldrec.data import UNKNOWN, Vocabulary
from coldrec.errors import DataError


def test_integer_ids_sort_numerically() -> None:
    vocab = Vocabulary([30, 4, 100, 4, 7])
    assert vocab.ids.tolist() == [4, 7, 30, 100]
    assert vocab.lookup([100, 4]).tolist() == [3, 0]
    assert vocab.lookup(["30", 7.0]).tolist() == [2, 1]  # same id, other spelling


def test_string_ids_sort_as_text() -> None:
    vocab = Vocabulary(["sku-b", "sku-a", "sku-c"])
    assert vocab.ids.tolist() == ["sku-a", "sku-b", "sku-c"]
    assert vocab.raw([2, 0, -1]).tolist() == ["sku-c", "sku-a", None]


def test_unknown_policies() -> None:
    vocab = Vocabulary([1, 2, 3])
    with pytest.raises(DataError, match="unknown id 9"):
        vocab.lookup([1, 9])
    assert vocab.lookup([1, 9, "x"], unknown="unknown").tolist() == [0, UNKNOWN, UNKNOWN]
    assert vocab.lookup([9, 3], unknown="drop").tolist() == [2]
    assert 2 in vocab and 9 not in vocab


def test_extension_keeps_existing_positions() -> None:
    vocab = Vocabulary([5, 1])
    grown = vocab.extended([3, 5, 9])
    assert grown.ids.tolist() == [1, 5, 3, 9]
    assert grown.lookup([1, 5]).tolist() == vocab.lookup([1, 5]).tolist()


def test_round_trip_through_arrays() -> None:
    for ids in ([3, 1, 2], ["b", "a"]):
        vocab = Vocabulary(ids, name="item")
        again = Vocabulary.from_array(np.asarray(vocab.to_array()), name="item")
        assert again == vocab
