"""Fixtures of the reliability suite: a private MariaDB holding a WordPress usermeta table,
and the end-of-run summary of what each test measured (figures.py)."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests import processes
from tests.reliability import figures
from tests.support import REQUIRE_ENV
from tests.wordpress_fixtures import WP_USERMETA_DDL, foreign_checksum, seed

SCRATCH_USERS = range(1, 401)


class ScratchWordPress:
    """The private server and a `wordpress` database with a seeded usermeta table."""

    def __init__(self, server: processes.ScratchMariaDB) -> None:
        self.server = server
        self.url = server.url("wordpress")
        # No pool: the test's own reads must not keep connections across a kill -9.
        self.engine = create_engine(self.url, poolclass=NullPool)

    def checksum(self) -> tuple[int, str]:
        with self.engine.connect() as conn:
            return foreign_checksum(conn, "wp_usermeta")

    def positions(self) -> dict[int, int]:
        with self.engine.connect() as conn:
            return {int(u): int(v) for u, v in conn.execute(text(
                "SELECT user_id, meta_value FROM wp_usermeta "
                "WHERE meta_key = 'autowebinar_last_position_sec'"))}


@pytest.fixture
def scratch_wordpress(tmp_path: Path) -> Iterator[ScratchWordPress]:
    if shutil.which("mariadbd", path=os.environ.get("PATH", "") + ":/usr/sbin") is None:
        message = "mariadbd is not installed (Debian package mariadb-server)"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(message)
        pytest.skip(message)
    with processes.scratch_mariadb(tmp_path / "mariadb") as server:
        admin = create_engine(server.url(""), poolclass=NullPool)
        with admin.begin() as conn:
            conn.execute(text("CREATE DATABASE wordpress CHARACTER SET utf8mb4 "
                              "COLLATE utf8mb4_unicode_520_ci"))
        admin.dispose()
        site = ScratchWordPress(server)
        with site.engine.begin() as conn:
            conn.execute(text(WP_USERMETA_DDL.format(prefix="wp_")))
            seed(conn, "wp_usermeta", SCRATCH_USERS, "wp_")
        try:
            yield site
        finally:
            site.engine.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = figures.summary_lines()
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
    figures.write()


class FuzzTarget:
    """A real `serve` on the shared test database with every module switched on (live
    schedule, tracking links, Core's signed events), and the tokens a fuzzer uses."""

    def __init__(self, served: processes.Served, viewer_id: int, admin_id: int) -> None:
        from autowebinar_wp import tokens
        from tests.support import SECRET

        self.served, self.base = served, served.base
        self.viewer_id, self.admin_id = viewer_id, admin_id
        self.touched = {viewer_id, admin_id}  # users whose rows the fuzzers may change
        self.viewer_token = tokens.mint(SECRET, viewer_id, "viewer", 3600)
        self.admin_token = tokens.mint(SECRET, admin_id, "admin", 3600)


CORE_SECRET = "whsec_" + base64.b64encode(b"reliability-core-secret-32-bytes").decode()


@pytest.fixture(scope="module")
def fuzz_target(mysql_backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    """The server under fuzzing; afterwards nothing outside our namespaces changed and every
    namespace row is well formed."""
    import json
    from datetime import UTC, datetime

    from tests.live.support import LINK_SECRET, live_table
    from tests.reliability.crowd import LOAD_LIMITS
    from tests.reliability.integrity import assert_well_formed

    before = mysql_backend.checksum()
    env = processes.environment(
        mysql_backend.url, tmp_path_factory.mktemp("fuzz") / "instance",
        AUTOWEBINAR_LIVE=json.dumps(live_table(datetime.now(UTC))),
        AUTOWEBINAR_LIVE_LINK_SECRET=LINK_SECRET,
        AUTOWEBINAR_CORE_WEBHOOK_SECRET=CORE_SECRET,
        AUTOWEBINAR_VIDEO_DURATION_SEC="3600", AUTOWEBINAR_CTA_AT_SEC="0",
        AUTOWEBINAR_SITE_URL="https://site.example",
        **LOAD_LIMITS,  # more of each request reaches the code behind the limits
    )
    with processes.server(env, "--workers", "2") as served:
        target = FuzzTarget(served, mysql_backend.new_user(), mysql_backend.new_user())
        yield target
        assert served.process.poll() is None, "the server died while being fuzzed"
    assert mysql_backend.checksum() == before, "a row outside our namespaces changed"
    assert_well_formed(mysql_backend.engine, target.touched)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI (AUTOWEBINAR_REQUIRE_MYSQL=1) a skipped reliability test is a failed one."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and os.environ.get(REQUIRE_ENV) and "reliability" in item.keywords:
        report.outcome = "failed"
        report.longrepr = f"a reliability test may not be skipped in CI: {report.longrepr}"
