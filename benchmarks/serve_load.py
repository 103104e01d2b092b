"""Load on the recommendation service over loopback, written into docs/benchmarks/.

    python benchmarks/serve_load.py                 # Complete Journey, hybrid (~10 min)
    python benchmarks/serve_load.py --quick         # shorter phases

Starts `coldrec serve` with the default model and settings on a fresh SQLite store (the
start-up seeds the store and trains) and drives open-loop traffic: each request is
scheduled at a fixed rate and its latency is measured from its scheduled time, so a stalled
server cannot hide queueing (no coordinated omission). Every read asks for a different
household; /health is probed at 10/s during every phase. Phases: GET /recommend with the
answer cache off (every answer computed); 90 % reads / 10 % events (the events invalidate
those households); POST /events; and, for comparison, GET /recommend on a cache warmed with
one answer per household. Section `serve-ann`: recall@100 of the faiss index against exact
search over ALS item vectors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from _common import stamp, update_section
from coldrec.data import load
from coldrec.eval.report import markdown_table
from coldrec.models import ALS
from coldrec.models.ann import VectorIndex, exact_search, recall_at

KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(port: int, db: str, data: str, model: str, workers: int = 2, **settings: str
          ) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "COLDREC_API_KEY": KEY, "COLDREC_PROGRESS": "0",
           **{f"COLDREC_{k.upper()}": v for k, v in settings.items()}}
    begin = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from coldrec.cli.main import app; app()", "serve", "--data",
         data, "--model", model, "--port", str(port), "--database", db,
         "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    seen: set[int] = set()  # every worker up (each answers /health with its process id)
    while len(seen) < workers:
        if proc.poll() is not None:
            raise RuntimeError("the service exited during start-up")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            seen.add(int(r.json()["worker"]))
        except (httpx.HTTPError, KeyError, ValueError):
            time.sleep(0.5)
    return proc, time.perf_counter() - begin


class Connection:
    """One keep-alive HTTP/1.1 connection over asyncio streams: tens of microseconds of
    client CPU per request, so the generator does not steal the server's cores."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", "Connection: keep-alive",
                f"Content-Length: {len(body)}"]
        if body:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            self.writer = None
            raise ConnectionError("connection closed")
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status


async def drive(port: int, rate: float, seconds: float, make: Any,
                connections: int = 32, timeout_s: float = 10.0) -> dict[str, float]:
    """Open-loop traffic: request i is due at i / rate; latency counts from that time (a
    request waiting for a free connection is waiting in the server's queue, in effect). A
    request without an answer ``timeout_s`` after it was due counts as a time-out."""
    n = int(rate * seconds)
    latencies: list[float] = []
    errors = timeouts = 0
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection("127.0.0.1", port))
    t0 = time.perf_counter() + 0.2

    async def one(i: int) -> None:
        nonlocal errors, timeouts
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            conn = await asyncio.wait_for(pool.get(), due + timeout_s - time.perf_counter())
        except TimeoutError:
            timeouts += 1
            return
        method, path, body, headers = make(i)
        try:
            status = await asyncio.wait_for(conn.request(method, path, body, headers),
                                            max(0.001, due + timeout_s - time.perf_counter()))
            errors += status >= 300
            latencies.append((time.perf_counter() - due) * 1000)
        except TimeoutError:
            timeouts += 1
            conn.writer = None  # its answer may still come: start a fresh connection
        except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
            errors += 1
            conn.writer = None
        pool.put_nowait(conn)

    await asyncio.gather(*(one(i) for i in range(n)))
    lat = np.asarray(latencies) if latencies else np.asarray([np.nan])
    return {"rate/s": rate, "seconds": seconds, "requests": n, "errors": errors,
            "timeouts": timeouts, "answered in time": len(latencies),
            "p50 ms": float(np.percentile(lat, 50)), "p95 ms": float(np.percentile(lat, 95)),
            "p99 ms": float(np.percentile(lat, 99)), "max ms": float(np.max(lat))}


