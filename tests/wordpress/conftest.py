"""Fixtures for the WordPress plugin suite: a private WordPress site and the sidecar beside it.

Needs php-cli + php-mysql, Debian's `wordpress` package and the MariaDB server of
AUTOWEBINAR_TEST_MYSQL_URL. Without them the suite is skipped, or fails when
AUTOWEBINAR_REQUIRE_MYSQL=1 (as in CI). See tests/wordpress/README.md.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from tests.live.support import live_config
from tests.wordpress.harness import (
    PLUGIN_DIR,
    HarnessUnavailable,
    WordPressSite,
    build_site,
)

MYSQL_ENV = "AUTOWEBINAR_TEST_MYSQL_URL"
REQUIRE_ENV = "AUTOWEBINAR_REQUIRE_MYSQL"

# The sidecar's configuration for these tests. Its clock is real time plus an offset the
# end-to-end test moves forward, so a minute of "watching" takes no time at all.
VIDEO_DURATION_SEC = 60
CTA_AT_SEC = 30
CTA_URL = "https://partner.example/offer?ref={ref_id}&user={user_id}"


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"the WordPress suite is required ({REQUIRE_ENV}=1) but: {reason}")
    pytest.skip(f"WordPress suite unavailable: {reason}")


@pytest.fixture(scope="session")
def wp_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPressSite]:
    """A freshly installed WordPress with the plugin active, served by `php -S`."""
    mysql_url = os.environ.get(MYSQL_ENV)
    if not mysql_url:
        _unavailable(f"{MYSQL_ENV} is not set")
    root = tmp_path_factory.mktemp("wordpress")
    try:
        site = build_site(root, str(mysql_url))
    except HarnessUnavailable as exc:
        _unavailable(str(exc))
    try:
        yield site
    finally:
        site.close()


@pytest.fixture(autouse=True)
def _no_php_errors_from_the_plugin(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test whose requests made PHP log a notice, warning or error in our plugin."""
    if "wp_site" not in request.fixturenames:
        yield
        return
    site: WordPressSite = request.getfixturevalue("wp_site")
    offset = site.debug_log_size()
    yield
    new = site.new_debug_log(offset)
    ours = [
        line for line in new.splitlines()
        if str(PLUGIN_DIR) in line or "plugins/autowebinar" in line or "snippet-" in line
    ]
    assert not ours, "PHP logged problems in the plugin:\n" + "\n".join(ours)


@pytest.fixture(scope="session")
def admin_http(wp_site: WordPressSite) -> httpx.Client:
    return wp_site.login("awadmin")


@pytest.fixture(scope="session")
def viewer_http(wp_site: WordPressSite) -> httpx.Client:
    return wp_site.login("viewer")


# --- The sidecar ---------------------------------------------------------------------------


