"""Shared fixtures: a real MariaDB (AUTOWEBINAR_TEST_MYSQL_URL or testcontainers) and SQLite.

The MariaDB suite must run in CI: `.ci/run` sets AUTOWEBINAR_TEST_MYSQL_URL and
AUTOWEBINAR_REQUIRE_MYSQL=1, which turns "no server" into a failure instead of a skip.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from werkzeug.test import TestResponse

from autowebinar_wp import create_app, tokens
from autowebinar_wp.db import create_embedded_schema, embedded_url, make_engine
from autowebinar_wp.store import UserMetaStore
from tests.wordpress_fixtures import WP_USERMETA_DDL, foreign_checksum, seed

MYSQL_ENV = "AUTOWEBINAR_TEST_MYSQL_URL"
REQUIRE_ENV = "AUTOWEBINAR_REQUIRE_MYSQL"
PREFIX = "wp_"
POOL = range(1, 3001)  # WordPress users with realistic meta; tests draw fresh ids from it
REF_KEYS = ("invited_by", "wh_ref", "ref")


def clear_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove AUTOWEBINAR_* configuration from the environment (keeping the test controls)."""
    for key in list(os.environ):
        if key.startswith("AUTOWEBINAR_") and key not in (MYSQL_ENV, REQUIRE_ENV):
            monkeypatch.delenv(key)


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

    def new_user(self, where: Callable[[int], bool] = lambda uid: True) -> int:
        """A user id no other test has touched (optionally one whose seeded meta fits)."""
        uid = next(self.ids)
        while not where(uid):
            uid = next(self.ids)
        return uid

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


# ---- the app on a backend, with an injectable clock and captured events -------------------

SECRET = "test-embed-secret-0123456789abcdef0123456789"
T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> datetime:
        self.current += timedelta(seconds=seconds)
        return self.current


@dataclass
class Harness:
    app: Flask
    backend: Backend
    clock: FakeClock
    events: list[tuple[int, str, int | None]] = field(default_factory=list)

    @property
    def client(self) -> FlaskClient:
        return self.app.test_client()

    def token(self, user_id: int, role: str = "viewer", ttl: int = 600) -> str:
        return tokens.mint(SECRET, user_id, role, ttl, now=self.clock().timestamp())

    def post(self, path: str, user_id: int | None = None, token: str | None = None,
             **kwargs: Any) -> TestResponse:
        headers = kwargs.pop("headers", {})
        if token is None and user_id is not None:
            token = self.token(user_id)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.post(path, headers=headers, **kwargs)


@pytest.fixture
def make_harness(backend: Backend, tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def factory(**overrides: Any) -> Harness:
        config = {
            "DATABASE_URL": backend.url if backend.name == "mysql" else None,
            "EMBED_SECRET": SECRET,
            "VIDEO_DURATION_SEC": 100,
            "CTA_AT_SEC": 60,
            "HEARTBEAT_SEC": 10,
            "CTA_URL": "https://partner.example/go?ref={ref_id}&u={user_id}",
            "LOCALE": "en",
            **overrides,
        }
        instance = backend.instance_path or str(tmp_path / f"instance-{len(made)}")
        app = create_app(config, instance_path=instance)
        harness = Harness(app, backend, FakeClock())
        app.extensions["autowebinar.clock"] = harness.clock

        def record(user_id: int, events: Any, ref: dict[str, str]) -> None:
            harness.events.extend((user_id, e.name, e.milestone) for e in events)

        app.extensions["autowebinar.emit"] = record
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        harness.app.extensions["autowebinar.engine"].dispose()


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()
