"""The MariaDB pool hooks: autocommit, reset only when a transaction is open, idle pings.

Correctness first: a connection must never go back to the pool inside a transaction (a
stale REPEATABLE READ snapshot would be handed to the next request) or holding a lock.
"""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from autowebinar_wp import db
from autowebinar_wp.db import make_engine
from autowebinar_wp.errors import BadRequest
from autowebinar_wp.store import UserMetaStore
from tests.wire import WireLog

pytestmark = pytest.mark.mysql


@pytest.fixture
def engine(mysql_backend):
    engine = make_engine(mysql_backend.url, pool_size=1)
    connection_id(engine)  # connect now: the handshake's statements are not under test
    yield engine
    engine.dispose()


def connection_id(engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar_one())


def test_a_plain_read_costs_one_round_trip_in_autocommit(engine) -> None:
    with WireLog() as wire, engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1").all()
    assert wire.commands == ["SELECT"]  # no COMMIT, no ROLLBACK at check-in
    raw = engine.raw_connection()
    with WireLog() as wire:
        cursor = raw.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        raw.close()
    assert wire.commands == ["SELECT"]


def test_a_connection_returned_inside_a_transaction_is_rolled_back(engine) -> None:
    raw = engine.raw_connection()
    with WireLog() as wire:
        cursor = raw.cursor()
        cursor.execute("START TRANSACTION")
        cursor.execute("SELECT 1")
        cursor.close()
        raw.close()
    assert wire.commands == ["START", "SELECT", "ROLLBACK"]
    with engine.connect() as conn:  # pool_size=1: the very connection, now clean
        assert conn.exec_driver_sql(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
            "WHERE trx_mysql_thread_id = CONNECTION_ID()").scalar() == 0


def test_the_store_releases_its_lock_and_ends_its_transaction(mysql_backend, engine) -> None:
    store = UserMetaStore(engine, "wp_")
    uid = mysql_backend.new_user()
    with store.transaction(uid) as conn:
        store.load(conn, uid)
    with engine.connect() as conn:  # pool_size=1: the very connection the store used
        assert conn.execute(text("SELECT IS_FREE_LOCK(:n)"), {"n": store.lock_name(uid)}
                            ).scalar() == 1
        # no transaction left open by the store: the first statement starts a new one
        assert conn.exec_driver_sql(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
            "WHERE trx_mysql_thread_id = CONNECTION_ID()").scalar() == 0


def test_an_error_inside_rolls_back_and_releases(mysql_backend, engine) -> None:
    store = UserMetaStore(engine, "wp_")
    uid = mysql_backend.new_user()
    with WireLog() as wire, pytest.raises(BadRequest), store.transaction(uid) as conn:
        store.load(conn, uid)
        raise BadRequest()
    assert wire.commands == ["SELECT", "START", "SELECT", "ROLLBACK", "DO"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT IS_FREE_LOCK(:n)"), {"n": store.lock_name(uid)}
                            ).scalar() == 1


def test_a_busy_connection_is_not_pinged_an_idle_one_is(engine, monkeypatch) -> None:
    connection_id(engine)
    with WireLog() as wire:
        connection_id(engine)
    assert "PING" not in wire.commands
    monkeypatch.setattr(db, "PING_IDLE_SEC", 0.0)
    with WireLog() as wire:
        connection_id(engine)
    assert wire.commands[0] == "PING"


def test_an_idle_connection_the_server_dropped_is_replaced(engine, mysql_backend,
                                                           monkeypatch) -> None:
    killer = make_engine(mysql_backend.url, pool_size=1)
    try:
        first = connection_id(engine)
        with killer.connect() as conn:
            conn.exec_driver_sql(f"KILL {first}")
        monkeypatch.setattr(db, "PING_IDLE_SEC", 0.0)  # it has been idle "long enough"
        assert connection_id(engine) != first  # pinged, found dead, reconnected: no error
        second = connection_id(engine)
        with killer.connect() as conn:
            conn.exec_driver_sql(f"KILL {second}")
        monkeypatch.setattr(db, "PING_IDLE_SEC", 3600.0)  # "just used": not pinged
        with pytest.raises(OperationalError):  # the request fails once (503 in the API)...
            connection_id(engine)
        assert connection_id(engine) != second  # ...and the pool has replaced it
    finally:
        killer.dispose()


def test_every_socket_operation_is_bounded_and_the_url_may_say_otherwise(mysql_backend) -> None:
    # A hung server (tests/reliability/test_db_hang.py) must not hold a worker for ever.
    defaulted = make_engine(mysql_backend.url, pool_size=1, timeout_sec=7)
    separator = "&" if "?" in mysql_backend.url else "?"
    own = make_engine(f"{mysql_backend.url}{separator}read_timeout=3", pool_size=1,
                      timeout_sec=7)
    try:
        with defaulted.connect() as conn:
            driver = conn.connection.driver_connection
            timeouts = (driver.connect_timeout, driver._read_timeout, driver._write_timeout)
            assert timeouts == (7, 7, 7)
        with own.connect() as conn:
            driver = conn.connection.driver_connection
            assert (driver._read_timeout, driver._write_timeout) == (3, 7)
    finally:
        defaulted.dispose()
        own.dispose()
