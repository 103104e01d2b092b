"""Dataset construction, validation errors (file, column, row) and the duplicate rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coldrec.data import Dataset, TableSpec, load_dataset, load_toml
from coldrec.errors import ConfigError, DataError


def write_events(path: Path, rows: list[str], header: str = "user,item,ts,kind") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


EVENT_COLUMNS = {"user_id": "user", "item_id": "item", "timestamp": "ts", "event_type": "kind"}


def test_matrix_is_csr_float32_with_event_weights(blocks: Dataset) -> None:
    events = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": ["a", "a", "b", "b"],
                           "timestamp": [1, 2, 3, 4],
                           "event_type": ["view", "purchase", "click", "cart"]})
    data = Dataset.from_frames(events, weights={"view": 1, "click": 2, "cart": 3,
                                                "purchase": 5})
    m = data.matrix
    assert m.format == "csr" and m.dtype == np.float32
    assert m.toarray().tolist() == [[6.0, 2.0], [0.0, 3.0]]  # view + purchase summed
    pair = data.pairs[(data.pairs["user"] == 0) & (data.pairs["item"] == 0)].iloc[0]
    assert (pair["timestamp"], pair["last_timestamp"], pair["count"]) == (1.0, 2.0, 2)


def test_aggregation_rules() -> None:
    events = pd.DataFrame({"user_id": [1, 1], "item_id": [7, 7], "event_type": ["view", "cart"]})
    for rule, value in (("sum", 4.0), ("max", 3.0), ("binary", 1.0)):
        assert Dataset.from_frames(events, aggregate=rule).matrix[0, 0] == value


def test_catalog_and_users_bring_cold_items_and_users() -> None:
    events = pd.DataFrame({"user_id": [1], "item_id": [10]})
    catalog = pd.DataFrame({"item_id": [10, 11], "title": ["tea", "coffee"], "price": [2, 3]})
    users = pd.DataFrame({"user_id": [1, 2], "age": ["25-34", "35-44"]})
    data = Dataset.from_frames(events, catalog, users)
    assert data.n_items == 2 and data.n_users == 2
    assert data.item_counts.tolist() == [1, 0] and data.user_counts.tolist() == [1, 0]
    assert data.describe_item(1) == "coffee | $3.00"
    assert data.user_attributes.loc[1, "age"] == "35-44"


def test_interactions_alone_work() -> None:
    data = Dataset.from_frames(pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["x", "y"]}))
    assert data.catalog is None and data.user_attributes is None
    assert data.describe_item(0) == "item x"
    # without timestamps the row order is the time order
    assert data.pairs["timestamp"].tolist() == [0.0, 1.0]


def test_duplicate_catalog_rows_last_wins() -> None:
    catalog = pd.DataFrame({"item_id": [1, 1], "title": ["old", "new"]})
    data = Dataset.from_frames(pd.DataFrame({"user_id": [1], "item_id": [1]}), catalog)
    assert data.catalog.loc[0, "title"] == "new"


def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    path = write_events(tmp_path / "events.csv", ["1,2,3,view"], header="customer,item,ts,kind")
    with pytest.raises(DataError) as err:
        load_dataset(TableSpec(path, {"item_id": "item"}))
    assert "events.csv" in str(err.value) and "'user_id'" in str(err.value)


def test_mapped_column_that_is_absent(tmp_path: Path) -> None:
    path = write_events(tmp_path / "events.csv", ["1,2,3,view"])
    with pytest.raises(DataError, match="mapped column 'who'"):
        load_dataset(TableSpec(path, {"user_id": "who", "item_id": "item"}))


def test_unparsable_timestamp_names_row(tmp_path: Path) -> None:
    path = write_events(tmp_path / "events.csv",
                        ["1,2,2024-01-01,view", "1,3,yesterday,view", "2,3,2024-01-02,view"])
    with pytest.raises(DataError) as err:
        load_dataset(TableSpec(path, EVENT_COLUMNS))
    assert err.value.column == "timestamp" and err.value.row == 2
    assert "'yesterday'" in str(err.value) and "events.csv" in str(err.value)


def test_negative_price_names_row() -> None:
    catalog = pd.DataFrame({"item_id": [1, 2, 3], "price": [1.0, 2.0, -0.5]})
    with pytest.raises(DataError) as err:
        Dataset.from_frames(pd.DataFrame({"user_id": [1], "item_id": [1]}), catalog,
                            sources={"catalog": "products.csv"})
    assert (err.value.source, err.value.column, err.value.row) == ("products.csv", "price", 3)


def test_non_numeric_price() -> None:
    catalog = pd.DataFrame({"item_id": [1, 2], "price": ["1.5", "cheap"]})
    with pytest.raises(DataError, match="'cheap' is not a number"):
        Dataset.from_frames(pd.DataFrame({"user_id": [1], "item_id": [1]}), catalog)


def test_event_item_not_in_catalog(tmp_path: Path) -> None:
    events = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 99, 10]})
    catalog = pd.DataFrame({"item_id": [10, 11]})
    with pytest.raises(DataError) as err:
        Dataset.from_frames(events, catalog)
    assert err.value.column == "item_id" and err.value.row == 2 and "99" in str(err.value)
    assert Dataset.from_frames(events, catalog, unknown_items="drop").n_interactions == 2
    kept = Dataset.from_frames(events, catalog, unknown_items="keep")
    assert kept.n_items == 3 and kept.describe_item(2) == "item 99 (no catalog entry)"


def test_unknown_event_type_and_empty_id() -> None:
    with pytest.raises(DataError, match="unknown event type 'teleport'") as err:
        Dataset.from_frames(pd.DataFrame({"user_id": [1, 2], "item_id": [1, 1],
                                          "event_type": ["view", "teleport"]}))
    assert err.value.row == 2
    with pytest.raises(DataError, match="id is empty") as err:
        Dataset.from_frames(pd.DataFrame({"user_id": [1, None], "item_id": [1, 1]}))
    assert err.value.row == 2


def test_empty_files(tmp_path: Path) -> None:
    empty = tmp_path / "events.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        load_dataset(TableSpec(empty, EVENT_COLUMNS))
    header_only = write_events(tmp_path / "header.csv", [])
    with pytest.raises(DataError, match="no rows"):
        load_dataset(TableSpec(header_only, EVENT_COLUMNS))


def test_all_three_formats_load_the_same(tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer": ["c1", "c2", "c1"], "sku": ["s1", "s1", "s2"],
                          "when": ["2024-05-01T10:00:00", "2024-05-02", "2024-05-03"],
                          "kind": ["view", "purchase", "cart"]})
    frame.to_csv(tmp_path / "ev.csv", index=False)
    frame.to_parquet(tmp_path / "ev.parquet")
    frame.to_json(tmp_path / "ev.jsonl", orient="records", lines=True)
    cols = {"user_id": "customer", "item_id": "sku", "timestamp": "when", "event_type": "kind"}
    loaded = [load_dataset(TableSpec(tmp_path / f"ev.{ext}", cols)).matrix.toarray()
              for ext in ("csv", "parquet", "jsonl")]
    assert all((m == loaded[0]).all() for m in loaded)
    assert loaded[0].tolist() == [[1.0, 3.0], [4.0, 0.0]]


def test_toml_config(tmp_path: Path) -> None:
    pd.DataFrame({"customer": [1, 2, 2], "sku": ["a", "b", "a"], "kind": ["view"] * 3,
                  "ts": [1, 2, 3]}).to_csv(tmp_path / "events.csv", index=False)
    pd.DataFrame({"sku": ["a", "b"], "name": ["Tea", "Mug"], "cost": [2.5, 7.0]}).to_parquet(
        tmp_path / "items.parquet")
    pd.DataFrame({"customer": [1, 2], "city": ["Oslo", "Rome"]}).to_json(
        tmp_path / "users.jsonl", orient="records", lines=True)
    (tmp_path / "shop.toml").write_text(
        'name = "shop"\naggregate = "binary"\n'
        '[events]\npath = "events.csv"\n'
        'columns = { user_id = "customer", item_id = "sku", timestamp = "ts", '
        'event_type = "kind" }\n'
        '[events.weights]\nview = 2.0\n'
        '[catalog]\npath = "items.parquet"\ncolumns = { item_id = "sku", title = "name", '
        'price = "cost" }\n'
        '[users]\npath = "users.jsonl"\ncolumns = { user_id = "customer" }\n'
    )
    data = load_toml(tmp_path / "shop.toml")
    assert data.name == "shop" and data.n_users == 2 and data.n_items == 2
    assert data.matrix.toarray().tolist() == [[1.0, 0.0], [1.0, 1.0]]
    assert data.describe_item(1) == "Mug | $7.00"
    assert data.user_attributes["city"].tolist() == ["Oslo", "Rome"]


def test_toml_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[catalog]\npath='x.csv'\n")
    with pytest.raises(ConfigError, match="events"):
        load_toml(tmp_path / "bad.toml")
    (tmp_path / "odd.toml").write_text("[events]\npath='events.xlsx'\n")
    with pytest.raises(ConfigError, match="format"):
        load_toml(tmp_path / "odd.toml")
