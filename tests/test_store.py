import dataclasses
import multiprocessing
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from autowebinar_wp.errors import ForbiddenKeyError
from autowebinar_wp.state import META_KEYS, State
from autowebinar_wp.store import AUTOWEBINAR, Loaded, guard_keys, save, usermeta_table
from tests import hammer
from tests.wire import WireLog

K = META_KEYS
T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def fresh_state(**changes) -> State:
    base = State(str(uuid.uuid4()), T0, 0, 0, False, None, T0)
    return dataclasses.replace(base, **changes)


class StatementLog:
    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, *args):
        words = statement.split()
        self.statements.append(words[0].upper() + (" " + words[1] if len(words) > 1 else ""))


def write(backend, user_id: int, new: State) -> Loaded:
    store = backend.store
    with store.transaction(user_id) as conn:
        loaded = store.load(conn, user_id)
        store.save(conn, loaded, new)
    return loaded


def test_empty_user_loads_defaults_and_ref_keys(backend) -> None:
    # seeded: ref (uid % 3 != 0), wh_ref (even), invited_by (uid % 5 == 0)
    uid = backend.new_user(where=lambda u: u % 10 == 0 and u % 3 != 0)
    loaded = backend.store.read(uid)
    assert loaded.state == State()
    assert loaded.ref == {"ref": f"partner-{uid % 11}", "wh_ref": "wh-0",
                          "invited_by": str(uid // 5)}


def test_first_save_inserts_once_and_reads_back(backend) -> None:
    uid = backend.new_user()
    state = fresh_state(last_position_sec=5)
    with StatementLog(backend.engine) as log:
        write(backend, uid, state)
    writes = [s for s in log.statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes == ["INSERT INTO"], log.statements
    assert backend.meta(uid) == {
        K["session_id"]: state.session_id,
        K["started_at"]: "2026-11-26 12:00:00",
        K["last_position_sec"]: "5",
        K["progress_percent"]: "0",
        K["completed"]: "0",
        K["last_seen_at"]: "2026-11-26 12:00:00",
    }
    assert backend.store.read(uid).state == state


def test_only_changed_keys_are_written(backend) -> None:
    uid = backend.new_user()
    state = fresh_state()
    write(backend, uid, state)
    before = backend.rows(uid)
    later = dataclasses.replace(
        state, last_position_sec=30, last_seen_at=T0 + timedelta(seconds=30)
    )
    with StatementLog(backend.engine) as log, WireLog() as wire:
        write(backend, uid, later)
    writes = [s for s in log.statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes == ["UPDATE " + backend.table], log.statements
    if backend.name == "mysql":
        # the locked path: lock, begin, one read, one write, commit, unlock (no ping of a
        # busy connection, no ROLLBACK on return to the pool); heartbeats take the
        # optimistic path instead (test_viewing.py)
        assert wire.commands == ["SELECT", "START", "SELECT", "UPDATE", "COMMIT", "DO"]
    after = backend.meta(uid)
    assert after[K["last_position_sec"]] == "30"
    assert after[K["last_seen_at"]] == "2026-11-26 12:00:30"
    assert len(backend.rows(uid)) == len(before)


def test_no_change_issues_no_write(backend) -> None:
    uid = backend.new_user()
    state = fresh_state()
    write(backend, uid, state)
    with StatementLog(backend.engine) as log:
        write(backend, uid, state)
    assert not [s for s in log.statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]


def test_duplicates_left_by_wordpress_are_all_updated(backend) -> None:
    uid = backend.new_user()
    state = fresh_state(last_position_sec=5)
    write(backend, uid, state)
    # Two concurrent update_user_meta() calls in WordPress can leave a second row.
    backend.insert_raw(uid, K["last_position_sec"], "9")
    loaded = backend.store.read(uid)
    assert loaded.state.last_position_sec == 5  # the oldest row, as get_user_meta(.., true)
    assert loaded.copies[K["last_position_sec"]] == 2
    write(backend, uid, dataclasses.replace(state, last_position_sec=12))
    copies = [v for k, v in backend.rows(uid) if k == K["last_position_sec"]]
    assert copies == ["12", "12"]


def test_unequal_duplicates_are_made_equal_even_without_a_change(backend) -> None:
    uid = backend.new_user()
    state = fresh_state(last_position_sec=5)
    write(backend, uid, state)
    backend.insert_raw(uid, K["last_position_sec"], "9")
    write(backend, uid, state)
    copies = [v for k, v in backend.rows(uid) if k == K["last_position_sec"]]
    assert copies == ["5", "5"]


def test_garbage_row_is_read_safely_and_repaired_on_write(backend) -> None:
    uid = backend.new_user()
    state = fresh_state()
    write(backend, uid, state)
    with backend.engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE {backend.table} SET meta_value = 'abc' WHERE user_id = {uid} "
            f"AND meta_key = '{K['last_position_sec']}'"
        )
    loaded = backend.store.read(uid)
    assert loaded.state.last_position_sec == 0
    write(backend, uid, dataclasses.replace(loaded.state, last_position_sec=3))
    assert backend.meta(uid)[K["last_position_sec"]] == "3"


@pytest.mark.parametrize(
    "key", ["wp_capabilities", "ref", "invited_by", "autowebinarx", "autowebinar_other", "",
            "livewebinar_slot_id"]
)
def test_write_guard_refuses_foreign_keys(key) -> None:
    with pytest.raises(ForbiddenKeyError):
        guard_keys([key])


def test_save_cannot_be_tricked_into_foreign_keys(backend) -> None:
    uid = backend.new_user()
    evil = dataclasses.replace(AUTOWEBINAR, encode=lambda s: {"wp_capabilities": "a:0:{}"})
    loaded = backend.store.read(uid)
    with backend.engine.begin() as conn, pytest.raises(ForbiddenKeyError):
        save(conn, usermeta_table("wp_"), loaded, fresh_state(), evil)


def test_threads_race_one_row_per_key_no_lost_update(backend) -> None:
    uid = backend.new_user()
    threads, times = 24, 8
    errors = hammer.run_threads(backend.url, "wp_", uid, threads, times)
    assert errors == []
    rows = backend.rows(uid)
    keys = [k for k, _ in rows]
    assert sorted(keys) == sorted(set(keys)), "a key got a second row"
    assert len(keys) == 6
    assert backend.meta(uid)[K["last_position_sec"]] == str(threads * times)


@pytest.mark.slow
def test_processes_race_one_row_per_key_no_lost_update(backend) -> None:
    uid = backend.new_user()
    processes, threads, times = 4, 6, 5
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        results = [
            pool.apply_async(hammer.run_threads, (backend.url, "wp_", uid, threads, times))
            for _ in range(processes)
        ]
        errors = [e for r in results for e in r.get(timeout=120)]
    assert errors == []
    keys = [k for k, _ in backend.rows(uid)]
    assert sorted(keys) == sorted(set(keys))
    assert backend.meta(uid)[K["last_position_sec"]] == str(processes * threads * times)
