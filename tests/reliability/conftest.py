"""Fixtures of the reliability suite: a private MariaDB holding a WordPress usermeta table,
and the end-of-run summary of what each test measured (figures.py)."""

from __future__ import annotations

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
