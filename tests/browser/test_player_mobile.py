"""On a phone (Chromium with a mobile viewport, touch and a phone's autoplay policy): muted
autoplay with "tap for sound", touch controls that fit, captions; and iOS's own fullscreen,
whose seek bar is undone by the server's position."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import launch_browser, make_site, shoot
from tests.browser.pages import VIDEO, open_embedded, position, wait_until
from tests.support import Backend

pytestmark = [pytest.mark.browser, pytest.mark.mysql]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


@pytest.fixture(scope="module")
def phone_browser(browser: Any) -> Iterator[Any]:
    """Sound needs a tap, as on iOS and Android (muted autoplay is allowed).

    A second Chromium from the same Playwright (one Playwright per process). Like Chrome on
    most Android phones, it keeps a cross-site iframe in the page's process: headless
    Chromium sometimes leaves an emulated tap on an out-of-process iframe undelivered.
    """
    phone = launch_browser(SimpleNamespace(chromium=browser.browser_type),
                           autoplay_policy="document-user-activation-required",
                           extra_args=("--disable-site-isolation-trials",
                                       "--disable-features=IsolateOrigins,site-per-process"))
    yield phone
    phone.close()


@pytest.fixture
def demo_site(mysql_backend: Backend, tmp_path: Path) -> Iterator[Any]:
    yield from make_site(mysql_backend, tmp_path / "instance", VIDEO_URL=None,
                         VIDEO_DURATION_SEC=60, CTA_AT_SEC=30)


def assert_in_view(iframe: Any, controls: Any) -> None:
    assert iframe and controls.count() >= 4
    for control in controls.all():
        b = control.bounding_box()
        assert b and b["width"] >= 24 and b["height"] >= 24
        assert iframe["x"] <= b["x"] and b["x"] + b["width"] <= iframe["x"] + iframe["width"]
        assert iframe["y"] <= b["y"] and b["y"] + b["height"] <= iframe["y"] + iframe["height"]


def test_on_a_phone_it_starts_muted_with_tap_for_sound_and_fits(phone_browser, demo_site) -> None:
    context = phone_browser.new_context(**PHONE)
    page = context.new_page()
    # Nothing may touch the page until the player has tried to play: Playwright's evaluations
    # count as user gestures, and a gesture lets a video play with sound.
    with page.expect_response(lambda r: r.url.endswith("/api/v1/session/join")):
        page.goto(demo_site.page_url(demo_site.backend.new_user()))
    frame = next(f for f in page.frames if f.url.startswith(demo_site.base))
    time.sleep(1.5)
    # unmuted autoplay is refused: it plays muted and says how to get the sound
    frame.wait_for_selector("#aw-unmute", state="visible")
    frame.wait_for_function(f"() => {VIDEO}.muted && !{VIDEO}.paused && {VIDEO}.currentTime > 0.3")
    assert frame.get_attribute("#aw-video", "playsinline") is not None
    assert frame.inner_text("#aw-unmute") == "Tap to turn the sound on"
    wait_until(lambda: frame.locator("#aw-captions").is_visible(), what="captions")

    # in the shortcode's 16:9 box on a phone, every control is in view without scrolling,
    # and big enough to tap (WCAG 2.5.8: 24 px)
    assert_in_view(page.locator("#aw").bounding_box(), frame.locator(".aw-controls button:visible"))
    shoot(page.locator("body"), "mobile-captions.png")  # the site page with the 16:9 box

    frame.locator("#aw-unmute").tap()
    frame.wait_for_function(f"() => !{VIDEO}.muted && !{VIDEO}.paused")
    expect(frame.locator("#aw-unmute")).to_be_hidden()
    frame.locator("#aw-cc").tap()
    expect(frame.locator("#aw-cc")).to_have_attribute("aria-pressed", "false")
    frame.locator("#aw-play").tap()
    frame.wait_for_function(f"() => {VIDEO}.paused")
    context.close()


def test_seeks_in_ios_fullscreen_are_undone_by_the_servers_position(
        browser, mysql_backend, tmp_path) -> None:
    # Heartbeats far apart: only the answer to the heartbeat sent on leaving fullscreen can
    # bring the picture back in time.
    sites = make_site(mysql_backend, tmp_path / "instance", VIDEO_URL=None,
                      VIDEO_DURATION_SEC=60, CTA_AT_SEC=60, HEARTBEAT_SEC=60)
    site = next(sites)
    try:
        uid = site.backend.new_user()
        context = browser.new_context()
        page, frame, _errors = open_embedded(context, site, uid)
        frame.wait_for_function(f"() => {VIDEO}.currentTime > 0.5 && !{VIDEO}.paused")
        started = time.monotonic() - frame.evaluate(f"{VIDEO}.currentTime")
        # iOS's own seek bar moves in many small seeks; each is small enough for the player
        # to let through, so together they get ahead of the clock.
        frame.evaluate(f"{VIDEO}.dispatchEvent(new Event('webkitbeginfullscreen'))")
        for _ in range(16):
            frame.evaluate(f"{VIDEO}.currentTime += 0.9")
            page.wait_for_timeout(120)
        ahead = frame.evaluate(f"{VIDEO}.currentTime") - (time.monotonic() - started)
        assert ahead > 8, "the small seeks got the picture ahead"
        # Chromium has no iOS fullscreen; this is the event iOS fires when it is closed.
        frame.evaluate(f"{VIDEO}.dispatchEvent(new Event('webkitendfullscreen'))")
        frame.wait_for_function(f"() => {VIDEO}.currentTime < {time.monotonic() - started} + 6",
                                timeout=3000)
        assert position(site, uid) <= time.monotonic() - started + 2
        context.close()
    finally:
        sites.close()
