"""One SQLAlchemy Engine per process, and the embedded SQLite default.

On MySQL/MariaDB nothing is ever created or altered: the WordPress schema is WordPress's.
Only in embedded mode (no DATABASE_URL) do we create a SQLite file in the instance folder
with a `wp_usermeta`-shaped table and WordPress's two indexes, so the demo runs anywhere.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError

from autowebinar_wp.errors import ConfigError
from autowebinar_wp.state import State
from autowebinar_wp.store import UserMetaStore, usermeta_table

EMBEDDED_DB_NAME = "autowebinar.sqlite3"
# A pooled connection idle for longer than this is pinged before use (see _mysql_pool).
PING_IDLE_SEC = 1.0
_CHECKED_IN_AT = "autowebinar.checked_in_at"
SERVER_STATUS_IN_TRANS = 1  # the protocol's SERVER_STATUS_IN_TRANS flag


def embedded_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / EMBEDDED_DB_NAME)


def make_engine(url: str, *, pool_size: int = 5, timeout_sec: int = 10) -> Engine:
    """An engine with the settings WordPress's database needs (utf8mb4, pre-ping, recycle).

    On MySQL/MariaDB every socket operation is bounded by `timeout_sec` (PyMySQL's connect,
    read and write timeouts; the URL's own `?read_timeout=` etc. win): without a read
    timeout, a server that stops answering without closing the connection (a network
    partition, a frozen host) would hold a worker forever. A timed-out statement fails like
    a lost connection: a 503, and the connection is dropped from the pool.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError([f"DATABASE_URL is not a valid SQLAlchemy URL: {exc}"]) from exc
    backend = parsed.get_backend_name()
    if backend in ("mysql", "mariadb"):
        if parsed.get_driver_name() not in ("pymysql", "default", "mysqldb"):
            raise ConfigError(["DATABASE_URL: use the PyMySQL driver, mysql+pymysql://..."])
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        timeouts = {name: timeout_sec for name in ("connect_timeout", "read_timeout",
                                                   "write_timeout")
                    if name not in parsed.query}
        engine = create_engine(
            parsed,
            connect_args=timeouts,
            pool_recycle=3600,
            pool_size=pool_size,
            max_overflow=pool_size,
            # The most recently returned connection first: the busy ones stay warm (and
            # skip the idle ping), the spare ones idle until pool_recycle or a ping.
            pool_use_lifo=True,
            pool_reset_on_return=None,  # done by the "reset" hook in _mysql_pool
            # Every statement commits itself: a heartbeat is SELECT + UPDATE with no COMMIT
            # round trip (store.py). The locked path opens its own transaction. Closing a
            # connection then needs no ROLLBACK either.
            isolation_level="AUTOCOMMIT",
            skip_autocommit_rollback=True,
        )
        _mysql_pool(engine)
        return engine
    if backend == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30})
        _sqlite_transactions(engine)
        return engine
    raise ConfigError(
        [f"DATABASE_URL: {backend} is not supported; WordPress runs on MySQL or MariaDB"]
    )


def _mysql_pool(engine: Engine) -> None:
    """Pre-ping and reset-on-return, each without a round trip on the heartbeat path.

    * Ping before use only a connection that sat in the pool for more than PING_IDLE_SEC,
      not on every checkout as `pool_pre_ping=True` does: that ping was one of eight round
      trips per heartbeat. Idle connections are the ones a server restart, `wait_timeout`
      or a proxy drops, and they are still checked; a connection returned a moment ago is
      not. If the server goes away under load, the first statement on a busy connection
      fails (503) and SQLAlchemy then invalidates the whole pool, as it would without ping.
      A failed ping raises DisconnectionError, on which the pool reconnects and retries.
    * Reset on return: ROLLBACK only if the server says a transaction is still open (its
      status flags, from the last reply: no round trip to ask). In autocommit that happens
      only if an error interrupted the store's locked path. SQLAlchemy's documented way for
      a custom reset: `pool_reset_on_return=None` plus this event.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_CHECKED_IN_AT)
        if idle_since is not None and time.monotonic() - idle_since > PING_IDLE_SEC:
            try:
                dialect.do_ping(dbapi_connection)
            except dialect.loaded_dbapi.Error as exc:
                raise DisconnectionError("the pooled connection did not answer") from exc

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        if in_transaction(dbapi_connection):
            dbapi_connection.rollback()


def in_transaction(dbapi_connection: Any) -> bool:
    """Whether the server reported an open transaction (PyMySQL keeps its status flags;
    another driver is assumed to have one open, which costs a ROLLBACK, never a leak)."""
    status = getattr(dbapi_connection, "server_status", None)
    if status is None:
        return True
    return bool(status & SERVER_STATUS_IN_TRANS)


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, emit BEGIN, and make it BEGIN IMMEDIATE.

    pysqlite's legacy transaction handling defers BEGIN until the first write, so two
    processes could both read a stale state and then race; IMMEDIATE takes the write lock
    at BEGIN, which serialises read-modify-write across processes.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_embedded_schema(engine: Engine, prefix: str) -> None:
    """Embedded mode only: the wp_usermeta-shaped table and WordPress's indexes."""
    assert engine.dialect.name == "sqlite", "never create tables in the WordPress database"
    usermeta_table(prefix).metadata.create_all(engine, checkfirst=True)


def open_store(config: Mapping[str, Any],
               instance_path: str) -> tuple[Engine, UserMetaStore[State], bool]:
    """The engine and the usermeta store; the embedded SQLite file when no DATABASE_URL is set."""
    embedded = not config.get("DATABASE_URL")
    if embedded:
        os.makedirs(instance_path, exist_ok=True)
        url = embedded_url(instance_path)
    else:
        url = str(config["DATABASE_URL"])
    engine = make_engine(url, pool_size=int(config.get("DB_POOL_SIZE", 5)),
                         timeout_sec=int(config.get("DATABASE_TIMEOUT_SEC", 10)))
    if embedded:
        create_embedded_schema(engine, config["TABLE_PREFIX"])
    return engine, UserMetaStore(engine, config["TABLE_PREFIX"], config["REF_META_KEYS"]), embedded
