"""viewing.py: many heartbeats of one user at once, on both write paths.

On MariaDB heartbeats take the optimistic path (no lock: SELECT, then an UPDATE whose SQL
keeps the position moving forward, and a compare-and-set per milestone). Whatever the
interleaving: one row per key (duplicates kept equal), the position never moves backwards
and ends at the highest report, and every milestone event is emitted exactly once.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from autowebinar_wp.session import Join, progress_for
from autowebinar_wp.state import META_KEYS
from autowebinar_wp.viewing import apply
from tests import racers
from tests.support import T0, session_event_id

K = META_KEYS
MILESTONE_EVENTS = [("autowebinar_progress", m) for m in (25, 50, 75, 100)] + [
    ("autowebinar_completed", None)]


def joined(harness, uid: int) -> tuple[str, int, int]:
    """Join at T0; the anchor (position 0 at T0) every racer then uses."""
    with harness.app.app_context():
        anchor = apply(harness.services, uid, Join(harness.services.new_id())).outcome.anchor
    assert anchor is not None
    return anchor.session_id, anchor.position_ms, anchor.at_ms


def watch_position(backend, uid: int, stop: threading.Event, seen: list[int]) -> None:
    while not stop.is_set():
        value = backend.meta(uid).get(K["last_position_sec"])
        if value is not None and value.isdigit():
            seen.append(int(value))
        time.sleep(0.002)


def run_race(harness, uid: int, processes: int, threads: int, times: int) -> dict:
    backend = harness.backend
    anchor = joined(harness, uid)
    # 100 s after the join: every report up to the end is honest wall-clock time
    now = (T0 + timedelta(seconds=100)).isoformat()
    url = backend.url if backend.name == "mysql" else None
    instance = backend.instance_path or harness.app.instance_path
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=watch_position, args=(backend, uid, stop, seen))
    watcher.start()
    try:
        if processes == 0:
            results = [racers.heartbeats(url, instance, uid, anchor, now, threads, times, 1)]
        else:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(processes) as pool:
                pending = [pool.apply_async(racers.heartbeats, (url, instance, uid, anchor, now,
                                                                threads, times, seed))
                           for seed in range(processes)]
                results = [p.get(timeout=180) for p in pending]
    finally:
        stop.set()
        watcher.join()
    merged = {key: [x for r in results for x in r[key]] for key in ("errors", "events",
                                                                     "reported")}
    merged["seen"] = seen
    return merged


def joined_ids(sid: str) -> str:
    return session_event_id(sid, "autowebinar_join")


def check(backend, uid: int, result: dict, copies: int = 1) -> None:
    assert result["errors"] == []
    assert result["seen"] == sorted(result["seen"]), "the stored position moved backwards"
    rows = backend.rows(uid)
    counts = Counter(k for k, _ in rows)
    assert set(counts.values()) == {copies}, f"a key lost or gained a row: {counts}"
    for key in counts:  # every copy of a key holds the same value
        assert len({v for k, v in rows if k == key}) == 1, key
    meta = backend.meta(uid)
    best = int(max(result["reported"]))
    assert meta[K["last_position_sec"]] == str(best)
    progress = progress_for(best, racers.SESSION)
    assert meta[K["progress_percent"]] == str(progress)
    assert meta[K["completed"]] == ("1" if progress == 100 else "0")
    sid = meta[K["session_id"]]
    wanted = {session_event_id(sid, name, m) for name, m in MILESTONE_EVENTS
              if (m or 100) <= progress}
    assert len(wanted) >= 3  # the race crossed milestones, or it tested little
    emitted = Counter(e for e in result["events"] if e != joined_ids(sid))
    assert emitted == dict.fromkeys(wanted, 1), "a milestone event was lost or repeated"


def test_threads_race_heartbeats(harness) -> None:
    uid = harness.backend.new_user()
    check(harness.backend, uid, run_race(harness, uid, 0, 24, 8))


@pytest.mark.slow
def test_processes_race_heartbeats(harness) -> None:
    uid = harness.backend.new_user()
    check(harness.backend, uid, run_race(harness, uid, 4, 6, 5))


def test_duplicates_stay_equal_and_garbage_is_overwritten_under_a_race(harness) -> None:
    backend = harness.backend
    uid = backend.new_user()
    joined(harness, uid)
    for key, value in list(backend.meta(uid).items()):  # WordPress left a second copy of each
        backend.insert_raw(uid, key, value)
    check(backend, uid, run_race(harness, uid, 0, 12, 6), copies=2)
    # garbage written by hand: read as 0, repaired by the next save
    other = backend.new_user()
    joined(harness, other)
    with backend.engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE {backend.table} SET meta_value = 'x9' WHERE user_id = {other} "
            f"AND meta_key = '{K['last_position_sec']}'")
    check(backend, other, run_race(harness, other, 0, 12, 6))
