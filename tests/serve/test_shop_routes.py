"""What the demo page reads and what experiments change in the service."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from coldrec.eval.reports import save_evaluation
from coldrec.eval.runner import run_protocol
from coldrec.experiments import Experiment, Variant
from coldrec.models.registry import get_model_spec
from tests.conftest import block_frames
from tests.serve.conftest import AUTH, make_client


def test_impressions_are_logged_but_change_no_answer(client: TestClient) -> None:
    before = client.get("/recommend/100?k=5").json()["items"]
    shown = [{"user_id": "100", "item_id": it["item_id"], "event_type": "impression"}
             for it in before]
    assert client.post("/events", json={"events": shown}, headers=AUTH).status_code == 201
    assert client.get("/recommend/100?k=5").json()["items"] == before
    assert sum(e["event_type"] == "impression" for e in client.store.user_events("100")) == 5
    events, _, _ = client.store.frames()  # what a retrain reads
    assert "impression" not in set(events["event_type"])
    assert client.post("/admin/retrain?wait=true", headers=AUTH).status_code == 202
    assert client.get("/recommend/100?k=5").json()["items"] == before


def test_catalogue_pages_categories_and_items(client: TestClient) -> None:
    page = client.get("/items", params={"limit": 5}).json()
    assert page["total"] == 12 and len(page["items"]) == 5
    rest = client.get("/items", params={"offset": 10, "limit": 5}).json()
    assert len(rest["items"]) == 2
    garden = client.get("/items", params={"category": "Home > Garden", "limit": 50}).json()
    assert garden["total"] == 6 and all(p["title"].startswith("garden")
                                        for p in garden["items"])
    assert client.get("/items", params={"contains": "KITCHEN PRODUCT 7"}).json()["total"] == 1
    item = client.get("/items/1003").json()
    assert item == {"item_id": "1003", "title": "garden product 3", "category": "Home > Garden",
                    "brand": "Acme", "price": 4.0}
    assert client.get("/items/nope").status_code == 404
    info = client.get("/shop").json()
    assert info["categories"] == ["Home", "Home > Garden", "Home > Kitchen"]
    assert info["attributes"]["group"] == ["A", "B"] and info["experiment"] is None
    assert info["open_writes"] is False


def test_new_arrivals_rank_the_newest_products(tmp_path: Path) -> None:
    with make_client(tmp_path / "s.sqlite") as client:
        client.app.state.service.new_arrivals = 3
        shelf = client.get("/recommend/100/new-arrivals?k=10").json()["items"]
        # the three products first bought last are the shelf (block events run in user order)
        events, _, _ = block_frames()
        newest = events.groupby("item_id")["timestamp"].min().nlargest(3).index
        assert {it["item_id"] for it in shelf} == {str(i) for i in newest} - \
            {e["item_id"] for e in client.store.user_events("100")}
        body = {"title": "garden product deluxe", "category": "Home > Garden", "price": 3.0}
        assert client.put("/items/new-g", json=body, headers=AUTH).json()["recommendable"]
        shelf = client.get("/recommend/100/new-arrivals?k=10").json()["items"]
        assert shelf[0]["item_id"] == "new-g" and shelf[0]["reason"]
        assert client.get("/items", params={"limit": 1}).json()["items"][0]["item_id"] == \
            "new-g"  # the catalogue lists the newest first


def test_open_writes_lets_a_local_demo_write_without_a_key(tmp_path: Path) -> None:
    event = {"user_id": "100", "item_id": "1001", "event_type": "click"}
    with make_client(tmp_path / "a.sqlite") as closed:
        assert closed.post("/events", json=event).status_code == 401
    with make_client(tmp_path / "b.sqlite", open_writes=True) as open_:
        assert open_.post("/events", json=event).status_code == 201
        assert open_.get("/shop").json()["open_writes"] is True


def test_stats_and_evaluation_for_the_metrics_view(tmp_path: Path) -> None:
    with make_client(tmp_path / "s.sqlite", reports_dir=tmp_path / "reports") as client:
        assert client.get("/evaluation").status_code == 404
        for user in ("100", "101", "120"):
            client.get(f"/recommend/{user}?k=4")
        client.post("/events", json={"user_id": "100", "item_id": "1001"}, headers=AUTH)
        stats = client.get("/stats").json()
        assert stats["live"]["events"] == 1 and stats["live"]["recommendations"] == 3
        assert stats["live"]["latency_ms"]["p50"] > 0
        curve = stats["longtail"]
        assert curve["served"] == 12 and curve["x"][-1] == 1.0
        assert curve["purchases"][-1] == curve["recommended"][-1] == 1.0
        assert 0 < curve["coverage"] <= 1 and len(curve["x"]) == 12
        assert curve["purchases"] == sorted(curve["purchases"])
        data = client.app.state.service.live.data
        res = run_protocol(data, "P1", get_model_spec("popularity").build, [{}], [10],
                           model_name="popularity", progress=False)
        save_evaluation([res], tmp_path / "reports", "coldrec evaluate --model popularity")
        report = client.get("/evaluation").json()
        assert report["results"][0]["model"] == "popularity"
        assert report["command"] == "coldrec evaluate --model popularity"
        assert client.get("/").status_code == 200
        assert "coldrec" in client.get("/").text
    with make_client(tmp_path / "t.sqlite", demo_page=False) as client:
        assert client.get("/").status_code == 404


def test_experiment_arms_answer_with_their_own_model(tmp_path: Path) -> None:
    exp = Experiment("arms", (Variant("pop", model="popularity"),
                              Variant("tail", rerank="popularity:3"), Variant("plain")))
    design = tmp_path / "exp.json"
    design.write_text(json.dumps(exp.to_json()))
    with make_client(tmp_path / "s.sqlite", experiment=design) as client:
        assert client.get("/experiment/report").json()["variants"][0]["users"] == 0
        service = client.app.state.service
        assert len({id(v) for v in service.models._lives.values()}) == 2  # hybrid shared by two
        by_arm: dict[str, list[list[str]]] = {}
        for u in range(100, 140):
            body = client.get(f"/recommend/{u}?k=3").json()
            assert body["variant"] == f"arms/{exp.assign(str(u)).name}"
            by_arm.setdefault(body["variant"], []).append([i["item_id"] for i in body["items"]])
        # popularity shows everyone (of a group) the same head; the hybrid finds the missing
        # item of each shopper (the known best answer of the block shop)
        assert all(len(v) > 3 for v in by_arm.values())
        pop_first = {lst[0] for lst in by_arm["arms/pop"]}
        plain_first = {lst[0] for lst in by_arm["arms/plain"]}
        assert len(plain_first) > len(pop_first)
        # the anonymous and the unassigned get the service's own model, no variant
        assert client.post("/recommend", json={"attributes": {"group": "A"}}).json()[
            "variant"] is None
        assert client.put("/items/x9", json={"title": "garden product new"},
                          headers=AUTH).json()["recommendable"]
        assert client.post("/admin/retrain?wait=true", headers=AUTH).status_code == 202
        assert {v.version for v in service.models._lives.values()} == {2}
    with make_client(tmp_path / "n.sqlite") as client:
        assert client.get("/experiment/report").status_code == 404


def test_similar_products_by_co_purchase_and_by_text(client: TestClient) -> None:
    similar = client.get("/items/1001/similar?k=5").json()["items"]
    # the garden group buys garden products together
    assert {it["item_id"] for it in similar} == {"1000", "1002", "1003", "1004", "1005"}
    # both signals agree here; each item names the stronger one
    assert {it["reason"] for it in similar} <= {"bought together with garden product 1",
                                                "described like garden product 1"}
    # a product nobody bought is matched by its text
    body = {"title": "kitchen product extra", "category": "Home > Kitchen"}
    client.put("/items/k-new", json=body, headers=AUTH)
    similar = client.get("/items/k-new/similar?k=4").json()["items"]
    assert all(it["category"] == "Home > Kitchen" for it in similar)
    assert all(it["reason"].startswith("described like kitchen product extra")
               for it in similar)
