"""``coldrec experiment report`` and ``simulate`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from coldrec.cli.main import app
from coldrec.experiments import Experiment, Variant
from tests.serve.conftest import AUTH, make_client
from tests.serve.shop import shop_frames

runner = CliRunner()


def test_report_reads_what_the_service_logged(tmp_path: Path) -> None:
    exp = Experiment("cli-ab", (Variant("control", model="popularity"), Variant("hybrid")))
    design = tmp_path / "exp.json"
    design.write_text(json.dumps(exp.to_json()))
    db = tmp_path / "store.sqlite"
    with make_client(db, experiment=design) as client:
        for user in ("100", "101", "102", "110"):
            body = client.get(f"/recommend/{user}?k=3").json()
            assert body["experiment"] == "cli-ab"
            assert body["variant"] == f"cli-ab/{exp.assign(user).name}"
            events = [{"user_id": user, "item_id": it["item_id"], "event_type": "impression",
                       "variant": body["variant"]} for it in body["items"]]
            events.append({"user_id": user, "item_id": body["items"][0]["item_id"],
                           "event_type": "purchase", "value": 2.0, "variant": body["variant"]})
            assert client.post("/events", json={"events": events},
                               headers=AUTH).status_code == 201
        served = client.get("/experiment/report").json()
    result = runner.invoke(app, ["experiment", "report", "--design", str(design),
                                 "--database", f"sqlite:///{db}", "--json",
                                 "--markdown", str(tmp_path / "report.md")])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc == served
    assert sum(v["users"] for v in doc["variants"]) == 4
    assert sum(v["impressions"] for v in doc["variants"]) == 12
    assert sum(v["revenue"] for v in doc["variants"]) == 8.0
    assert "Decision (ctr" in (tmp_path / "report.md").read_text()
    text = runner.invoke(app, ["experiment", "report", "--design", str(design),
                               "--database", f"sqlite:///{db}"])
    assert text.exit_code == 0 and "decision (ctr)" in text.output


def test_report_with_a_bad_design_fails_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "variants": [{"name": "only"}]}')
    result = runner.invoke(app, ["experiment", "report", "--design", str(bad)])
    assert result.exit_code == 2 and "at least two variants" in result.output


def test_simulate_on_a_toml_dataset_writes_the_report(tmp_path: Path) -> None:
    events, catalog, _ = shop_frames(n_users=150)
    events.to_csv(tmp_path / "events.csv", index=False)
    catalog.to_csv(tmp_path / "items.csv", index=False)
    cfg = tmp_path / "shop.toml"
    cfg.write_text('name = "toml-shop"\n[events]\npath = "events.csv"\n'
                   '[catalog]\npath = "items.csv"\n')
    out = tmp_path / "out"
    result = runner.invoke(app, ["experiment", "simulate", "--data", str(cfg), "--control",
                                 "popularity", "--treatment", "ease", "--params", "lam=5",
                                 "--protocol", "P1", "--k", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "they agree" in result.output
    doc = json.loads((out / "report.json").read_text())
    assert doc["agrees"] and doc["report"]["winner"] == "treatment"
    assert doc["offline"]["treatment"]["ndcg@5"] > doc["offline"]["control"]["ndcg@5"]
    assert "Replay A/B on" in (out / "report.md").read_text()
