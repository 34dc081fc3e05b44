"""The honest player in a real browser: play, heartbeats, no seeking, resume, CTA, the end."""

from __future__ import annotations

import time

import pytest

from autowebinar_wp.state import META_KEYS
from tests.browser.conftest import shoot
from tests.browser.pages import position, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.mysql]
K = META_KEYS
VIDEO = "document.getElementById('aw-video')"


def open_player(context, site, uid: int, errors: list[str]):
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(site.page_url(uid))
    frame = page.wait_for_selector("#aw").content_frame()
    return page, frame


def badge_visible(frame) -> bool:
    return frame.locator("[data-testid=recording-badge]").is_visible()


def test_a_whole_viewing_in_a_cross_site_iframe(browser, site) -> None:
    uid = site.backend.new_user()
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.route("https://partner.example/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<h1>Partner offer</h1>"))
    errors: list[str] = []
    page, frame = open_player(context, site, uid, errors)
    opened = time.monotonic()

    # plays, with the badge, and heartbeats land in usermeta
    frame.wait_for_selector("#aw-stage", state="visible")
    assert badge_visible(frame)
    frame.wait_for_function(f"() => {VIDEO}.currentTime > 1.2 && !{VIDEO}.paused")
    wait_until(lambda: position(site, uid) >= 1, what="a heartbeat in usermeta")
    assert site.backend.meta(uid)[K["session_id"]]

    # seeking ahead is snapped back, and the database stays honest
    frame.evaluate(f"{VIDEO}.currentTime = 7.5")
    page.wait_for_timeout(500)
    assert frame.evaluate(f"{VIDEO}.currentTime") < 4
    frame.evaluate(f"{VIDEO}.playbackRate = 4")
    assert frame.evaluate(f"{VIDEO}.playbackRate") == 1
    page.wait_for_timeout(1200)
    elapsed = time.monotonic() - opened
    assert position(site, uid) <= elapsed + 2
    shoot(page, "player.png")

    # the CTA appears at CTA_AT_SEC (4 s)
    frame.wait_for_selector("#aw-cta-row", state="visible", timeout=10_000)
    assert frame.evaluate(f"{VIDEO}.currentTime") >= 4
    shoot(frame.locator("#aw"), "player-cta.png")

    # closing the page saves the position (sendBeacon on pagehide)
    frame.evaluate(f"{VIDEO}.pause()")
    at_close = frame.evaluate(f"{VIDEO}.currentTime")
    page.close(run_before_unload=True)
    wait_until(lambda: position(site, uid) >= int(at_close) - 1, what="position saved on close")
    saved = position(site, uid)
    assert saved <= int(at_close) + 1

    # reopening resumes there, with a notice
    page, frame = open_player(context, site, uid, errors)
    frame.wait_for_selector("#aw-notice", state="visible")
    assert f"Continuing from 0:0{saved}" in frame.inner_text("#aw-notice")
    frame.wait_for_function(f"() => {VIDEO}.currentTime >= {saved} - 0.5")
    assert abs(frame.evaluate(f"{VIDEO}.currentTime") - saved) < 2.5
    shoot(frame.locator("#aw"), "player-resume.png")

    # the end: the three post-webinar screens, buttons only, badge on each
    frame.wait_for_selector("#aw-post-1", state="visible", timeout=20_000)
    meta = site.backend.meta(uid)
    assert meta[K["completed"]] == "1" and meta[K["progress_percent"]] == "100"
    for screen, button in (("1", "#aw-post-1 [data-goto='2']"), ("2", "#aw-post-2 [data-goto='3']"),
                           ("3", None)):
        section = frame.locator(f"#aw-post-{screen}")
        assert section.is_visible() and badge_visible(frame)
        assert section.locator("input, textarea, select, form").count() == 0
        shoot(frame.locator("#aw"), f"post-{screen}.png")
        if button:
            frame.click(button)

    # the CTA on the final screen opens the partner in a new tab and is recorded once
    with page.expect_popup() as popup:
        frame.click("#aw-post-3 [data-cta]")
    assert popup.value.url.startswith("https://partner.example/offer?ref=")
    wait_until(lambda: K["cta_clicked_at"] in site.backend.meta(uid), what="cta_clicked_at")

    # coming back after completion lands on screen 1, not a replay
    page.close()
    page, frame = open_player(context, site, uid, errors)
    frame.wait_for_selector("#aw-post-1", state="visible")
    assert frame.locator("#aw-stage").is_hidden()

    assert context.cookies() == [], "the player must not depend on cookies"
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    context.close()


def test_waiting_room_is_an_honest_countdown(browser, waiting_site) -> None:
    uid = waiting_site.backend.new_user()
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    _page, frame = open_player(context, waiting_site, uid, [])
    frame.wait_for_selector("#aw-waiting", state="visible")
    text = frame.inner_text("#aw-countdown")
    assert text.startswith("The recording starts in 3:0"), text
    assert badge_visible(frame)
    assert frame.locator("#aw-stage").is_hidden()
    shoot(frame.locator("#aw"), "waiting.png")
    context.close()


def test_bad_link_page_and_mobile_layout(browser, site) -> None:
    context = browser.new_context(viewport={"width": 1000, "height": 500})
    page = context.new_page()
    response = page.goto(f"{site.base}/embed?token=broken")
    assert response.status == 401
    assert page.locator("[data-testid=error]").is_visible() and badge_visible(page)
    shoot(page, "error.png")
    context.close()

    uid = site.backend.new_user()
    mobile = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                 has_touch=True, device_scale_factor=2)
    page = mobile.new_page()
    page.goto(site.embed_url(uid))
    page.wait_for_selector("#aw-stage", state="visible")
    assert page.get_attribute("#aw-video", "playsinline") is not None
    box = page.locator("#aw-frame").bounding_box()
    assert box and abs(box["width"] / box["height"] - 16 / 9) < 0.02
    assert box["width"] <= 390
    page.wait_for_function(f"() => {VIDEO}.currentTime > 0.5")
    shoot(page, "mobile.png")
    mobile.close()
