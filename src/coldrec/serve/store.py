"""The event store: catalog, shoppers, events, the change log and model versions through
SQLAlchemy.

SQLite (a file, WAL mode, ``synchronous=FULL`` so an acknowledged write survives a crash)
by default; PostgreSQL by URL. Every write is one transaction that commits before the
caller acknowledges it. A product write and an erasure add a row to ``changes`` in the same
transaction, so every process answering from the store learns of it in commit order; events
need no log entry (each answer reads its shopper's events since the model's mark).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event as sa_event

from coldrec.data.dataset import Dataset
from coldrec.data.schema import NON_INTERACTIONS

__all__ = ["EventStore"]

metadata = sa.MetaData()

items = sa.Table(
    "items", metadata,
    sa.Column("item_id", sa.String(200), primary_key=True),
    sa.Column("title", sa.Text), sa.Column("description", sa.Text),
    sa.Column("category", sa.Text), sa.Column("brand", sa.Text),
    sa.Column("price", sa.Float), sa.Column("in_stock", sa.Boolean),
    sa.Column("attributes", sa.Text),  # JSON of free attributes
    sa.Column("updated_at", sa.Float, nullable=False),
)
users = sa.Table(
    "users", metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("attributes", sa.Text),
    sa.Column("updated_at", sa.Float, nullable=False),
)
events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(200), nullable=False, index=True),
    sa.Column("item_id", sa.String(200), nullable=False),
    sa.Column("event_type", sa.String(40), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("variant", sa.String(100)),
    sa.Index("ix_events_user_seq", "user_id", "id"),  # a shopper's events since a mark
)
#: what every process serving the store must apply to its live models: a product written
#: ("item") or a shopper erased ("erase"), in commit order
changes = sa.Table(
    "changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)
model_versions = sa.Table(
    "model_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("info", sa.Text),
)

ITEM_FIELDS = ("title", "description", "category", "brand", "price", "in_stock")


class EventStore:
    """Typed access to the five tables; ids are stored as strings."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            @sa_event.listens_for(self.engine, "connect")
            def _pragmas(conn: Any, _record: Any) -> None:  # pragma: no cover - driver hook
                cur = conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.close()
        metadata.create_all(self.engine)
        mark = "%s" if self.engine.dialect.paramstyle in ("format", "pyformat") else "?"
        skipped = ", ".join(f"'{kind}'" for kind in sorted(NON_INTERACTIONS))
        self._sql = {
            "events": f"SELECT id, item_id, event_type, value FROM events WHERE user_id = "
                      f"{mark} AND id > {mark} AND event_type NOT IN ({skipped}) ORDER BY id",
            "profile": f"SELECT attributes FROM users WHERE user_id = {mark}"}

    # -- writes ---------------------------------------------------------------------------
    def add_events(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Append events (``user_id``, ``item_id``, ``event_type``, ``value``, ``timestamp``,
        ``variant``) in one transaction; returns how many."""
        if not rows:
            return 0
        with self.engine.begin() as conn:
            conn.execute(events.insert(), [
                {"user_id": str(r["user_id"]), "item_id": str(r["item_id"]),
                 "event_type": r.get("event_type", "view"), "value": r.get("value"),
                 "timestamp": float(r.get("timestamp") or time.time()),
                 "variant": r.get("variant")} for r in rows])
        return len(rows)

    def upsert_item(self, item_id: str, fields: Mapping[str, Any]) -> bool:
        """Insert or replace one product; True when it is new."""
        row = {k: fields.get(k) for k in ITEM_FIELDS}
        extra = {k: v for k, v in fields.items() if k not in ITEM_FIELDS and v is not None}
        row.update(item_id=str(item_id), attributes=json.dumps(extra) if extra else None,
                   updated_at=time.time())
        return self._upsert(items, items.c.item_id, row, change="item")

    def upsert_user(self, user_id: str, attributes: Mapping[str, Any]) -> bool:
        """Insert or replace one shopper profile; True when it is new."""
        row = {"user_id": str(user_id), "attributes": json.dumps(dict(attributes)),
               "updated_at": time.time()}
        return self._upsert(users, users.c.user_id, row)

    def _upsert(self, table: sa.Table, key: sa.Column, row: dict[str, Any],
                change: str | None = None) -> bool:
        """Insert ``row`` or replace the row with the same key, in one transaction (with a
        ``change`` log entry of that kind when given)."""
        with self.engine.begin() as conn:
            old = conn.execute(sa.select(key).where(key == row[key.name])).first()
            if old is None:
                conn.execute(table.insert(), [row])
            else:
                conn.execute(table.update().where(key == row[key.name]), [row])
            if change is not None:
                _log_change(conn, change, row[key.name])
        return old is None

    def delete_user(self, user_id: str) -> int:
        """Erase a shopper's profile and every event; returns the events removed."""
        with self.engine.begin() as conn:
            gone = conn.execute(events.delete().where(events.c.user_id == str(user_id)))
            conn.execute(users.delete().where(users.c.user_id == str(user_id)))
            _log_change(conn, "erase", str(user_id))
        return int(gone.rowcount or 0)

    def add_model_version(self, model: str, info: Mapping[str, Any]) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(model_versions.insert().values(
                created_at=time.time(), model=model, info=json.dumps(dict(info))))
        return int(res.inserted_primary_key[0])

    # -- reads ----------------------------------------------------------------------------
    def marks(self) -> tuple[int, int]:
        """The last event id and the last change id committed (0 when none)."""
        with self.engine.connect() as conn:
            return (int(conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0),
                    int(conn.execute(sa.select(sa.func.max(changes.c.id))).scalar() or 0))

    def shopper(self, user_id: str, after: int
                ) -> tuple[list[tuple[int, str, str, Any]], dict[str, Any] | None]:
        """What an answer reads of a shopper, in one connection: their interactions stored
        after event ``after`` — (id, item, type, value), oldest first; impressions are not
        interactions — and their profile (None: none stored)."""
        with self.engine.connect() as conn:  # on every answer: plain SQL, no compiling
            rows = conn.exec_driver_sql(self._sql["events"], (str(user_id), int(after))).all()
            profile = conn.exec_driver_sql(self._sql["profile"], (str(user_id),)).first()
        return ([(int(i), str(item), str(kind), value) for i, item, kind, value in rows],
                None if profile is None else json.loads(profile[0] or "{}"))

    def changes_since(self, after: int) -> list[tuple[int, str, str]]:
        """Change log entries after ``after``: (id, kind, key), in commit order."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(changes.c.id, changes.c.kind, changes.c.key)
                                .where(changes.c.id > int(after))
                                .order_by(changes.c.id)).all()
        return [(int(i), str(kind), str(key)) for i, kind, key in rows]

    def latest_model_version(self) -> tuple[int, dict[str, Any]] | None:
        """The newest model version (id, info), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(model_versions.c.id, model_versions.c.info)
                               .order_by(model_versions.c.id.desc()).limit(1)).first()
        return None if row is None else (int(row[0]), _json_object(row[1]))

    def count(self, table: str) -> int:
        tab = metadata.tables[table]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(tab)).scalar_one())

    def user_events(self, user_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(events).where(events.c.user_id == str(user_id))
                                .order_by(events.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def user_profile(self, user_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users.c.attributes).where(
                users.c.user_id == str(user_id))).first()
        return None if row is None else json.loads(row[0] or "{}")

    def item(self, item_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(items).where(items.c.item_id == str(item_id))
                               ).mappings().first()
        return None if row is None else dict(row)

    def experiment_events(self, experiment: str) -> pd.DataFrame:
        """Every event whose variant label belongs to ``experiment`` (``experiment/...``)."""
        with self.engine.connect() as conn:
            return pd.read_sql(sa.select(events.c.user_id, events.c.item_id,
                                         events.c.event_type, events.c.value,
                                         events.c.timestamp, events.c.variant)
                               .where(events.c.variant.startswith(f"{experiment}/",
                                                                  autoescape=True))
                               .order_by(events.c.id), conn)

    def prices(self) -> dict[str, float]:
        """Catalogue price of every product that has one."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(items.c.item_id, items.c.price)
                                .where(items.c.price.is_not(None))).all()
        return {str(i): float(p) for i, p in rows}

    def frames(self, through: int | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(events, catalog, users) as canonical tables, for retraining; events up to id
        ``through`` when given."""
        query = sa.select(events.c.user_id, events.c.item_id, events.c.event_type,
                          events.c.value, events.c.timestamp) \
            .where(events.c.event_type.not_in(sorted(NON_INTERACTIONS)))
        if through is not None:
            query = query.where(events.c.id <= int(through))
        with self.engine.connect() as conn:
            ev = pd.read_sql(query, conn)
            cat = pd.read_sql(sa.select(items), conn)
            usr = pd.read_sql(sa.select(users), conn)
        extra = cat.pop("attributes").map(_json_object)
        cat = pd.concat([cat.drop(columns="updated_at"), pd.DataFrame(extra.tolist())], axis=1)
        attrs = usr.pop("attributes").map(_json_object)
        usr = pd.concat([usr[["user_id"]], pd.DataFrame(attrs.tolist())], axis=1)
        return ev, cat, usr

    # -- seeding --------------------------------------------------------------------------
    def seed(self, data: Dataset, *, with_events: bool = True, chunk: int = 50_000) -> None:
        """Copy a dataset's catalog, shoppers and (optionally) events into an empty store."""
        now = time.time()
        with self.engine.begin() as conn:
            if data.catalog is not None:
                cat = data.catalog
                rows = []
                for i, raw in enumerate(data.items.ids):
                    rec = cat.iloc[i]
                    row = {k: _clean(rec.get(k)) for k in ITEM_FIELDS if k in cat.columns}
                    extra = {k: _clean(rec[k]) for k in cat.columns
                             if k not in ITEM_FIELDS and _clean(rec[k]) is not None}
                    row.update(item_id=str(raw), attributes=json.dumps(extra) if extra
                               else None, updated_at=now)
                    rows.append(row)
                for start in range(0, len(rows), chunk):
                    conn.execute(items.insert(), rows[start:start + chunk])
            if data.user_attributes is not None:
                ua = data.user_attributes
                rows = [{"user_id": str(raw), "attributes": json.dumps(
                    {k: _clean(v) for k, v in ua.iloc[i].items() if _clean(v) is not None}),
                    "updated_at": now} for i, raw in enumerate(data.users.ids)]
                for start in range(0, len(rows), chunk):
                    conn.execute(users.insert(), rows[start:start + chunk])
            if with_events:
                pairs = data.pairs
                uid = data.users.ids[pairs["user"].to_numpy()]
                iid = data.items.ids[pairs["item"].to_numpy()]
                ts = pairs["timestamp"].to_numpy() if "timestamp" in pairs else [now] * len(uid)
                weight = pairs["weight"].to_numpy()
                rows_iter: Iterable[dict[str, Any]] = (
                    {"user_id": str(u), "item_id": str(it), "event_type": "purchase",
                     "value": float(w), "timestamp": float(t), "variant": None}
                    for u, it, w, t in zip(uid, iid, weight, ts, strict=True))
                batch: list[dict[str, Any]] = []
                for row in rows_iter:
                    batch.append(row)
                    if len(batch) >= chunk:
                        conn.execute(events.insert(), batch)
                        batch = []
                if batch:
                    conn.execute(events.insert(), batch)


def _log_change(conn: Any, kind: str, key: str) -> None:
    conn.execute(changes.insert().values(kind=kind, key=str(key), at=time.time()))


def _json_object(text: Any) -> dict[str, Any]:
    """A stored JSON object; SQL NULL (None, or NaN once pandas reads a mixed column) → {}."""
    return json.loads(text) if isinstance(text, str) and text else {}


def _clean(value: Any) -> Any:
    """JSON-able scalars; NaN and pandas NA become None."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, np.generic):
        return value.item()
    return value
