"""Slow clients (slowloris): 50 connections send their request headers one byte at a time
while an honest viewer joins and heartbeats; the viewer is still served promptly.

What makes it true is the server setting `serve` uses by default (server.py): granian's HTTP
layer (Rust) reads requests and slow clients asynchronously and hands only complete requests
to the Python worker, and drops a client that has not sent its headers within
HEADER_READ_TIMEOUT_SEC. Here the server has one worker with one thread - the most a slow
client could block. (Moved from tests/test_server.py, now with a viewer on the database.)
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from tests import processes
from tests.reliability import figures
from tests.reliability.crowd import LOAD_LIMITS, Crowd

pytestmark = [pytest.mark.reliability, pytest.mark.mysql, pytest.mark.slow]

SLOW_CLIENTS = 50
SLOW_FOR_SEC = 4.0
BYTE_EVERY_SEC = 0.05


def trickle(port: int, stop: threading.Event, sent: list[int]) -> None:
    """One slowloris connection: a request line and headers, one byte every 50 ms."""
    request = b"POST /api/v1/session/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + (
        b"a" * 400)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for byte in request:
            if stop.is_set():
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return  # the server gave up on us: fine
            sent[0] += 1
            time.sleep(BYTE_EVERY_SEC)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def test_slow_clients_do_not_starve_an_honest_viewer(mysql_backend, tmp_path) -> None:
    env = processes.environment(mysql_backend.url, tmp_path / "instance",
                                AUTOWEBINAR_VIDEO_DURATION_SEC="3600", **LOAD_LIMITS)
    with processes.server(env, "--workers", "1", "--threads", "1") as served:
        stop, sent = threading.Event(), [0]
        slow = [threading.Thread(target=trickle, args=(served.port, stop, sent), daemon=True)
                for _ in range(SLOW_CLIENTS)]
        for thread in slow:
            thread.start()
        time.sleep(0.5)  # every slow connection is open and trickling
        crowd = Crowd([served.base], [mysql_backend.new_user()])
        crowd.join_all()
        health: list[float] = []
        deadline = time.monotonic() + SLOW_FOR_SEC
        with httpx.Client(timeout=5) as http:
            while time.monotonic() < deadline:
                crowd.heartbeat(crowd.viewers[0])
                started = time.perf_counter()
                assert http.get(f"{served.base}/healthz").status_code == 200
                health.append(time.perf_counter() - started)
                time.sleep(0.05)
        stop.set()
        for thread in slow:
            thread.join(5)
        crowd.close()
    viewer = [s.elapsed for s in crowd.log]
    figures.record("slow_clients", slow_connections=SLOW_CLIENTS, bytes_trickled=sent[0],
                   viewer_requests=len(viewer),
                   viewer_p50_ms=round(percentile(viewer, 0.5) * 1000, 1),
                   viewer_p99_ms=round(percentile(viewer, 0.99) * 1000, 1),
                   healthz_p99_ms=round(percentile(health, 0.99) * 1000, 1))
    assert sent[0] > SLOW_CLIENTS * 10  # the slow clients really were trickling
    assert all(s.status == 200 for s in crowd.log), crowd.statuses()
    assert len(viewer) >= 20 and percentile(viewer, 0.99) < 0.5
    assert percentile(health, 0.99) < 0.5
