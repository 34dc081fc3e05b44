"""Shared fixtures: a real MariaDB (AUTOWEBINAR_TEST_MYSQL_URL or testcontainers) and SQLite.

The MariaDB suite must run in CI: `.ci/run` sets AUTOWEBINAR_TEST_MYSQL_URL and
AUTOWEBINAR_REQUIRE_MYSQL=1, which turns "no server" into a failure instead of a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from autowebinar_wp.db import create_embedded_schema, embedded_url, make_engine
from autowebinar_wp.store import UserMetaStore
from tests.wordpress_fixtures import WP_USERMETA_DDL, foreign_checksum, seed

MYSQL_ENV = "AUTOWEBINAR_TEST_MYSQL_URL"
REQUIRE_ENV = "AUTOWEBINAR_REQUIRE_MYSQL"
PREFIX = "wp_"
POOL = range(1, 3001)  # WordPress users with realistic meta; tests draw fresh ids from it
REF_KEYS = ("invited_by", "wh_ref", "ref")


def _mysql_unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"MariaDB is required ({REQUIRE_ENV}=1) but unavailable: {reason}")
    pytest.skip(f"no MariaDB/MySQL: set {MYSQL_ENV} ({reason})")


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    url = os.environ.get(MYSQL_ENV)
    if url:
        yield url
        return
    try:  # no DSN given: try a throwaway container (needs a Docker engine)
        from testcontainers.mysql import MySqlContainer

        container = MySqlContainer("mariadb:10.11", dialect="pymysql")
        container.start()
    except Exception as exc:  # noqa: BLE001 - any failure means "no container here"
        _mysql_unavailable(f"{type(exc).__name__}: {exc}")
    try:
        yield container.get_connection_url()
    finally:
        container.stop()


@dataclass
class Backend:
    """One database with a seeded WordPress usermeta table."""

    name: str
    url: str
    engine: Engine
    table: str = f"{PREFIX}usermeta"
    ids: Iterator[int] = field(default_factory=lambda: iter(POOL))
    instance_path: str | None = None

    @property
    def store(self) -> UserMetaStore:
        return UserMetaStore(self.engine, PREFIX, REF_KEYS)

    def new_user(self) -> int:
        return next(self.ids)

    def rows(self, user_id: int) -> list[tuple[str, str | None]]:
        with self.engine.connect() as conn:
            return [
                (k, v)
                for k, v in conn.execute(
                    text(
                        f"SELECT meta_key, meta_value FROM {self.table} "  # noqa: S608
                        "WHERE user_id = :u AND meta_key LIKE 'autowebinar!_%' ESCAPE '!' "
                        "ORDER BY umeta_id"
                    ),
                    {"u": user_id},
                )
            ]

    def meta(self, user_id: int) -> dict[str, str | None]:
        return dict(self.rows(user_id))

    def insert_raw(self, user_id: int, key: str, value: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(f"INSERT INTO {self.table} (user_id, meta_key, meta_value) "  # noqa: S608
                     "VALUES (:u, :k, :v)"),
                {"u": user_id, "k": key, "v": value},
            )

    def checksum(self) -> tuple[int, str]:
        with self.engine.connect() as conn:
            return foreign_checksum(conn, self.table)


@pytest.fixture(scope="session")
def mysql_backend(mysql_url: str) -> Iterator[Backend]:
    """A session-wide seeded table; every non-autowebinar row must be untouched at the end."""
    engine = make_engine(mysql_url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {PREFIX}usermeta"))
        conn.execute(text(WP_USERMETA_DDL.format(prefix=PREFIX)))
        seed(conn, f"{PREFIX}usermeta", POOL, PREFIX)
    backend = Backend("mysql", str(make_url(mysql_url).render_as_string(False)), engine)
    before = backend.checksum()
    yield backend
    after = backend.checksum()
    engine.dispose()
    assert after == before, "a row outside the autowebinar_* namespace changed during the run"


def sqlite_backend_at(instance: Path) -> Backend:
    instance.mkdir(parents=True, exist_ok=True)
    url = embedded_url(str(instance))
    engine = make_engine(url)
    create_embedded_schema(engine, PREFIX)
    with engine.begin() as conn:
        seed(conn, f"{PREFIX}usermeta", range(1, 301), PREFIX)
    return Backend("sqlite", url, engine, ids=iter(range(1, 301)), instance_path=str(instance))


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "mysql":
        yield request.getfixturevalue("mysql_backend")
        return
    b = sqlite_backend_at(tmp_path / "instance")
    before = b.checksum()
    yield b
    assert b.checksum() == before, "a row outside the autowebinar_* namespace changed"
    b.engine.dispose()
