"""Accessibility in Chromium: axe-core on every screen (0 serious or critical violations), the
keyboard alone, visible focus, "Recording" in what a screen reader says, reduced motion."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from autowebinar_wp import tokens
from tests.browser.conftest import make_site
from tests.browser.pages import VIDEO, axe_violations, complete_session, with_axe
from tests.support import SECRET, Backend

pytestmark = [pytest.mark.browser, pytest.mark.mysql]

RECORDING = re.compile(r"^Recording ?: \S")  # read as "Recording: <title>"


@pytest.fixture
def demo_site(mysql_backend: Backend, tmp_path: Path) -> Iterator[Any]:
    """The demo video with both caption languages; the CTA shows after a second."""
    yield from make_site(mysql_backend, tmp_path / "instance", VIDEO_URL=None,
                         VIDEO_DURATION_SEC=60, CTA_AT_SEC=1)


def audited(page: Any, screen: str) -> None:
    found = axe_violations(page)
    assert found == [], "\n".join([screen, *found])
    expect(page.get_by_role("heading", level=1)).to_have_accessible_name(RECORDING)


def test_every_viewer_screen_passes_axe(browser, demo_site, waiting_site) -> None:
    context = with_axe(browser.new_context(viewport={"width": 1100, "height": 900}))
    page = context.new_page()

    page.goto(demo_site.embed_url(demo_site.backend.new_user()))
    page.wait_for_selector("#aw-cta-row", state="visible")
    page.wait_for_selector("#aw-captions", state="visible")
    audited(page, "player (playing, captions on, CTA shown)")

    page.goto(waiting_site.embed_url(waiting_site.backend.new_user()))
    page.wait_for_selector("#aw-countdown:not(:empty)")
    audited(page, "waiting room")

    done = demo_site.backend.new_user()
    complete_session(demo_site, done, 60)
    page.goto(demo_site.embed_url(done))
    for screen in ("1", "2", "3"):
        page.wait_for_selector(f"#aw-post-{screen}", state="visible")
        audited(page, f"post-webinar screen {screen}")
        if screen != "3":
            page.click(f"#aw-post-{screen} [data-goto]")

    for token, reason in ((tokens.mint(SECRET, 5, "viewer", -600), "expired"),
                          ("not-a-token", "invalid")):
        page.goto(f"{demo_site.base}/embed?token={token}")
        page.wait_for_selector("[data-testid=error]")
        audited(page, f"error page ({reason})")

    mobile = with_axe(browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                          has_touch=True, device_scale_factor=2))
    phone = mobile.new_page()
    phone.goto(demo_site.embed_url(demo_site.backend.new_user()))
    phone.wait_for_selector("#aw-cta-row", state="visible")
    audited(phone, "player on a phone")
    mobile.close()
    context.close()


def test_the_admin_dashboard_passes_axe(browser, demo_site) -> None:
    for uid in (demo_site.backend.new_user(), demo_site.backend.new_user()):
        complete_session(demo_site, uid, 60)
    admin = tokens.mint(SECRET, 1, "admin", 600)
    context = with_axe(browser.new_context(viewport={"width": 1200, "height": 900}))
    page = context.new_page()
    # Both ways the dashboard has taken its token (query, then the URL fragment); whatever
    # it shows, the audit runs once its data has arrived.
    page.goto(f"{demo_site.base}/admin?token={admin}#token={admin}")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=error]").count() == 0, "the admin token was accepted"
    found = axe_violations(page)
    assert found == [], "\n".join(found)
    context.close()


def focus_ring(page: Any) -> tuple[str, float]:
    return page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, parseFloat(s.outlineWidth)]; }""")


def tab_to(page: Any, element_id: str, limit: int = 25) -> None:
    """Press Tab until `element_id` has the focus; it must show a visible focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            style, width = focus_ring(page)
            assert style != "none" and width >= 2, (element_id, style, width)
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_the_keyboard_alone_runs_the_player_and_the_screens(browser, demo_site) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.route("https://partner.example/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<h1>Partner</h1>"))
    page = context.new_page()
    page.goto(demo_site.embed_url(demo_site.backend.new_user()))
    page.wait_for_function(f"() => {VIDEO}.currentTime > 0.3 && !{VIDEO}.paused")
    page.wait_for_selector("#aw-cta-row", state="visible")

    tab_to(page, "aw-play")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => {VIDEO}.paused")
    page.keyboard.press("ArrowRight")  # a seek key does nothing
    at = page.evaluate(f"{VIDEO}.currentTime")
    page.keyboard.press(" ")
    page.wait_for_function(f"() => !{VIDEO}.paused")
    assert page.evaluate(f"{VIDEO}.currentTime") < at + 1

    tab_to(page, "aw-mute")
    page.keyboard.press("Enter")
    assert page.evaluate(f"{VIDEO}.muted")
    page.keyboard.press("Enter")
    expect(page.locator("#aw-volume")).to_have_value("100")  # back from 0 (muted)
    tab_to(page, "aw-volume")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(f"{VIDEO}.volume") == pytest.approx(0.9)
    expect(page.locator("#aw-volume")).to_have_attribute("aria-valuetext", "90%")

    tab_to(page, "aw-cc")
    page.keyboard.press("Enter")
    assert page.get_attribute("#aw-cc", "aria-pressed") == "false"
    tab_to(page, "aw-cc-lang")
    page.keyboard.press("Enter")
    assert page.get_attribute("#aw-cc", "aria-pressed") == "true"

    tab_to(page, "aw-fullscreen")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.fullscreenElement && document.fullscreenElement.id"
                           " === 'aw-frame'")
    expect(page.locator("#aw-fullscreen")).to_have_attribute("aria-label", "Exit full screen")
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.fullscreenElement")

    tab_to(page, "aw-cta")
    with page.expect_popup() as popup:
        page.keyboard.press("Enter")
    assert popup.value.url.startswith("https://partner.example/")
    context.close()

    # the post-webinar screens: each button by keyboard; focus moves to the new screen
    done = demo_site.backend.new_user()
    complete_session(demo_site, done, 60)
    context = browser.new_context()
    page = context.new_page()
    page.goto(demo_site.embed_url(done))
    page.wait_for_selector("#aw-post-1", state="visible")
    for screen in ("1", "2"):
        page.keyboard.press("Tab")
        if screen == "2":  # past "Go to the offer" to "Not now"
            page.keyboard.press("Tab")
        style, width = focus_ring(page)
        assert style != "none" and width >= 2
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#aw-post-{int(screen) + 1}", state="visible")
        assert page.evaluate("document.activeElement.tagName") == "H2"
    links = page.locator("#aw-post-3 a")
    assert links.count() == 2
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "See upcoming live webinars"
    context.close()


def test_reduced_motion_turns_transitions_off(browser, site) -> None:
    durations = {}
    for motion in ("no-preference", "reduce"):
        context = browser.new_context(reduced_motion=motion)
        page = context.new_page()
        page.goto(site.embed_url(site.backend.new_user()))
        page.wait_for_selector("#aw-play", state="visible")
        durations[motion] = page.evaluate(
            "() => parseFloat(getComputedStyle(document.getElementById('aw-play'))"
            ".transitionDuration)")
        context.close()
    assert durations["no-preference"] >= 0.1
    assert durations["reduce"] < 0.001
