"""A database that hangs instead of failing: the private mariadbd is frozen with SIGSTOP (its
connections stay open and nothing answers, as with a network partition or a frozen host)
while honest viewers heartbeat, then thawed with SIGCONT.

With `DATABASE_TIMEOUT_SEC` = 2, requests during the hang get their answer, a 503 JSON
error, instead of holding a server worker until the database comes back; after the thaw
every viewer is served again within seconds, and no confirmed position is lost or moves
backwards. Without the timeout (PyMySQL's default has none) nothing is answered until the
thaw: the assertion on answers received during the hang fails.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests import processes
from tests.reliability import figures
from tests.reliability.crowd import LOAD_LIMITS, Crowd
from tests.reliability.integrity import assert_well_formed

pytestmark = [pytest.mark.reliability, pytest.mark.mysql, pytest.mark.slow]

VIEWERS = 8
INTERVAL_SEC = 1.0
TIMEOUT_SEC = 2
BEFORE_SEC, HANG_SEC, AFTER_SEC = 2.0, 8.0, 2.0
RECOVERY_LIMIT_SEC = 10.0


def test_a_hung_database_gets_503s_not_stuck_workers(scratch_wordpress, tmp_path) -> None:
    site = scratch_wordpress
    before = site.checksum()
    env = processes.environment(site.url, tmp_path / "instance",
                                AUTOWEBINAR_VIDEO_DURATION_SEC="7200",
                                AUTOWEBINAR_DATABASE_TIMEOUT_SEC=str(TIMEOUT_SEC), **LOAD_LIMITS)
    with processes.server(env, "--workers", "2") as served:
        # the client waits far longer than the server should: a stuck worker shows as a
        # late answer, not as a client-side timeout
        crowd = Crowd([served.base], range(1, VIEWERS + 1), timeout=60)
        crowd.join_all()
        workers = sorted(served.workers())
        stop = threading.Event()
        runner = threading.Thread(target=crowd.run, daemon=True,
                                  args=(BEFORE_SEC + HANG_SEC + 30, INTERVAL_SEC),
                                  kwargs={"stop": stop, "threads": 4})
        runner.start()
        time.sleep(BEFORE_SEC)
        stored_before = site.positions()
        frozen_at = time.monotonic()
        site.server.freeze()
        try:
            time.sleep(HANG_SEC)
        finally:
            thawed_at = time.monotonic()
            site.server.thaw()
        viewers = {v.user_id for v in crowd.viewers}

        def everyone_served() -> bool:
            again = {s.user_id for s in crowd.log if s.at > thawed_at and s.status == 200
                     and s.at - s.elapsed > thawed_at}
            return again >= viewers

        recovered = processes.wait_until(everyone_served, 30)
        time.sleep(AFTER_SEC)
        stop.set()
        runner.join(90)
        alive = served.process.poll() is None and sorted(served.workers()) == workers
        crowd.close()
    log = crowd.log
    # answered while the database was still frozen, to requests sent while it was
    during = [s for s in log if frozen_at < s.at - s.elapsed and s.at < thawed_at]
    refused = [s for s in during if s.status == 503]
    figures.record(
        "db_hang", requests=len(log), viewers=VIEWERS, timeout_sec=TIMEOUT_SEC,
        hang_sec=HANG_SEC, answered_during_hang=dict(crowd.statuses(frozen_at, thawed_at)),
        slowest_503_sec=round(max((s.elapsed for s in refused), default=0), 2),
        all_viewers_recovered_sec=None if recovered is None else round(recovered, 2),
    )
    assert all(s.status is not None for s in log), [s for s in log if s.status is None][:5]
    wrong = [s for s in log if s.status != 200 and not (s.status == 503 and s.json_error)]
    assert not wrong, wrong[:5]
    assert refused, ("no request sent during the hang was answered before it ended: "
                     f"{crowd.statuses(frozen_at, thawed_at)}")
    assert recovered is not None and recovered <= RECOVERY_LIMIT_SEC, recovered
    assert alive, "a server process died"
    assert not crowd.never_backwards()
    stored = site.positions()
    assert all(stored[v.user_id] >= max(v.confirmed) for v in crowd.viewers)
    assert all(stored[uid] >= stored_before[uid] for uid in stored_before)
    assert_well_formed(site.engine)
    assert site.checksum() == before
