"""snapshots.py: where snapshots live, when they are rebuilt, and that one rebuild runs at once.

Single flight is checked with real processes (the instance folder's flock) and, with
Redis, with processes that share nothing but the Redis server (as separate hosts would).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from autowebinar_wp import reports
from autowebinar_wp.db import make_engine
from autowebinar_wp.snapshots import (
    Blobs,
    FolderBlobs,
    RedisBlobs,
    SnapshotPending,
    Snapshots,
)
from autowebinar_wp.store import usermeta_table
from tests.admin_population import (
    DURATION,
    PREFIX,
    Populated,
    expected_funnel,
    expected_order,
)
from tests.support import FakeClock

REDIS_URL = os.environ.get("AUTOWEBINAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TABLE = usermeta_table(PREFIX)


def run_now(work: Callable[[], None]) -> None:
    work()


def redis_blobs() -> RedisBlobs:
    blobs = RedisBlobs(REDIS_URL, prefix=f"awtest-{uuid.uuid4().hex[:8]}:")
    try:
        blobs.client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis at {REDIS_URL} is required for this test: {exc}")
    return blobs


@pytest.fixture(params=["folder", pytest.param("redis", marks=pytest.mark.redis)])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Blobs]:
    if request.param == "folder":
        yield FolderBlobs(tmp_path / "snapshots")
        return
    store = redis_blobs()
    yield store
    keys = list(store.client.scan_iter(match=f"{store.prefix}*"))
    if keys:
        store.client.delete(*keys)


def snapshots_on(populated: Populated, blobs: Blobs, clock: FakeClock,
                 **overrides: Any) -> Snapshots:
    settings: dict[str, Any] = {
        "blobs": blobs, "engine": populated.backend.engine, "table": TABLE,
        "duration_sec": DURATION, "max_age_sec": 300.0,
        "pace": reports.Pace(batch_ids=500, pause_ratio=0), "clock": clock,
        "background": run_now, **overrides}
    return Snapshots(**settings)


# ---- the blob stores ---------------------------------------------------------------------------


def test_blobs_store_read_slice_and_prune(blobs: Blobs) -> None:
    assert blobs.get("a.1") is None and blobs.get_range("a.1", 0, 4) is None
    blobs.put("a.1", b"0123456789")
    blobs.put("a.2", b"xy")
    blobs.put("b.1", b"other")
    assert blobs.get("a.1") == b"0123456789"
    assert blobs.get_range("a.1", 2, 5) == b"234" and blobs.get_range("a.1", 8, 20) == b"89"
    assert blobs.get_range("a.1", 3, 3) == b""
    blobs.put("a.1", b"new")  # replaced whole
    assert blobs.get("a.1") == b"new"
    blobs.prune("a.", keep={"a.2"})
    assert blobs.get("a.1") is None and blobs.get("a.2") == b"xy" and blobs.get("b.1")


def test_a_lease_is_exclusive_until_released(blobs: Blobs) -> None:
    first = blobs.lease("scope")
    assert first is not None and blobs.leased("scope")
    assert blobs.lease("scope") is None  # another thread or process asking: refused
    assert blobs.lease("other") is not None
    first.renew()
    first.release()
    assert not blobs.leased("scope")
    again = blobs.lease("scope")
    assert again is not None
    again.release()


@pytest.mark.redis
def test_an_abandoned_redis_lease_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    from autowebinar_wp import snapshots

    monkeypatch.setattr(snapshots, "LEASE_SEC", 1)
    store = redis_blobs()
    lease = store.lease("scope")  # its holder "dies": never renewed, never released
    assert lease is not None and store.lease("scope") is None
    time.sleep(1.2)
    taken = store.lease("scope")
    assert taken is not None
    taken.release()
    lease.release()  # the stale holder's release touches nobody's lock (logged)


# ---- serving: fresh, stale, missing ---------------------------------------------------------


def test_missing_then_fresh_then_stale(populated: Populated, tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    snaps = snapshots_on(populated, FolderBlobs(tmp_path / "s"), clock)
    first = snaps.current(clock())
    assert (first.stale, first.refreshing, snaps.builds) == (False, False, 1)
    assert first.snapshot.computed_at == clock()
    assert dict(first.snapshot.funnel.stages()) == expected_funnel(populated.rows)

    clock.advance(299)
    again = snaps.current(clock())
    assert again.snapshot == first.snapshot and not again.stale and snaps.builds == 1

    clock.advance(2)  # older than the maximum age: served at once, rebuilt behind it
    stale = snaps.current(clock())
    assert stale.stale and stale.refreshing and stale.snapshot == first.snapshot
    assert snaps.builds == 2
    fresh = snaps.current(clock())
    assert not fresh.stale and fresh.snapshot.computed_at == clock()
    assert fresh.snapshot.generation != first.snapshot.generation


def test_a_new_user_shows_after_the_rebuild(populated: Populated, tmp_path: Path) -> None:
    clock = FakeClock()
    snaps = snapshots_on(populated, FolderBlobs(tmp_path / "s"), clock)
    before = snaps.current(clock()).snapshot.funnel.sessions
    populated.insert([(9000, "autowebinar_session_id", "new")])
    assert snaps.current(clock()).snapshot.funnel.sessions == before  # the snapshot's
    assert snaps.rebuild().funnel.sessions == before + 1


def test_another_configuration_rebuilds(populated: Populated, tmp_path: Path) -> None:
    clock = FakeClock()
    folder = FolderBlobs(tmp_path / "s")
    snapshots_on(populated, folder, clock).current(clock())
    longer = snapshots_on(populated, folder, clock, duration_sec=200)
    served = longer.current(clock())
    assert longer.builds == 1 and served.snapshot.duration_sec == 200
    assert len(longer.retention(served.snapshot)) == 201


def test_pages_are_slices_of_the_stored_order(populated: Populated, tmp_path: Path) -> None:
    clock = FakeClock()
    snaps = snapshots_on(populated, FolderBlobs(tmp_path / "s"), clock)
    snapshot = snaps.current(clock()).snapshot
    for sort in reports.SORTS:
        for descending in (False, True):
            want = expected_order(populated.rows, sort, descending)
            got = [uid for offset in range(0, len(want) + 40, 40)
                   for uid in snaps.page_ids(snapshot, sort, descending, offset, 40)]
            assert got == want, (sort, descending)
    assert snaps.page_ids(snapshot, "user_id", True, snapshot.members, 10) == []


def test_a_snapshot_holds_counts_a_histogram_and_ids_only(populated: Populated,
                                                          tmp_path: Path) -> None:
    folder = tmp_path / "s"
    clock = FakeClock()
    snaps = snapshots_on(populated, FolderBlobs(folder), clock)
    snapshot = snaps.current(clock()).snapshot
    names = sorted(p.name.split(".", 1)[1] for p in folder.iterdir() if p.name.startswith("admin"))
    generation = snapshot.generation
    assert names == sorted(["json", "lock", f"{generation}.retention",
                            *(f"{generation}.{s}" for s in reports.SORTS)])
    size = len((folder / f"{snaps.scope}.{generation}.user_id").read_bytes())
    assert size == 4 * snapshot.members  # 32-bit ids, nothing else per user
    snaps.rebuild()
    snaps.rebuild()  # the generation before the last is pruned
    assert len(list(folder.glob(f"{snaps.scope}.*.user_id"))) == 2


def test_nothing_is_created_in_the_wordpress_database(populated: Populated,
                                                      tmp_path: Path) -> None:
    engine = populated.backend.engine
    before = sorted(inspect(engine).get_table_names())
    clock = FakeClock()
    snapshots_on(populated, FolderBlobs(tmp_path / "s"), clock).current(clock())
    assert sorted(inspect(make_engine(str(engine.url.render_as_string(False))))
                  .get_table_names()) == before


# ---- single flight --------------------------------------------------------------------------


def test_refresh_does_not_start_a_second_rebuild(populated: Populated, tmp_path: Path) -> None:
    clock = FakeClock()
    folder = FolderBlobs(tmp_path / "s")
    snaps = snapshots_on(populated, folder, clock)
    snaps.current(clock())
    held = folder.lease(snaps.scope)  # another worker is rebuilding
    assert held is not None
    try:
        assert snaps.refresh() is False and snaps.builds == 1
        clock.advance(1000)
        stale = snaps.current(clock())
        assert stale.stale and stale.refreshing and snaps.builds == 1
    finally:
        held.release()
    assert snaps.refresh() is True and snaps.builds == 2


def test_a_request_without_a_snapshot_waits_for_the_rebuild_under_way(
        populated: Populated, tmp_path: Path) -> None:
    clock = FakeClock()
    folder = FolderBlobs(tmp_path / "s")
    builder = snapshots_on(populated, folder, clock)
    waiter = snapshots_on(populated, folder, clock)
    lease = folder.lease(builder.scope)
    assert lease is not None
    thread = threading.Thread(target=lambda: (time.sleep(0.5), builder.build(lease)))
    thread.start()
    served = waiter.current(clock())
    thread.join()
    assert waiter.builds == 0 and builder.builds == 1
    assert served.snapshot == builder.read()


def test_waiting_gives_up_with_a_503(populated: Populated, tmp_path: Path) -> None:
    folder = FolderBlobs(tmp_path / "s")
    clock = FakeClock()
    waiter = snapshots_on(populated, folder, clock, wait_sec=0.3)
    held = folder.lease(waiter.scope)
    try:
        with pytest.raises(SnapshotPending) as caught:
            waiter.current(clock())
        assert caught.value.status == 503
    finally:
        assert held is not None
        held.release()


def _contend(url: str, prefix: str, folder: str, redis_url: str | None,
             start: Any, out: Any) -> None:
    """One worker process: its own engine and store object, the same folder or Redis."""
    engine = make_engine(url)
    blobs: Blobs = RedisBlobs(redis_url, prefix=prefix) if redis_url else FolderBlobs(Path(folder))
    snaps = Snapshots(blobs=blobs, engine=engine, table=usermeta_table(PREFIX),
                      duration_sec=DURATION, max_age_sec=300,
                      pace=reports.Pace(batch_ids=40, pause_ratio=0,
                                        sleep=lambda s: None),
                      clock=lambda: datetime.now(UTC), background=run_now)
    slow = reports.tally

    def slower(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.6)  # long enough for every process to ask while this one scans
        return slow(*args, **kwargs)

    reports.tally = slower  # type: ignore[assignment]
    start.wait()
    served = snaps.current(datetime.now(UTC))
    out.put((snaps.builds, served.snapshot.generation, served.snapshot.funnel.sessions))
    engine.dispose()


def contend(populated: Populated, folder: Path, redis_url: str | None, prefix: str,
            workers: int = 4) -> list[tuple[int, str, int]]:
    context = multiprocessing.get_context("fork")
    start, out = context.Event(), context.Queue()
    url = populated.backend.engine.url.render_as_string(False)
    processes = [context.Process(target=_contend, args=(url, prefix, str(folder), redis_url,
                                                        start, out))
                 for _ in range(workers)]
    for process in processes:
        process.start()
    start.set()
    results = [out.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(10)
        assert process.exitcode == 0
    return results


@pytest.mark.slow
def test_worker_processes_build_once(populated: Populated, tmp_path: Path) -> None:
    populated.backend.engine.dispose()  # no pooled connection crosses the fork
    results = contend(populated, tmp_path / "shared", None, "")
    assert sum(builds for builds, _g, _s in results) == 1
    assert len({generation for _b, generation, _s in results}) == 1
    assert {sessions for _b, _g, sessions in results} == {expected_funnel(populated.rows)
                                                          ["sessions"]}


@pytest.mark.slow
@pytest.mark.redis
def test_hosts_sharing_redis_build_once(populated: Populated, tmp_path: Path) -> None:
    store = redis_blobs()
    populated.backend.engine.dispose()
    try:
        # separate instance folders: only Redis is shared, as between two hosts
        results = contend(populated, tmp_path / "unused", REDIS_URL, store.prefix)
        assert sum(builds for builds, _g, _s in results) == 1
        assert len({generation for _b, generation, _s in results}) == 1
    finally:
        keys = list(store.client.scan_iter(match=f"{store.prefix}*"))
        if keys:
            store.client.delete(*keys)


def test_a_failed_background_rebuild_frees_the_lease(populated: Populated, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    folder = FolderBlobs(tmp_path / "s")
    snaps = snapshots_on(populated, folder, clock)
    snaps.current(clock())

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(reports, "tally", broken)
    assert snaps.refresh() is True
    assert "admin snapshot rebuild failed" in caplog.text
    assert not folder.leased(snaps.scope) and snaps.builds == 1
    with populated.backend.engine.connect() as conn:  # the table is still there, untouched
        assert conn.execute(text(f"SELECT COUNT(*) FROM {PREFIX}usermeta")).scalar()  # noqa: S608
    assert snaps.current(clock() + timedelta(seconds=1)).snapshot.generation
