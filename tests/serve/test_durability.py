"""No acknowledged event is lost: SIGKILL the server in the middle of a stream of posts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pandas as pd

from coldrec.serve.store import EventStore
from tests.conftest import block_frames

KEY = "durable-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(tmp: Path, db: str, port: int) -> subprocess.Popen:
    events, catalog, _ = block_frames()
    events.to_csv(tmp / "events.csv", index=False)
    catalog.to_csv(tmp / "catalog.csv", index=False)
    (tmp / "shop.toml").write_text('[events]\npath = "events.csv"\n'
                                   '[catalog]\npath = "catalog.csv"\n')
    env = {**os.environ, "COLDREC_API_KEY": KEY, "COLDREC_PROGRESS": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from coldrec.cli.main import app; app()", "serve",
         "--data", str(tmp / "shop.toml"), "--model", "popularity", "--port", str(port),
         "--database", db], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    raise AssertionError("server did not come up")


def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    port = free_port()
    proc = start_server(tmp_path, db, port)
    acked: list[int] = []
    killed = threading.Event()

    def killer() -> None:
        while len(acked) < 150:
            time.sleep(0.001)
        os.killpg(proc.pid, signal.SIGKILL)
        killed.set()

    threading.Thread(target=killer, daemon=True).start()
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5, headers=headers) as c:
        for i in range(5000):
            try:
                r = c.post("/events", json={"user_id": f"stream-{i}", "item_id": "1003",
                                            "event_type": "click"})
            except httpx.HTTPError:
                break
            if r.status_code == 201:
                acked.append(i)
    proc.wait(timeout=30)
    assert killed.is_set() and len(acked) >= 150

    proc = start_server(tmp_path, db, port)  # restart on the same store
    try:
        events = pd.read_sql("select user_id from events where user_id like 'stream-%'",
                             EventStore(db).engine)
        stored = {int(u.split("-")[1]) for u in events["user_id"]}
        assert set(acked) <= stored, sorted(set(acked) - stored)[:10]
        r = httpx.get(f"http://127.0.0.1:{port}/recommend/stream-{acked[-1]}", timeout=10)
        assert r.status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