class ShiftedClock:
    """The sidecar's clock seam: now (UTC) plus `offset` seconds; only ever moved forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Sidecar:
    url: str
    app: Any
    clock: ShiftedClock

    def has_route(self, rule: str, method: str = "GET") -> bool:
        return any(
            r.rule == rule and method in (r.methods or ())
            for r in self.app.url_map.iter_rules()
        )

    def require(self, *routes: tuple[str, str]) -> None:
        """Skip (with the reason) while the sidecar does not serve these routes yet."""
        missing = [f"{m} {r}" for m, r in routes if not self.has_route(r, m)]
        if missing:
            pytest.skip("the sidecar does not serve " + ", ".join(missing) + " yet")


@pytest.fixture(scope="session")
def sidecar(wp_site: WordPressSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    """The real sidecar app on the port the plugin's AUTOWEBINAR_SIDECAR_URL names."""
    from autowebinar_wp import create_app
    from autowebinar_wp.services import services

    app = create_app(
        {
            "DATABASE_URL": wp_site.db_url,
            "TABLE_PREFIX": "wp_",
            "EMBED_SECRET": wp_site.secret,
            "VIDEO_DURATION_SEC": VIDEO_DURATION_SEC,
            "CTA_AT_SEC": CTA_AT_SEC,
            "START_DELAY_SEC": 0,
            "HEARTBEAT_SEC": 1,
            "CTA_URL": CTA_URL,
            "SITE_URL": wp_site.url,
            "FRAME_ANCESTORS": f"'self' {wp_site.url}",
            "LOCALE": "en",
            "LOG_LEVEL": "WARNING",
            "WEBHOOK_URLS": [],
            # live webinars around the real time of the run ([autowebinar_live])
            **live_config(datetime.now(UTC), SITE_URL=wp_site.url,
                          LIVE_WEBINARS_URL=f"{wp_site.url}/?page_id={wp_site.pages['live']}"),
        },
        instance_path=str(tmp_path_factory.mktemp("sidecar-instance")),
    )
    clock = ShiftedClock()
    services(app).clock = clock  # the services' clock seam
    server: BaseWSGIServer = make_server("127.0.0.1", wp_site.sidecar_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="sidecar", daemon=True)
    thread.start()
    try:
        yield Sidecar(wp_site.sidecar_url, app, clock)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        services(app).engine.dispose()


@pytest.fixture(scope="session")
def sidecar_http(sidecar: Sidecar) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sidecar.url, timeout=30, follow_redirects=False) as client:
        yield client


# --- Shared data -----------------------------------------------------------------------------

# What the sidecar would have written for two users: one halfway, one finished with the CTA.
# The datetimes cross midnight in the site timezone (UTC+3) on purpose.
META_IN_PROGRESS = {
    "autowebinar_session_id": "3f1c2a9e-7b4d-4c1e-9a6f-2d8e5b7c1a04",
    "autowebinar_started_at": "2024-05-01 20:00:00",
    "autowebinar_last_position_sec": "754",
    "autowebinar_progress_percent": "75",
    "autowebinar_completed": "0",
    "autowebinar_last_seen_at": "2024-05-01 21:30:00",
}
META_DONE = {
    "autowebinar_session_id": "b7e0d7f4-52a1-4c55-8d0c-8f1f3a6e9b21",
    "autowebinar_started_at": "2024-04-30 08:00:00",
    "autowebinar_last_position_sec": "3600",
    "autowebinar_progress_percent": "100",
    "autowebinar_completed": "1",
    "autowebinar_cta_clicked_at": "2024-04-30 09:01:05",
    "autowebinar_last_seen_at": "2024-04-30 09:02:00",
}


@pytest.fixture(scope="session")
def meta_users(wp_site: WordPressSite) -> dict[str, int]:
    """Users `meta` and `done` with autowebinar_* rows INSERTed as the sidecar writes them."""
    ids = {"meta": wp_site.users["meta"].id, "done": wp_site.users["done"].id}
    wp_site.write_meta_as_sidecar(ids["meta"], META_IN_PROGRESS)
    wp_site.write_meta_as_sidecar(ids["done"], META_DONE)
    return ids


def user_row(html_text: str, user_id: int) -> str:
    """The <tr> of one user on users.php."""
    match = re.search(rf"<tr id=['\"]user-{user_id}['\"].*?</tr>", html_text, re.DOTALL)
    assert match, f"user {user_id} is not listed"
    return match.group(0)


def column_cell(row_html: str) -> str:
    match = re.search(r"<td[^>]*class=['\"][^'\"]*column-autowebinar[^>]*>(.*?)</td>",
                      row_html, re.DOTALL)
    assert match, "no AutoWebinar cell in the row"
    return match.group(1)


def screenshots_dir(root: Path) -> Path:
    """docs/screenshots when AUTOWEBINAR_SCREENSHOT_DIR says so, else tests/.artifacts."""
    target = os.environ.get("AUTOWEBINAR_SCREENSHOT_DIR")
    path = Path(target) if target else root / "tests" / ".artifacts" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
