"""The service as `coldrec serve` starts it: settings only (dataset, experiment file), the
lifespan seeding an empty store and training; then a restart on the filled store."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from coldrec.experiments import Experiment, Variant
from coldrec.serve.app import create_app
from coldrec.serve.settings import Settings
from tests.serve.shop import shop_frames


def test_start_from_settings_then_restart_on_the_store(tmp_path: Path) -> None:
    events, catalog, users = shop_frames(n_users=60)
    events.to_csv(tmp_path / "events.csv", index=False)
    catalog.to_csv(tmp_path / "items.csv", index=False)
    users.to_csv(tmp_path / "users.csv", index=False)
    (tmp_path / "shop.toml").write_text(
        'name = "shop"\n[events]\npath = "events.csv"\n[catalog]\npath = "items.csv"\n'
        '[users]\npath = "users.csv"\n')
    exp = Experiment("start", (Variant("control", model="popularity"), Variant("hybrid")))
    (tmp_path / "exp.json").write_text(json.dumps(exp.to_json()))
    settings = Settings(data=str(tmp_path / "shop.toml"), experiment=tmp_path / "exp.json",
                        database_url=f"sqlite:///{tmp_path / 'store.sqlite'}",
                        model_params={"cf": "ease", "cf_lam": 5.0}, open_writes=True,
                        reports_dir=tmp_path / "reports")
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json()["items"] == 36
        body = client.get("/recommend/u001?k=3").json()
        assert body["variant"] == f"start/{exp.assign('u001').name}"
        # a product without free attributes next to seeded ones that have none either,
        # and one with: the restart must read both
        client.put("/items/extra", json={"title": "Oolong Tea Tin", "category":
                                         "Grocery > Tea", "brand": "Teahouse"})
        client.post("/events", json={"user_id": "new-1", "item_id": "extra",
                                     "event_type": "purchase"})
    with TestClient(create_app(settings)) as client:  # restart: trains on the store
        health = client.get("/health").json()
        assert health["items"] == 37 and health["users"] == 61
        assert client.get("/items/extra").json()["title"] == "Oolong Tea Tin"
        assert client.get("/recommend/u001?k=3").json()["variant"] == body["variant"]
