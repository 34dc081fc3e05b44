"""The live namespace in usermeta (live/store.py over autowebinar_wp.store): write guard both
ways, its own lock tag, one row per key under concurrency, duplicates kept equal, replay."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from autowebinar_wp.db import make_engine
from autowebinar_wp.errors import ForbiddenKeyError
from autowebinar_wp.live import rules
from autowebinar_wp.live.events import live_payload
from autowebinar_wp.live.schedule import Slot
from autowebinar_wp.live.state import META_KEYS, LiveState
from autowebinar_wp.live.store import LIVE, live_store, replay_payloads
from autowebinar_wp.state import META_KEYS as AW_KEYS
from autowebinar_wp.store import AUTOWEBINAR, Namespace, UserMetaStore, guard_keys

K = META_KEYS
LIVE_PREFIX = "livewebinar_"
START = datetime(2026, 12, 10, 18, 0, tzinfo=UTC)


def slot(slot_id: str, start: datetime = START) -> Slot:
    return Slot(slot_id, start, timedelta(hours=1), "T", "https://s.example/", False, "UTC",
                timedelta(minutes=10))


def register(store: UserMetaStore[LiveState], uid: int, chosen: Slot, now: datetime) -> None:
    with store.transaction(uid) as conn:
        loaded = store.load(conn, uid)
        store.save(conn, loaded, rules.register(loaded.state, chosen, now).state)


# ---- the boundary, both ways ------------------------------------------------------------


@pytest.mark.parametrize("key", [*AW_KEYS.values(), "wp_capabilities", "ref", "livewebinarx",
                                 "livewebinar_other", ""])
def test_the_live_namespace_writes_only_its_four_keys(key) -> None:
    with pytest.raises(ForbiddenKeyError):
        guard_keys([key], LIVE)
    guard_keys(K.values(), LIVE)


@pytest.mark.parametrize("key", K.values())
def test_autowebinar_cannot_write_live_keys(key) -> None:
    with pytest.raises(ForbiddenKeyError):
        guard_keys([key], AUTOWEBINAR)


def test_no_third_namespace_can_be_declared() -> None:
    with pytest.raises(ForbiddenKeyError):
        Namespace("wp_", ("wp_capabilities",), LIVE.decode, LIVE.encode, "x")
    with pytest.raises(ForbiddenKeyError):  # keys must carry the namespace's prefix
        Namespace("livewebinar_", ("autowebinar_session_id",), LIVE.decode, LIVE.encode, "x")
    with pytest.raises(ForbiddenKeyError):
        Namespace("livewebinar_", ("livewebinar_a",), LIVE.decode, LIVE.encode, "x",
                  frozenset({"livewebinar_b"}))


def test_each_module_has_its_own_lock_names(backend) -> None:
    aw = backend.store
    live = live_store(backend.engine, "wp_", ())
    assert aw.lock_name(7).startswith("autowebinar:")
    assert live.lock_name(7).startswith("livewebinar:")
    assert aw.lock_name(7).split(":", 1)[1] == live.lock_name(7).split(":", 1)[1]
    assert len(live.lock_name(10**18)) <= 64  # GET_LOCK's limit


@pytest.mark.mysql
def test_a_heartbeat_lock_never_delays_a_registration(mysql_backend) -> None:
    """The AutoWebinar lock of a user is held; the same user's live write goes straight on."""
    uid = mysql_backend.new_user()
    aw = mysql_backend.store
    live = live_store(mysql_backend.engine, "wp_", ())
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with aw.transaction(uid):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(5)
        started = time.monotonic()
        register(live, uid, slot("a"), START - timedelta(days=1))
        assert time.monotonic() - started < 1.0  # not the 5 s lock timeout
        assert mysql_backend.meta(uid, LIVE_PREFIX)[K["slot_id"]] == "a"
    finally:
        release.set()
        holder.join()


# ---- rows ---------------------------------------------------------------------------------


