"""Screenshots of wp-admin: the AutoWebinar page and the Users column (Playwright + Chromium).

Written to tests/.artifacts/screenshots/; set AUTOWEBINAR_SCREENSHOT_DIR=docs/screenshots to
refresh the ones in the documentation.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.wordpress.conftest import screenshots_dir
from tests.wordpress.harness import REPO, WordPressSite

pytestmark = pytest.mark.wordpress

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def admin_page(wp_site: WordPressSite) -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(f"{wp_site.url}/wp-login.php")
            page.fill("#user_login", wp_site.admin.login)
            page.fill("#user_pass", wp_site.admin.password)
            page.click("#wp-submit")
            page.wait_for_url("**/wp-admin/**")
            yield page
            context.close()
        finally:
            browser.close()


def test_screenshot_of_the_autowebinar_page(wp_site: WordPressSite, sidecar,
                                            admin_page: Any) -> None:
    sidecar.require(("GET", "/admin"))  # a picture of the dashboard, not of a 404
    admin_page.goto(f"{wp_site.url}/wp-admin/admin.php?page=autowebinar")
    frame = admin_page.locator("iframe.autowebinar-admin-frame")
    assert frame.count() == 1
    frame.wait_for()
    # the dashboard inside: its token came in the fragment; show the curve in the picture
    dashboard = admin_page.frame_locator("iframe.autowebinar-admin-frame")
    dashboard.locator("svg.aw-curve, #aw-retention-chart p").first.wait_for()
    dashboard.locator("#aw-retention").scroll_into_view_if_needed()
    admin_page.wait_for_load_state("networkidle")
    path = screenshots_dir(REPO) / "wp-admin-autowebinar.png"
    admin_page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000


def test_screenshot_of_the_users_column(wp_site: WordPressSite, meta_users: dict[str, int],
                                        admin_page: Any) -> None:
    admin_page.goto(f"{wp_site.url}/wp-admin/users.php")
    cell = admin_page.locator(f"#user-{meta_users['meta']} td.column-autowebinar")
    assert "75%" in cell.inner_text()
    path = screenshots_dir(REPO) / "wp-users-column.png"
    admin_page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
