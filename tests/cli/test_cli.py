"""The command line, end to end (typer's runner, real data)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coldrec.cli.main import app

runner = CliRunner()


@pytest.fixture()
def shop(tmp_path: Path) -> Path:
    """A small shop dataset as files plus its TOML config."""
    rows = []
    for u in range(30):
        for j in range(6):
            if j != u % 6:
                rows.append({"customer": f"c{u}", "sku": f"{'g' if u < 20 else 'k'}{j}",
                             "ts": f"2024-03-{1 + j:02d}", "kind": "purchase"})
    pd.DataFrame(rows).to_csv(tmp_path / "events.csv", index=False)
    skus = [f"{p}{j}" for p in "gk" for j in range(6)] + ["g-new", "k-new"]
    names = [f"{'Garden' if p == 'g' else 'Kitchen'} thing {j}" for p in "gk" for j in range(6)]
    names += ["Garden thing, new arrival", "Kitchen thing, new arrival"]  # nobody bought yet
    pd.DataFrame({"sku": skus, "name": names}).to_csv(tmp_path / "items.csv", index=False)
    cfg = tmp_path / "shop.toml"
    cfg.write_text('[events]\npath = "events.csv"\ncolumns = { user_id = "customer", '
                   'item_id = "sku", timestamp = "ts", event_type = "kind" }\n'
                   '[catalog]\npath = "items.csv"\ncolumns = { item_id = "sku", '
                   'title = "name" }\n')
    return cfg


def test_evaluate_json_on_a_toml_dataset(shop: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--data", str(shop), "--protocol", "P1",
                                 "--model", "ease", "--params", "lam=5,ips=0", "--k", "5,10",
                                 "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["params"] == {"lam": 5, "ips": 0} and doc["configs"] == 1
    assert set(doc["metrics"]) >= {"ndcg@5", "ndcg@10", "recall@10", "coverage@10"}
    assert doc["metrics"]["recall@5"] > 0.5  # the missing group items are easy to find


def test_evaluate_tasks_json_for_multi_task_protocols(ml100k) -> None:
    result = runner.invoke(app, ["evaluate", "--data", "ml-100k", "--protocol", "P4",
                                 "--model", "popularity", "--k", "20", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc["tasks"]) == {"zero-shot", "first-1", "first-3", "first-5"}
    assert doc["tasks"]["zero-shot"]["metrics"]["ndcg@20"] == pytest.approx(0.4965, abs=5e-4)
    low, high = doc["tasks"]["zero-shot"]["ci95"]["ndcg@20"]
    assert low < 0.4965 < high


def test_evaluate_table(shop: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--data", str(shop), "--model", "content-knn",
                                 "--encoder", "e5-multilingual", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "ndcg@10" in result.stdout and "fit s" in result.stdout
    assert "ndcg 95 % CI" in result.stdout


def test_recommend_known_unknown_and_with_clicks(shop: Path, tmp_path: Path) -> None:
    saved = tmp_path / "model"
    out = runner.invoke(app, ["train", "--data", str(shop), "--model", "itemknn",
                              "--out", str(saved)])
    assert out.exit_code == 0, out.output
    known = runner.invoke(app, ["recommend", "--data", str(shop), "--load", str(saved),
                                "--user", "c1", "--k", "1", "--json"])
    assert json.loads(known.stdout)[0]["item_id"] == "g1"  # the garden item c1 never bought
    new = runner.invoke(app, ["recommend", "--data", str(shop), "--load", str(saved),
                              "--user", "somebody-new", "--item", "k2", "--k", "3", "--json"])
    recs = json.loads(new.stdout)
    assert len(recs) == 3 and all(r["item_id"].startswith("k") for r in recs)
    assert all("Kitchen" in r["product"] for r in recs)


def test_new_products_and_shoppers_through_the_cli(shop: Path) -> None:
    # a garden shopper gets the never-bought garden arrival before any kitchen product
    out = runner.invoke(app, ["recommend", "--data", str(shop), "--model", "hybrid",
                              "--params", "cf_lam=5,transfer_weight=1.0", "--user", "c1",
                              "--k", "2", "--json"])
    assert out.exit_code == 0, out.output
    ids = [r["item_id"] for r in json.loads(out.stdout)]
    assert ids[0] == "g1" and ids[1] == "g-new"
    # a search phrase finds it too; a Chinese phrase finds the garden products
    out = runner.invoke(app, ["search", "new garden thing", "--data", str(shop), "--k", "3",
                              "--json"])
    assert out.exit_code == 0, out.output
    assert "g-new" in [r["item_id"] for r in json.loads(out.stdout)]
    out = runner.invoke(app, ["search", "花园", "--data", str(shop), "--k", "3", "--json"])
    assert all(r["item_id"].startswith("g") for r in json.loads(out.stdout))
    # a new shopper after one kitchen click gets kitchen products
    out = runner.invoke(app, ["recommend", "--data", str(shop), "--user", "nobody",
                              "--item", "k3", "--k", "3", "--json"])
    assert all(r["item_id"].startswith("k") for r in json.loads(out.stdout))


def test_inspect_with_plot(shop: Path, tmp_path: Path) -> None:
    png = tmp_path / "tail.png"
    result = runner.invoke(app, ["inspect", str(shop), "--plot", str(png), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["users"] == 30 and stats["items"] == 14
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--data", "nope", "--json"])
    assert result.exit_code == 2 and "unknown dataset" in result.output
    result = runner.invoke(app, ["evaluate", "--data", "completejourney", "--model", "ease",
                                 "--params", "depth=3"])
    assert result.exit_code == 2 and "no parameter depth" in result.output


def test_rerank_option_in_evaluate_and_recommend(shop: Path) -> None:
    base = ["evaluate", "--data", str(shop), "--protocol", "P1", "--model", "ease",
            "--params", "lam=5,ips=0", "--k", "5", "--json"]
    plain = json.loads(runner.invoke(app, base).stdout)
    out = runner.invoke(app, [*base, "--rerank", "popularity:3"])
    assert out.exit_code == 0, out.output
    tuned = json.loads(out.stdout)
    assert tuned["info"]["rerank"] == "popularity:3"
    assert tuned["metrics"] != plain["metrics"]  # the re-ranker changed the lists
    bad = runner.invoke(app, [*base, "--rerank", "sparkle:1"])
    assert bad.exit_code == 2 and "unknown re-ranker 'sparkle'" in bad.output
    rec = runner.invoke(app, ["recommend", "--data", str(shop), "--model", "ease", "--params",
                              "lam=5", "--user", "c1", "--k", "3", "--rerank", "tail:3",
                              "--json"])
    assert rec.exit_code == 0, rec.output
    assert len(json.loads(rec.stdout)) == 3


def test_evaluate_saves_a_report_for_the_metrics_view(shop: Path, tmp_path: Path) -> None:
    from coldrec.eval.reports import latest_evaluation

    reports = tmp_path / "reports"
    result = runner.invoke(app, ["evaluate", "--data", str(shop), "--protocol", "P1",
                                 "--model", "popularity", "--k", "10", "--report-dir",
                                 str(reports), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = latest_evaluation(reports)
    assert report is not None and report["file"].startswith("evaluation-")
    assert report["results"][0]["model"] == "popularity"
    assert report["results"][0]["metrics"]["ndcg@10"] > 0
    assert latest_evaluation(tmp_path / "nowhere") is None


def test_evaluate_an_ensemble_of_three_members(shop: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--data", str(shop), "--protocol", "P1",
                                 "--model", "ensemble", "--params",
                                 "members=ease+itemknn+userknn", "--k", "5", "--json",
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["configs"] == 5**2 + 2  # the three-member blend grid
    assert len(doc["params"]["weights"]) == 3
    assert doc["metrics"]["recall@5"] > 0.5


def test_evaluate_leaves_out_what_the_catalogue_is_too_big_for(shop: Path) -> None:
    # 14 products over a limit of 10: EASE, DLAE and the kernel transfer cannot run, item-KNN can
    result = runner.invoke(app, ["evaluate", "--data", str(shop), "--model", "hybrid",
                                 "--params", "ease_max_items=10,semantic_weight=0,"
                                 "transfer_weight=0.5,item_trust=0,user_trust=0,new_item_boost=0",
                                 "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["configs"] == 2 and doc["info"]["configs_left_out"] == 14
    assert doc["params"]["cf"] == "itemknn"
    assert "14 of 16 configurations left out" in result.stderr and "cf='ease'" in result.stderr
