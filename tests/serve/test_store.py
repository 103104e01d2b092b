"""The event store against SQLite and a real PostgreSQL server started by the test run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldrec.data import Dataset
from coldrec.serve.store import EventStore
from tests.conftest import block_frames
from tests.serve import postgres


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if not postgres.available() and not os.environ.get("CI"):
        pytest.skip("PostgreSQL is not installed here (CI installs it; see .ci/run)")
    with postgres.postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        yield EventStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
        return
    url = request.getfixturevalue("postgres_url")
    st = EventStore(url)
    yield st
    from coldrec.serve.store import metadata

    metadata.drop_all(st.engine)
    st.engine.dispose()


def test_events_round_trip(store: EventStore) -> None:
    assert store.add_events([{"user_id": "u1", "item_id": "i1", "event_type": "click",
                              "timestamp": 10.0},
                             {"user_id": "u1", "item_id": "i2", "event_type": "rating",
                              "value": 4.5, "variant": "B"}]) == 2
    rows = store.user_events("u1")
    assert [(r["item_id"], r["event_type"], r["value"]) for r in rows] == [
        ("i1", "click", None), ("i2", "rating", 4.5)]
    assert rows[0]["timestamp"] == 10.0 and rows[1]["variant"] == "B"
    assert store.count("events") == 2 and store.add_events([]) == 0


def test_upserts_and_forgetting(store: EventStore) -> None:
    assert store.upsert_item("i1", {"title": "Tea", "price": 2.0, "colour": "green"})
    assert not store.upsert_item("i1", {"title": "Green tea", "price": 2.5})
    item = store.item("i1")
    assert item is not None and item["title"] == "Green tea" and item["price"] == 2.5
    assert store.upsert_user("u1", {"age": "35-44"}) and not store.upsert_user("u1", {"age": 40})
    assert store.user_profile("u1") == {"age": 40}
    store.add_events([{"user_id": "u1", "item_id": "i1"}, {"user_id": "u2", "item_id": "i1"}])
    assert store.delete_user("u1") == 1
    assert store.user_events("u1") == [] and store.user_profile("u1") is None
    assert len(store.user_events("u2")) == 1


def test_seed_and_frames_rebuild_the_dataset(store: EventStore) -> None:
    events, catalog, users = block_frames()
    data = Dataset.from_frames(events, catalog, users, name="blocks")
    store.seed(data)
    assert store.count("items") == 12 and store.count("users") == 40
    assert store.count("events") == data.n_interactions
    ev, cat, usr = store.frames()
    again = Dataset.from_frames(ev, cat, usr, name="again")
    assert again.n_users == data.n_users and again.n_items == data.n_items
    assert again.binary_matrix.nnz == data.binary_matrix.nnz
    assert set(cat.columns) >= {"item_id", "title", "category", "price"}
    assert store.add_model_version("hybrid", {"items": 12}) >= 1


def test_frames_with_and_without_free_attributes(store: EventStore) -> None:
    """A restart reads a catalogue where some products carry free attributes and some do
    not (SQL NULL), and impressions are never part of the training events."""
    store.upsert_item("i1", {"title": "Tea", "colour": "green"})
    store.upsert_item("i2", {"title": "Coffee"})
    store.upsert_user("u1", {"age": "35-44"})
    store.add_events([{"user_id": "u1", "item_id": "i1", "event_type": "purchase"},
                      {"user_id": "u2", "item_id": "i2", "event_type": "impression",
                       "variant": "ab/control"}])
    ev, cat, usr = store.frames()
    assert list(ev["event_type"]) == ["purchase"]
    cat = cat.set_index("item_id")
    assert cat.loc["i1", "colour"] == "green" and cat.loc["i2", "title"] == "Coffee"
    assert list(usr["user_id"]) == ["u1"]
    assert list(store.experiment_events("ab")["user_id"]) == ["u2"]
    assert store.experiment_events("a").empty  # the label prefix is the whole name
