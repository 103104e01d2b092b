"""`coldrec serve --workers 2` as a shop runs it: writes taken by one worker reach the
other's next answer, products and erasures within a second, and a worker killed with
SIGKILL is replaced by a healthy one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.serve.shop import shop_frames

KEY = "workers-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("workers")
    events, catalog, users = shop_frames(n_users=60)
    events.to_csv(tmp / "events.csv", index=False)
    catalog.to_csv(tmp / "items.csv", index=False)
    users.to_csv(tmp / "users.csv", index=False)
    (tmp / "shop.toml").write_text('name = "shop"\n[events]\npath = "events.csv"\n'
                                   '[catalog]\npath = "items.csv"\n[users]\npath = "users.csv"\n')
    port = _free_port()
    env = {**os.environ, "COLDREC_API_KEY": KEY, "COLDREC_PROGRESS": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from coldrec.cli.main import app; app()", "serve", "--data",
         str(tmp / "shop.toml"), "--port", str(port), "--workers", "2", "--database",
         f"sqlite:///{tmp / 'store.sqlite'}", "--params", "cf=ease", "--params", "cf_lam=5"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: len(_workers(base)) == 2, 180, proc)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        assert not (tmp / "store.sqlite-models").exists() or \
            len(list((tmp / "store.sqlite-models").iterdir())) <= 3  # old versions pruned


def _wait_for(check: object, seconds: float, proc: subprocess.Popen | None = None) -> float:
    """Seconds until ``check()`` holds (fails after ``seconds``)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            if check():  # type: ignore[operator]
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        if proc is not None and proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


def _workers(base: str, tries: int = 40) -> dict[int, httpx.Client]:
    """A client (its own connection) per worker process found."""
    found: dict[int, httpx.Client] = {}
    for _ in range(tries):
        client = httpx.Client(base_url=base, timeout=10)
        pid = client.get("/health").json()["worker"]
        if pid in found:
            client.close()
        else:
            found[pid] = client
        if len(found) == 2:
            break
    return found


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["item_id"] for r in response.json()["items"]]


def test_a_click_on_one_worker_changes_the_others_next_answer(server: str) -> None:
    (a, b) = _workers(server).values()
    before = _ids(b.get("/recommend/u007", params={"k": 5}))
    r = a.post("/events", headers=AUTH, json={"user_id": "u007", "item_id": before[0],
                                               "event_type": "purchase"})
    assert r.status_code == 201
    after = _ids(b.get("/recommend/u007", params={"k": 5}))
    assert before[0] not in after  # bought: the other worker excludes it at once


def test_products_and_erasures_reach_every_worker_within_a_second(server: str) -> None:
    (a, b) = _workers(server).values()
    items = b.get("/health").json()["items"]
    r = a.put("/items/p-oat", headers=AUTH, json={
        "title": "Organic Oat Milk Barista", "category": "Grocery > Dairy", "price": 3.5})
    assert r.status_code in (200, 201) and r.json()["recommendable"]
    took = _wait_for(lambda: b.get("/health").json()["items"] == items + 1, 1.0)
    assert took < 1.0
    # erased on one worker, then one click: the other answers like for a brand-new shopper
    assert a.delete("/users/u010", headers=AUTH).status_code == 200
    for user in ("u010", "brand-new-1"):
        a.post("/events", headers=AUTH, json={"user_id": user, "item_id": "p40",
                                              "event_type": "click"})
    fresh = _ids(b.get("/recommend/brand-new-1", params={"k": 10}))
    _wait_for(lambda: _ids(b.get("/recommend/u010", params={"k": 10})) == fresh, 1.0)


def test_a_killed_worker_is_replaced_and_healthy(server: str) -> None:
    workers = _workers(server)
    victim, other = list(workers)
    for bad in ({"user_id": " ", "item_id": "p00"}, {"user_id": "x\x00", "item_id": "p00"}):
        r = workers[other].post("/events", headers=AUTH, json={**bad, "event_type": "click"})
        assert r.status_code == 422  # poisoned input refused, nothing stored
    os.kill(victim, signal.SIGKILL)
    took = _wait_for(lambda: (set(_workers(server)) - {victim, other}) != set(), 60)
    fresh = next(c for pid, c in _workers(server).items() if pid != other)
    health = fresh.get("/health").json()
    assert health["status"] == "ok" and health["items"] >= 36 and took < 60
    assert _ids(fresh.get("/recommend/u001", params={"k": 3}))
