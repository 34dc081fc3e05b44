"""The admin dashboard in a real browser: the token in the fragment, the curve, the CSV.

The site shows a one-hour recording with the CTA at 40:00 and a few thousand users whose
drop-off looks like a real audience's; the screenshot in docs/screenshots comes from here.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from autowebinar_wp import tokens
from autowebinar_wp.codec import DATETIME_FORMAT
from autowebinar_wp.services import services
from autowebinar_wp.state import META_KEYS
from tests.admin_population import Populated, create_table, drop_table
from tests.browser.conftest import SCREENSHOTS, Site, make_site
from tests.support import SECRET, Backend
from tests.wordpress_fixtures import wordpress_meta

pytestmark = [pytest.mark.browser, pytest.mark.mysql]
K = META_KEYS
PREFIX = "awb_"
DURATION, CTA_AT = 3600, 2400
T0 = datetime(2026, 11, 2, 19, 0, tzinfo=UTC)


def audience(count: int = 3000, seed: int = 3) -> list[tuple[int, str, str | None]]:
    """Users as the service writes them: most join, many leave early, some at the offer."""
    rng = random.Random(seed)
    rows: list[tuple[int, str, str | None]] = []
    for uid in range(1, count + 1):
        rows += wordpress_meta(uid, PREFIX)[:4]
        if rng.random() < 0.12:
            continue  # registered, no session
        started = T0 + timedelta(minutes=rng.randrange(0, 60 * 24 * 14))
        values = {K["session_id"]: f"{uid:08x}-0000-4000-8000-{uid:012x}",
                  K["started_at"]: started.strftime(DATETIME_FORMAT),
                  K["last_position_sec"]: "0", K["progress_percent"]: "0", K["completed"]: "0"}
        if rng.random() < 0.2:  # never opened it
            rows += [(uid, k, v) for k, v in values.items()]
            continue
        roll = rng.random()
        if roll < 0.25:
            position = int(rng.expovariate(1 / 240))  # left in the first minutes
        elif roll < 0.55:
            position = rng.randrange(300, CTA_AT)
        elif roll < 0.72:
            position = CTA_AT + int(rng.expovariate(1 / 90))  # left once the offer appeared
        else:
            position = rng.choice([DURATION, rng.randrange(CTA_AT, DURATION)])
        position = min(position, DURATION)
        progress = 100 if position >= DURATION - 2 else max(
            m for m in (0, 25, 50, 75) if position * 100 >= m * DURATION)
        values.update({K["last_position_sec"]: str(position),
                       K["progress_percent"]: str(progress),
                       K["completed"]: "1" if progress == 100 else "0",
                       K["last_seen_at"]: (started + timedelta(seconds=position + 30))
                       .strftime(DATETIME_FORMAT)})
        if position >= CTA_AT and rng.random() < 0.45:
            values[K["cta_clicked_at"]] = (started + timedelta(seconds=CTA_AT + 20)).strftime(
                DATETIME_FORMAT)
        rows += [(uid, k, v) for k, v in values.items()]
    return rows


@pytest.fixture(scope="module")
def people(mysql_backend: Backend) -> Iterator[Populated]:
    create_table(mysql_backend, PREFIX)
    data = Populated(mysql_backend, table=f"{PREFIX}usermeta")
    data.insert(audience())
    yield data
    drop_table(mysql_backend, PREFIX)


@pytest.fixture
def admin_site(people: Populated, tmp_path: Path) -> Iterator[Site]:
    yield from make_site(people.backend, tmp_path / "instance-admin", TABLE_PREFIX=PREFIX,
                         VIDEO_DURATION_SEC=DURATION, CTA_AT_SEC=CTA_AT,
                         VIDEO_URL="https://video.example/recording.mp4")


def admin_link(site: Site, role: str = "admin", ttl: int = 600) -> str:
    token = tokens.mint(SECRET, 1, role, ttl)  # type: ignore[arg-type]
    return f"{site.base}/admin#token={token}"


def open_dashboard(browser: Any, url: str, errors: list[str]) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    return context, page


def test_the_dashboard_draws_the_curve_and_forgets_the_link(browser, admin_site: Site,
                                                            people: Populated) -> None:
    errors: list[str] = []
    context, page = open_dashboard(browser, admin_link(admin_site), errors)
    page.wait_for_selector("svg.aw-curve")
    page.wait_for_selector("#aw-users-body tr td a")
    assert page.evaluate("location.hash") == "" and "token" not in page.url
    api = admin_site.app.test_client()
    token = tokens.mint(SECRET, 1, "admin", 600)
    headers = {"Authorization": f"Bearer {token}"}
    funnel = api.get("/api/v1/admin/funnel", headers=headers).get_json()
    curve = api.get("/api/v1/admin/retention?bucket_sec=60", headers=headers).get_json()
    sessions = page.locator("[data-stage=sessions] .aw-stage-value").inner_text()
    assert sessions.replace(",", "").startswith(str(funnel["sessions"]))
    # the curve: one vertex per point, the CTA marked where it is, and a text alternative
    vertices = page.locator("polyline.aw-curve-line").get_attribute("points").split()
    assert len(vertices) == len(curve["points"]) == 61  # every minute and the end
    mark = page.locator("[data-testid=cta-mark]")
    assert "40:00" in mark.text_content()
    at_cta = next(p for p in curve["points"] if p["t"] == CTA_AT)
    assert f"{at_cta['percent']:.1f}%" in mark.text_content() or f"{at_cta['percent']:.0f}%" in \
        mark.text_content()
    description = page.locator("svg.aw-curve desc").text_content()
    assert f"{curve['joined']:,}" in description and "40:00" in description
    assert page.locator("#aw-retention-body tr").count() == len(curve["points"])
    assert page.locator("[data-testid=as-of]").inner_text().startswith("As of ")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "admin-dashboard.png"), full_page=True)
    assert errors == []
    context.close()


def test_the_csv_downloads_with_the_bearer_token(browser, admin_site: Site,
                                                 people: Populated) -> None:
    errors: list[str] = []
    context, page = open_dashboard(browser, admin_link(admin_site), errors)
    page.wait_for_selector("#aw-users-body tr td a")
    with page.expect_download() as caught:
        page.click("#aw-export")
    download = caught.value
    assert download.suggested_filename.startswith("autowebinar-progress-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    sessions = sum(1 for _u, key, v in people.rows if key == K["session_id"] and v)
    assert rows[0][0] == "user_id" and len(rows) - 1 == sessions
    assert errors == []
    context.close()


def test_refresh_rebuilds_and_redraws(browser, admin_site: Site, people: Populated) -> None:
    errors: list[str] = []
    context, page = open_dashboard(browser, admin_link(admin_site), errors)
    page.wait_for_selector("svg.aw-curve")
    before = page.locator("[data-stage=sessions] .aw-stage-value").inner_text()
    people.insert([(90_001, K["session_id"], "fresh-session")])
    try:
        page.click("#aw-refresh")
        page.wait_for_function(
            "before => document.querySelector('[data-stage=sessions] .aw-stage-value')"
            ".firstChild.textContent !== before", arg=before.split("\n")[0], timeout=20_000)
        assert services(admin_site.app).snapshots.builds == 2
        assert page.locator("#aw-refresh").is_enabled()
    finally:
        with people.backend.engine.begin() as conn:
            from sqlalchemy import text

            conn.execute(text(f"DELETE FROM {PREFIX}usermeta WHERE user_id = 90001"))  # noqa: S608
    assert errors == []
    context.close()


@pytest.mark.parametrize(("link", "says"), [("none", "is not valid"), ("expired", "has expired"),
                                            ("viewer", "only site administrators")])
def test_a_refused_link_says_why(browser, admin_site: Site, link: str, says: str) -> None:
    url = {
        "none": f"{admin_site.base}/admin",
        "expired": f"{admin_site.base}/admin#token=" + tokens.mint(
            SECRET, 1, "admin", 60, now=datetime.now(UTC).timestamp() - 600),
        "viewer": admin_link(admin_site, "viewer"),
    }[link]
    context, page = open_dashboard(browser, url, [])
    page.wait_for_selector("[data-testid=error]", state="visible")
    assert says in page.locator("[data-testid=error]").inner_text()
    assert page.locator("#aw-sections").is_hidden() and page.locator("#aw-refresh").is_hidden()
    assert page.evaluate("location.hash") == ""
    context.close()
