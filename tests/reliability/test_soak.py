"""Soak: 200 honest viewers heartbeat through `serve` (granian, 2 workers) for
RELIABILITY_SOAK_SEC seconds - 60 in CI, 600 with `make soak`.

Afterwards: 0 errors, 0 lost positions (every stored position is at least the last one the
server confirmed, and every confirmed position kept up with the viewer's wall clock), none
backwards, and the servers' resident memory flat between the warmed-up start and the end.
Time is compressed: a heartbeat every 2 s instead of HEARTBEAT_SEC = 10 (100 requests/s).
"""

from __future__ import annotations

import os
import time

import pytest

from tests import processes
from tests.reliability import figures
from tests.reliability.crowd import LOAD_LIMITS, Crowd
from tests.reliability.integrity import assert_well_formed

pytestmark = [pytest.mark.reliability, pytest.mark.mysql, pytest.mark.slow]

VIEWERS = 200
INTERVAL_SEC = 2.0
WARM_UP_SEC = 10.0
SOAK_SEC = float(os.environ.get("RELIABILITY_SOAK_SEC", "60"))
# Flat: less than this growth of all server processes together, warmed-up start to end.
RSS_GROWTH_LIMIT_KB = 8 * 1024


def test_soak_honest_viewers(mysql_backend, tmp_path) -> None:
    env = processes.environment(mysql_backend.url, tmp_path / "instance",
                                AUTOWEBINAR_VIDEO_DURATION_SEC="86400", **LOAD_LIMITS)
    users = [mysql_backend.new_user() for _ in range(VIEWERS)]
    with processes.server(env, "--workers", "2") as served:
        crowd = Crowd([served.base], users)
        crowd.join_all()
        crowd.run(WARM_UP_SEC, INTERVAL_SEC)  # every code path and cache has been used
        rss_start, workers = served.rss_kb(), sorted(served.workers())
        started = time.monotonic()
        crowd.run(SOAK_SEC, INTERVAL_SEC)
        ran = time.monotonic() - started
        rss_end = served.rss_kb()
        same_workers = sorted(served.workers()) == workers
        crowd.close()
    log = crowd.log
    errors = [s for s in log if s.status != 200]
    stored = {uid: int(mysql_backend.meta(uid)["autowebinar_last_position_sec"])
              for uid in users}
    lost = [v.user_id for v in crowd.viewers if stored[v.user_id] < v.last_confirmed]
    # An honest viewer is credited its wall-clock time: the last confirmed position is
    # behind the viewer's own clock by at most one interval plus the second's rounding.
    behind = [v.user_id for v in crowd.viewers
              if v.last_confirmed < v.position() - INTERVAL_SEC - 2.5]
    latencies = sorted(s.elapsed for s in log)
    figures.record(
        "soak", viewers=VIEWERS, seconds=round(ran), requests=len(log),
        requests_per_sec=round(len(log) / (ran + WARM_UP_SEC), 1), errors=len(errors),
        lost_positions=len(lost), behind_wall_clock=len(behind),
        p99_ms=round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        rss_start_mb=round(rss_start / 1024, 1), rss_end_mb=round(rss_end / 1024, 1),
        rss_growth_mb=round((rss_end - rss_start) / 1024, 2))
    assert not errors, crowd.statuses()
    assert not lost and not behind and not crowd.never_backwards()
    assert same_workers, "a worker was replaced during the soak"
    assert rss_end - rss_start < RSS_GROWTH_LIMIT_KB, (rss_start, rss_end)
    assert_well_formed(mysql_backend.engine, users)
