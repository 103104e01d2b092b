"""Fixtures of the model contract suite (see contract.py)."""

from __future__ import annotations

import pytest

from coldrec.data import Dataset
from coldrec.models import Recommender
from tests.conftest import block_frames


@pytest.fixture(scope="class")
def data() -> Dataset:
    """The block shop (two taste groups, one known missing item per user)."""
    events, catalog, users = block_frames()
    return Dataset.from_frames(events, catalog, users, name="blocks")


@pytest.fixture(scope="class")
def fitted(request: pytest.FixtureRequest, data: Dataset) -> Recommender:
    """One fit of the test class's model per class (tests must not change it)."""
    return request.cls().make_model().fit(data)