def ann_recall(data_name: str) -> dict[str, Any]:
    data = load(data_name)
    model = ALS(factors=64, regularization=10.0, alpha=10.0).fit(data)
    items, users = model.item_factors_, model.user_factors_
    start = time.perf_counter()
    index = VectorIndex(items, exact_below=0)
    build = time.perf_counter() - start
    rng = np.random.default_rng(0)
    queries = users[rng.choice(len(users), size=min(1000, len(users)), replace=False)]
    start = time.perf_counter()
    approx, _ = index.search(queries, 100)
    ann_ms = (time.perf_counter() - start) * 1000 / len(queries)
    start = time.perf_counter()
    exact, _ = exact_search(items, queries, 100)
    exact_ms = (time.perf_counter() - start) * 1000 / len(queries)
    return {"items": len(items), "dim": items.shape[1], "recall@100": recall_at(approx, exact),
            "build s": build, "ANN ms/query": ann_ms, "exact ms/query": exact_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="completejourney")
    parser.add_argument("--model", default="hybrid")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["load", "ann"])
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes of the service (default 2: one per core)")
    parser.add_argument("--phase", type=int, action="append",
                        help="run only these rows of the plan (0-based; repeatable); the "
                             "table is printed, not written")
    args = parser.parse_args()
    if args.only != "load":
        ann = ann_recall(args.data)
        print(ann, flush=True)
        update_section("serve-ann", "\n".join([
            f"### Approximate retrieval — {args.data}\n",
            "faiss IVF (inner product, √n cells, 35 % probed) over ALS item vectors "
            "(64 factors), 1,000 households as queries, against exact search; target "
            "recall@100 ≥ 0.95.\n", markdown_table([ann]) + "\n"]) + "\n" + stamp())
        if args.only == "ann":
            return
    seconds = 20.0 if args.quick else 60.0
    rows, startup = [], 0.0
    plan = [PLAN[i] for i in args.phase] if args.phase else PLAN
    for name, cache, rate in plan:  # a fresh service per phase: no backlog carried over
        tmp = Path(tempfile.mkdtemp(prefix="coldrec-load-"))
        port = free_port()
        proc, startup = start(port, f"sqlite:///{tmp / 'store.sqlite'}", args.data,
                              args.model, args.workers,
                              **({"cache_users": "0"} if cache == "off" else {}))
        try:
            rows.append({"traffic": name, **phase(port, args.data, name, rate, seconds)})
            print(rows[-1], flush=True)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # still working through a backlog
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)
    if not args.phase:
        write_load(args, rows, startup, seconds)


#: (traffic, answer cache, offered rate): the rows of issue 29's table
PLAN = [("GET /recommend, cache off", "off", 50.0),
        ("GET /recommend, cache off", "off", 100.0),
        ("GET /recommend, cache off", "off", 200.0),
        ("90 % reads / 10 % events, cache off", "off", 100.0),
        ("90 % reads / 10 % events", "on", 100.0),
        ("90 % reads / 10 % events", "on", 300.0),
        ("POST /events", "on", 500.0),
        ("GET /recommend, cache warmed", "on", 300.0)]


def phase(port: int, data_name: str, name: str, rate: float, seconds: float
          ) -> dict[str, Any]:
    """One phase of :data:`PLAN` against a fresh service; every read a different
    household, every event one of the households being read."""
    data = load(data_name)
    users = [str(u) for u in data.users.ids]
    items = [str(i) for i in data.items.ids]
    headers = {"Authorization": f"Bearer {KEY}"}

    def get(i: int) -> tuple[str, str, bytes, None]:
        return "GET", f"/recommend/{users[(i * 7919) % len(users)]}?k=10", b"", None

    def event(i: int) -> tuple[str, str, bytes, dict[str, str]]:
        body = {"user_id": users[(i * 7919) % len(users)],
                "item_id": items[(i * 104729) % len(items)], "event_type": "click"}
        return "POST", "/events", json.dumps(body).encode(), headers

    def mixed(i: int) -> tuple[str, str, bytes, dict[str, str] | None]:
        return event(i) if i % 10 == 9 else get(i)

    if name.endswith("warmed"):  # one answer per household first
        asyncio.run(drive(port, 40.0, len(users) / 40.0, get, timeout_s=120.0))
    make = {"GET": get, "POST": event, "90": mixed}[name.split()[0]]
    return measured(port, rate, seconds, make)


def measured(port: int, rate: float, seconds: float, make: Any) -> dict[str, Any]:
    """One open-loop phase with /health probed at 10/s beside it."""
    async def both() -> tuple[dict[str, float], dict[str, float]]:
        return await asyncio.gather(
            drive(port, rate, seconds, make),
            drive(port, 10.0, seconds, lambda i: ("GET", "/health", b"", None),
                  connections=2))
    row, health = asyncio.run(both())
    return {"offered/s": rate, "answered/s": round(row["answered in time"] / seconds, 1),
            "p50 ms": row["p50 ms"], "p99 ms": row["p99 ms"], "errors": row["errors"],
            "time-outs (10 s)": row["timeouts"], "/health p99 ms": health["p99 ms"]}


def write_load(args: argparse.Namespace, rows: list[dict[str, Any]], startup: float,
               seconds: float) -> None:
    body = [
        f"### Service under load — {args.data}, model `{args.model}` with its defaults\n",
        f"Open loop, {seconds:.0f} s per phase, latency from each request's scheduled time "
        "(percentiles over the requests answered within 10 s; the rest are time-outs); "
        f"every read a different household; `coldrec serve --workers {args.workers}` (a "
        "trainer process and the workers) and the load generator on the same 2 cores. "
        f"Start-up (seed the store, train, publish, every worker up): "
        f"{startup:.0f} s.\n",
        markdown_table(rows) + "\n",
        "Targets (issue 29): cache off, 200/s, p99 < 50 ms and no errors; mixed at 300/s, "
        "p99 < 50 ms; /health p99 < 10 ms throughout.\n",
    ]
    update_section("serve-load", "\n".join(body) + "\n" + stamp())


if __name__ == "__main__":
    main()
