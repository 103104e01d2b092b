"""A started service on the synthetic two-group shop, per test or per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coldrec.data import Dataset
from coldrec.experiments import load_experiment
from coldrec.serve.app import create_app
from coldrec.serve.engine import RecommenderService
from coldrec.serve.settings import Settings, hash_key
from coldrec.serve.store import EventStore
from tests.conftest import block_frames

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def make_client(db: Path, model: str = "hybrid", **overrides: object) -> TestClient:
    events, catalog, users = block_frames()
    data = Dataset.from_frames(events, catalog, users, name="blocks")
    settings = Settings(database_url=f"sqlite:///{db}", api_key_hashes=[hash_key(KEY)],
                        max_batch=50, data="unused", **overrides)
    store = EventStore(settings.database_url)
    params = {"cf": "ease", "cf_lam": 5.0} if model == "hybrid" else {}
    experiment = load_experiment(settings.experiment) if settings.experiment else None
    service = RecommenderService.from_dataset(store, data, model, params,
                                              experiment=experiment)
    client = TestClient(create_app(settings, service))
    client.store = store  # type: ignore[attr-defined]
    return client


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path / "store.sqlite") as c:
        yield c


@pytest.fixture(scope="module")
def module_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with make_client(tmp_path_factory.mktemp("svc") / "store.sqlite") as c:
        yield c
