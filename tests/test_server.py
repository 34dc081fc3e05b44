"""server.py: the production server under hostile clients, as a real process.

Slow clients send their request headers byte by byte; an honest viewer is still served
promptly, because granian reads requests in its Rust layer and hands only complete ones to
the Python worker (here one worker with one thread: the most a slow client could block).
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from tests import processes

pytestmark = [pytest.mark.mysql, pytest.mark.slow]

SLOW_CLIENTS = 50
SLOW_FOR_SEC = 4.0


def trickle(port: int, stop: threading.Event, sent: list[int]) -> None:
    """One slowloris connection: a request line and headers, one byte every 50 ms."""
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 400
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for byte in request:
            if stop.is_set():
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return  # the server gave up on us: fine
            sent[0] += 1
            time.sleep(0.05)


def test_slow_clients_do_not_starve_an_honest_one(mysql_backend, tmp_path) -> None:
    env = processes.environment(mysql_backend.url, tmp_path / "instance")
    with processes.serving(env, "--workers", "1", "--threads", "1") as base:
        port = int(base.rsplit(":", 1)[1])
        stop, sent = threading.Event(), [0]
        slow = [threading.Thread(target=trickle, args=(port, stop, sent), daemon=True)
                for _ in range(SLOW_CLIENTS)]
        for thread in slow:
            thread.start()
        latencies: list[float] = []
        deadline = time.monotonic() + SLOW_FOR_SEC
        with httpx.Client(timeout=5) as http:
            time.sleep(0.5)  # every slow connection is open and trickling
            while time.monotonic() < deadline:
                start = time.perf_counter()
                assert http.get(f"{base}/healthz").status_code == 200
                latencies.append(time.perf_counter() - start)
                time.sleep(0.05)
        stop.set()
        for thread in slow:
            thread.join(5)
    assert sent[0] > SLOW_CLIENTS * 10  # the slow clients really were trickling
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"honest requests: {len(latencies)}, p50 {latencies[len(latencies) // 2] * 1000:.1f} "
          f"ms, p99 {p99 * 1000:.1f} ms, with {SLOW_CLIENTS} slow clients")
    assert len(latencies) >= 20 and p99 < 0.5
