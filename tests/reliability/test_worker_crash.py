"""A server worker killed with -9 under load: at most the requests it had in flight fail,
the state stays consistent, and granian's master starts a replacement."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from tests import processes
from tests.reliability import figures
from tests.reliability.crowd import LOAD_LIMITS, Crowd
from tests.reliability.integrity import assert_well_formed

pytestmark = [pytest.mark.reliability, pytest.mark.mysql, pytest.mark.slow]

VIEWERS = 24
THREADS = 8  # client threads: each has at most one request in flight
INTERVAL_SEC = 0.25


def test_worker_killed_under_load(mysql_backend, tmp_path) -> None:
    before = mysql_backend.checksum()
    env = processes.environment(mysql_backend.url, tmp_path / "instance",
                                AUTOWEBINAR_VIDEO_DURATION_SEC="7200", **LOAD_LIMITS)
    users = [mysql_backend.new_user() for _ in range(VIEWERS)]
    with processes.server(env, "--workers", "2") as served:
        crowd = Crowd([served.base], users)
        crowd.join_all()
        workers = served.workers()
        assert len(workers) == 2, workers
        stop = threading.Event()
        runner = threading.Thread(target=crowd.run, args=(30, INTERVAL_SEC), daemon=True,
                                  kwargs={"stop": stop, "threads": THREADS})
        runner.start()
        time.sleep(2)
        victim = workers[0]
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)

        def replaced() -> bool:
            now = served.workers()
            return len(now) == 2 and victim not in now and all(
                processes.alive(pid) for pid in now)

        respawned = processes.wait_until(replaced, 15)
        time.sleep(3)  # serving on the replacement
        stop.set()
        runner.join(30)
        master_alive = served.process.poll() is None
        crowd.close()
    log = crowd.log
    failed = [s for s in log if s.status != 200]
    after = [s for s in log if s.at > killed_at + 2]
    figures.record("worker_crash", requests=len(log), failed=len(failed),
                   failures=sorted({s.error or str(s.status) for s in failed}),
                   replaced_after_sec=None if respawned is None else round(respawned, 2),
                   requests_after_replacement=len(after))
    assert master_alive, "the server's master died"
    assert respawned is not None, "the killed worker was not replaced"
    assert len(failed) <= THREADS, f"more than the in-flight requests failed: {failed}"
    assert all(killed_at - 0.5 <= s.at <= killed_at + 2 for s in failed), failed
    assert after and all(s.status == 200 for s in after)
    assert not crowd.never_backwards()
    stored = {uid: int(mysql_backend.meta(uid)["autowebinar_last_position_sec"]) for uid in users}
    assert all(stored[v.user_id] >= max(v.confirmed) for v in crowd.viewers)
    assert_well_formed(mysql_backend.engine, users)
    assert mysql_backend.checksum() == before
