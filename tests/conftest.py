"""Shared fixtures: a real MariaDB (AUTOWEBINAR_TEST_MYSQL_URL or testcontainers) and SQLite.

The MariaDB suite must run in CI: `.ci/run` sets AUTOWEBINAR_TEST_MYSQL_URL and
AUTOWEBINAR_REQUIRE_MYSQL=1, which turns "no server" into a failure instead of a skip.
The helpers themselves live in tests/support.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from autowebinar_wp import create_app
from autowebinar_wp.db import make_engine
from tests import admin_population
from tests.support import (
    MYSQL_ENV,
    POOL,
    PREFIX,
    REQUIRE_ENV,
    SECRET,
    Backend,
    Harness,
    attach,
    sqlite_backend_at,
)
from tests.wordpress_fixtures import WP_USERMETA_DDL, seed


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


@pytest.fixture
def populated(backend: Backend) -> Iterator[admin_population.Populated]:
    """The admin tests' members (tests/admin_population.py) in their own usermeta table."""
    admin_population.create_table(backend, admin_population.PREFIX)
    data = admin_population.Populated(backend)
    data.insert(admin_population.population())
    yield data
    admin_population.drop_table(backend, admin_population.PREFIX)


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
        harness = attach(create_app(config, instance_path=instance), backend)
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        harness.detach()
        harness.services.engine.dispose()


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()
