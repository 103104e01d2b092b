"""Answers under concurrent traffic: one computation per shopper at a time, reads side by
side, writes exclusive."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from coldrec.serve.rwlock import ReadWriteLock


def test_simultaneous_misses_for_one_shopper_compute_once(client: TestClient) -> None:
    service = client.app.state.service
    calls = []
    original = service._recommend

    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(0.3)
        return original(*args, **kwargs)

    service._recommend = slow
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: service.recommend("110", 5), range(8)))
    assert len(calls) == 1 and all(a == answers[0] for a in answers)
    with ThreadPoolExecutor(4) as pool:  # different shoppers are computed side by side
        start = time.perf_counter()
        list(pool.map(lambda u: service.recommend(str(u), 5), (111, 112, 113, 114)))
        assert time.perf_counter() - start < 4 * 0.3
    assert len(calls) == 5


def test_reads_share_and_writes_wait() -> None:
    lock = ReadWriteLock()
    inside, most = [0], [0]
    guard = threading.Lock()

    def read() -> None:
        with lock.read():
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            with guard:
                inside[0] -= 1

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] > 1  # readers overlapped
    order = []

    def write() -> None:
        with lock.write():
            order.append("write")

    with lock.read():
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.05)
        order.append("read done")
    writer.join(timeout=2)
    assert order == ["read done", "write"]
