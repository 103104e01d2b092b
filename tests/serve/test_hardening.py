"""Input that cannot poison the service, erasure that erases, and a contract that tells the
truth (issue: the service under real traffic)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from coldrec.serve.app import create_app
from coldrec.serve.engine import RecommenderService
from coldrec.serve.settings import Settings, hash_key
from coldrec.serve.store import EventStore
from tests.serve.conftest import AUTH, KEY, make_client
from tests.serve.shop import shop_dataset

BLANK = [" ", "\t", "\x0c", "\u3000", "\u00a0", "a\x00b", "bad\nid", "x" * 201]


def problems(response) -> list[dict]:
    body = response.json()
    assert isinstance(body["detail"], list) and body["detail"], body
    for item in body["detail"]:
        assert set(item) == {"loc", "msg", "type"}
    return body["detail"]


@pytest.mark.parametrize("bad", BLANK)
def test_blank_and_control_ids_are_refused_everywhere(module_client: TestClient,
                                                      bad: str) -> None:
    before = module_client.store.count("events")
    r = module_client.post("/events", json={"user_id": bad, "item_id": "1000"}, headers=AUTH)
    assert (r.status_code == 422 and problems(r)[0]["loc"] == ["body", "Event", "user_id"]) \
        or "user_id" in r.text
    r = module_client.post("/events", json={"user_id": "100", "item_id": bad}, headers=AUTH)
    assert r.status_code == 422 and "item_id" in r.text
    assert module_client.store.count("events") == before
    for method, url in (("PUT", "/items/{}"), ("PUT", "/users/{}"), ("GET", "/recommend/{}"),
                        ("DELETE", "/users/{}")):
        body = {"title": "x"} if "items" in url else {"attributes": {}}
        r = module_client.request(method, url.format(quote(bad, safe="")), headers=AUTH,
                                  json=body if method == "PUT" else None)
        assert r.status_code in (404, 405, 422), (method, url, r.text)
        assert r.status_code != 200
    r = module_client.get("/search", params={"q": "garden", "user_id": bad})
    assert r.status_code == 422


def test_ids_are_trimmed_so_padding_names_the_same_shopper(module_client: TestClient) -> None:
    r = module_client.post("/events", json={"user_id": "  100\u3000", "item_id": " 1000 "},
                           headers=AUTH)
    assert r.status_code == 201
    assert module_client.get("/recommend/%20100%20").json()["user_id"] == "100"


@pytest.mark.parametrize("spec", ["tail:nan", "tail:inf", "tail:2:nan", "discovery:nan",
                                  "discovery:inf", "tail:1e308", "popularity:nan",
                                  "tail:2:1e308", "calibrated:0.5:-1"])
def test_bad_reranker_values_answer_422(module_client: TestClient, spec: str) -> None:
    r = module_client.get("/recommend/100", params={"rerank": spec})
    assert (r.status_code == 422 and "re-ranker" in r.text) or "tail quota" in r.text, r.text
    problems(r)
    r = module_client.post("/recommend", json={"user_id": "100", "rerank": spec})
    assert r.status_code == 422, r.text


def test_numbers_are_finite_in_attributes(module_client: TestClient) -> None:
    for raw in (b'{"attributes": {"age": NaN}}', b'{"attributes": {"age": Infinity}}'):
        r = module_client.put("/users/7", content=raw, headers={
            **AUTH, "content-type": "application/json"})
        assert r.status_code == 422, r.text
        r = module_client.post("/recommend", content=raw,
                               headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
    r = module_client.put("/users/7", json={"attributes": {" ": "x"}}, headers=AUTH)
    assert r.status_code == 422


def test_a_body_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with make_client(tmp_path / "s.sqlite", max_body_bytes=4096) as client:
        big = b'{"events": [' + b'{"user_id": "1", "item_id": "1000"},' * 2000 + b"]}"
        start = time.perf_counter()
        r = client.post("/events", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "limit of 4096" in r.text
        assert time.perf_counter() - start < 1.0
        problems(r)

        def chunks():  # no Content-Length: streamed until it passes the limit
            for _ in range(100):
                yield b" " * 1000

        r = client.post("/events", content=chunks(), headers={
            **AUTH, "content-type": "application/json"})
        assert r.status_code == 413
        assert client.store.count("events") > 0  # the seed; nothing was added or lost
        r = client.post("/events", json={"user_id": "1", "item_id": "1000"}, headers=AUTH)
        assert r.status_code == 201


def test_the_key_is_read_strictly(module_client: TestClient) -> None:
    event = {"user_id": "100", "item_id": "1000"}
    for header in (f"Bearer  {KEY}", f"bearer {KEY}", f"Bearer {KEY} ", f"Bearer\t{KEY}",
                   KEY, f"Basic {KEY}"):
        r = module_client.post("/events", json=event, headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.headers["www-authenticate"] == "Bearer"
        problems(r)


def test_errors_do_not_show_server_paths(tmp_path: Path) -> None:
    reports = tmp_path / "secret-reports-dir"
    with make_client(tmp_path / "s.sqlite", reports_dir=reports) as client:
        r = client.get("/evaluation")
        assert r.status_code == 404 and "secret" not in r.text and str(tmp_path) not in r.text
        problems(r)


def test_a_poisoned_store_cannot_stop_a_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'poisoned.sqlite'}"
    store = EventStore(url)
    data = shop_dataset(30)
    store.seed(data)
    store.add_events([{"user_id": bad, "item_id": "p00", "event_type": "click"}
                      for bad in BLANK[:5]])
    store.upsert_item("\t", {"title": "ghost"})
    store.upsert_user("\u3000", {"age": "25-34"})
    service = RecommenderService.start(store, "unused", "popularity")
    assert service.skipped_rows == 7
    with TestClient(create_app(Settings(database_url=url, data="unused", model="popularity",
                                        api_key_hashes=[hash_key(KEY)]), service)) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["skipped_rows"] == 7
        assert client.post("/admin/retrain?wait=true", headers=AUTH).status_code == 202


def test_erasure_erases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    service = RecommenderService.from_dataset(EventStore(url), shop_dataset(60), "hybrid",
                                              {"cf": "ease", "cf_lam": 10, "user_trust": 2})
    scheduled: list[bool] = []  # the retrain runs below, when the test says so
    monkeypatch.setattr(service, "schedule_retrain", lambda: scheduled.append(True))
    settings = Settings(database_url=url, data="unused", api_key_hashes=[hash_key(KEY)])
    with TestClient(create_app(settings, service)) as client:
        def top(user: str) -> list[str]:
            return [r["item_id"] for r in client.get(f"/recommend/{quote(user, safe='')}")
                    .json()["items"]]

        for user in ("u004", "u007", "u019", "u031"):
            before = top(user)
            r = client.delete(f"/users/{user}", headers=AUTH)
            assert r.status_code == 200 and r.json()["retrain"] == "scheduled"
            assert r.json()["events_removed"] > 0
            click = {"item_id": "p21", "event_type": "click"}
            assert client.post("/events", json={**click, "user_id": user},
                               headers=AUTH).status_code == 201
            assert client.post("/events", json={**click, "user_id": f"brand-new-{user}"},
                               headers=AUTH).status_code == 201
            after, fresh = top(user), top(f"brand-new-{user}")
            assert after == fresh
            assert len(set(after) & set(before)) <= len(set(fresh) & set(before)) + 1
            row = service.live.user_index[user]  # the live model forgot them at once
            assert service.live.model.history_[row].nnz == 0
        assert len(scheduled) == 4
        service.retrain()  # the scheduled fit: the store holds only their new click
        for user in ("u004", "u007", "u019", "u031"):
            assert top(user) == top(f"brand-new-{user}")


def test_any_written_id_can_be_addressed_and_erased(client: TestClient) -> None:
    odd = "shop/7 ü+?#%"
    r = client.post("/events", json={"user_id": odd, "item_id": "1003"}, headers=AUTH)
    assert r.status_code == 201
    r = client.get(f"/recommend/{quote(odd, safe='')}")
    assert r.status_code == 200 and r.json()["user_id"] == odd
    assert client.put(f"/users/{quote(odd, safe='')}", json={"attributes": {"group": "A"}},
                      headers=AUTH).status_code == 200
    r = client.delete(f"/users/{quote(odd, safe='')}", headers=AUTH)
    assert r.status_code == 200 and r.json()["events_removed"] == 1
    assert client.store.user_profile(odd) is None
    assert client.put(f"/items/{quote('sku/9', safe='')}", json={"title": "garden thing"},
                      headers=AUTH).json()["item_id"] == "sku/9"
    assert client.get(f"/items/{quote('sku/9', safe='')}").json()["title"] == "garden thing"
    assert client.get(f"/items/{quote('sku/9', safe='')}/similar").status_code == 200


def test_the_openapi_document_says_what_is_enforced(tmp_path: Path) -> None:
    with make_client(tmp_path / "open.sqlite") as client:
        paths = client.get("/openapi.json").json()["paths"]
        assert "security" not in paths["/recommend/{user_id}"]["get"]
        assert paths["/events"]["post"]["security"]
        assert {"401", "413", "422"} <= set(paths["/events"]["post"]["responses"])
        assert "404" in paths["/items/{item_id}"]["get"]["responses"]
        assert "401" not in paths["/recommend/{user_id}"]["get"]["responses"]
    with make_client(tmp_path / "closed.sqlite", open_reads=False) as client:
        doc = client.get("/openapi.json").json()
        read = doc["paths"]["/recommend/{user_id}"]["get"]
        assert read["security"] and "401" in read["responses"]
        assert client.get("/recommend/100").status_code == 401
        assert client.get("/recommend/100", headers=AUTH).status_code == 200
        assert json.dumps(doc)  # serialisable as it is


def test_an_erasure_schedules_one_retrain_in_the_background(client: TestClient) -> None:
    service = client.app.state.service
    version = service.live.version
    for user in ("100", "101", "102"):
        assert client.delete(f"/users/{user}", headers=AUTH).json()["retrain"] == "scheduled"
    deadline = time.time() + 30
    while service.live.version == version and time.time() < deadline:
        time.sleep(0.05)
    assert service.live.version > version
    assert "100" not in service.live.user_index  # the store no longer holds them