def test_threads_race_one_row_per_key(backend) -> None:
    uid = backend.new_user()
    engine = make_engine(backend.url, pool_size=8)
    store = live_store(engine, "wp_", ())
    errors: list[BaseException] = []
    now = START - timedelta(days=1)

    def worker(n: int) -> None:
        try:
            for i in range(5):
                register(store, uid, slot("a" if (n + i) % 2 else "b"), now + timedelta(
                    seconds=n * 10 + i))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert errors == []
    keys = [k for k, _ in backend.rows(uid, LIVE_PREFIX)]
    assert sorted(keys) == sorted(set(keys)), "a key got a second row"
    assert set(keys) == {K["slot_id"], K["slot_starts_at"], K["registered_at"]}


def test_duplicates_left_by_wordpress_are_kept_equal(backend) -> None:
    uid = backend.new_user()
    backend.insert_raw(uid, K["slot_id"], "a")
    backend.insert_raw(uid, K["slot_id"], "b")  # two rows, disagreeing
    store = live_store(backend.engine, "wp_", ())
    assert store.read(uid).state.slot_id == "a"  # the oldest copy, as get_user_meta reads
    register(store, uid, slot("c"), START - timedelta(days=1))
    assert [v for k, v in backend.rows(uid, LIVE_PREFIX) if k == K["slot_id"]] == ["c", "c"]


def test_a_user_without_a_registration_has_no_rows(backend) -> None:
    uid = backend.new_user()
    store = live_store(backend.engine, "wp_", ())
    with store.transaction(uid) as conn:
        loaded = store.load(conn, uid)
        assert store.save(conn, loaded, loaded.state) == 0
    assert backend.rows(uid, LIVE_PREFIX) == []


def test_replay_re_derives_the_sent_events(backend) -> None:
    uid = backend.new_user(where=lambda u: u % 3 and u % 2 and u % 5)  # only Core's `ref`
    store = live_store(backend.engine, "wp_", ("invited_by", "wh_ref", "ref"))
    now = START - timedelta(days=1)
    with store.transaction(uid) as conn:
        loaded = store.load(conn, uid)
        outcome = rules.register(loaded.state, slot("a"), now)
        joined = rules.join(outcome.state, slot("a"), START)
        store.save(conn, loaded, joined.state)
        sent = [live_payload(e, uid, None) for e in outcome.events + joined.events]
    with backend.engine.connect() as conn:
        found = [p for _n, batch in replay_payloads(conn, store.table, now - timedelta(hours=1),
                                                     store.ref_keys) for p in batch
                 if p["user_id"] == uid]
    assert [p["event_id"] for p in found] == [p["event_id"] for p in sent]
    assert {p["ref_id"] for p in found} == {f"partner-{uid % 11}"}
    with backend.engine.connect() as conn:
        later = [p for _n, batch in replay_payloads(conn, store.table, START + timedelta(days=1),
                                                     ()) for p in batch if p["user_id"] == uid]
    assert later == []


def test_the_live_store_reads_no_autowebinar_row(backend) -> None:
    uid = backend.new_user()
    backend.insert_raw(uid, AW_KEYS["session_id"], "0b7f4c1e-6a0e-4b8e-9a55-8c3f1f1f2a10")
    loaded = live_store(backend.engine, "wp_", ()).read(uid)
    assert loaded.raw == {} and loaded.state == LiveState()
    with backend.engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM wp_usermeta WHERE user_id = :u"),
                         {"u": uid}).scalar()
    assert n and n > 1  # the user has WordPress and AutoWebinar rows; none was loaded


def test_replay_skips_users_whose_dates_are_garbage(backend) -> None:
    uid = backend.new_user()
    backend.insert_raw(uid, K["slot_id"], "a")
    backend.insert_raw(uid, K["registered_at"], "yesterday")  # sorts after any real date
    store = live_store(backend.engine, "wp_", ())
    with backend.engine.connect() as conn:
        found = [n for n, _batch in replay_payloads(conn, store.table,
                                                    datetime(2999, 1, 1, tzinfo=UTC), ())]
    assert sum(found) == 0
