"""Captions (player-captions.js) in Chromium: the demo's WebVTT files, the viewer's language
first, a toggle and a language switch, other origins with and without CORS, a missing file."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.browser.conftest import make_site, shoot
from tests.browser.pages import VIDEO, open_embedded, server_log, wait_until
from tests.support import Backend, free_port

pytestmark = [pytest.mark.browser, pytest.mark.mysql]

DEMO_VTT = Path(__file__).resolve().parents[2] / "static" / "demo" / "demo.en.vtt"
FIRST_CUES = {
    "en": re.compile(r"a steady tone|This is the AutoWebinar demo recording"),
    "ru": re.compile(r"ровный тон|Это демонстрационная запись"),
}


def caption_text(frame: Any) -> str:
    box = frame.locator("#aw-captions")
    return box.inner_text() if box.is_visible() else ""


@pytest.fixture
def demo_site(mysql_backend: Backend, tmp_path: Path) -> Iterator[Any]:
    """The bundled demo video with its bundled captions (no VIDEO_URL, no CAPTIONS)."""
    yield from make_site(mysql_backend, tmp_path / "instance", VIDEO_URL=None,
                         VIDEO_DURATION_SEC=60, CTA_AT_SEC=2)


@pytest.fixture
def caption_host() -> Iterator[str]:
    """Another origin serving the demo captions: /cors.vtt with CORS, /plain.vtt without."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        headers = [("Content-Type", "text/vtt; charset=utf-8")]
        if environ["PATH_INFO"] == "/cors.vtt":
            headers.append(("Access-Control-Allow-Origin", "*"))
        start_response("200 OK", headers)
        return [DEMO_VTT.read_bytes()]

    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_captions_in_the_viewers_language_with_a_toggle_and_a_language_switch(
        browser, demo_site) -> None:
    uid = demo_site.backend.new_user()
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page, frame, _errors = open_embedded(context, demo_site, uid)
    frame.wait_for_function(f"() => {VIDEO}.currentTime > 0.5")

    # on at start, in the page's language (LOCALE=en), drawn above the controls
    wait_until(lambda: FIRST_CUES["en"].search(caption_text(frame)), what="an English cue")
    assert frame.get_attribute("#aw-cc", "aria-pressed") == "true"
    cue = frame.locator("#aw-captions").bounding_box()
    controls = frame.locator(".aw-controls").bounding_box()
    assert cue and controls and cue["y"] + cue["height"] <= controls["y"]

    # the toggle, from the keyboard
    frame.focus("#aw-cc")
    page.keyboard.press("Enter")
    assert frame.get_attribute("#aw-cc", "aria-pressed") == "false"
    assert frame.locator("#aw-captions").is_hidden()
    page.keyboard.press(" ")
    wait_until(lambda: caption_text(frame), what="captions back on")

    # the other language, then back
    assert frame.get_attribute("#aw-cc-lang", "aria-label") == "Caption language: English, EN"
    frame.focus("#aw-cc-lang")
    page.keyboard.press("Enter")
    assert frame.get_attribute("#aw-cc-lang", "aria-label") == "Caption language: Русский, RU"
    wait_until(lambda: FIRST_CUES["ru"].search(caption_text(frame)), what="a Russian cue")
    page.keyboard.press("Enter")
    wait_until(lambda: FIRST_CUES["en"].search(caption_text(frame)), what="English again")
    frame.wait_for_selector("#aw-cta-row", state="visible")
    # in the shortcode's 16:9 box the controls and the CTA are in view, not scrolled away
    iframe = page.locator("#aw").bounding_box()
    for item in (".aw-controls", "#aw-cta"):
        b = frame.locator(item).bounding_box()
        assert iframe and b and b["y"] + b["height"] <= iframe["y"] + iframe["height"], item
    wait_until(lambda: "This is the AutoWebinar demo" in caption_text(frame), what="a sentence")
    frame.evaluate("document.activeElement.blur()")
    shoot(page.locator("body"), "captions.png")
    context.close()


def test_captions_default_to_the_locale_and_can_come_from_another_origin_with_cors(
        browser, mysql_backend, tmp_path, caption_host) -> None:
    captions = {"ru": {"url": f"{caption_host}/cors.vtt", "label": "Русский (CDN)"},
                "de": f"{caption_host}/plain.vtt"}
    sites = make_site(mysql_backend, tmp_path / "instance", LOCALE="ru", CAPTIONS=captions)
    site = next(sites)
    try:
        context = browser.new_context()
        _page, frame, errors = open_embedded(context, site, site.backend.new_user())
        # a track from another origin loads in CORS mode, so the <video> asks for it
        assert frame.get_attribute("#aw-video", "crossorigin") == "anonymous"
        wait_until(lambda: FIRST_CUES["en"].search(caption_text(frame)), what="the CDN's cue")
        label = frame.get_attribute("#aw-cc-lang", "aria-label")
        assert label == "Язык субтитров: Русский (CDN), RU"
        # the same file from a host that does not send CORS headers is refused by the browser
        frame.click("#aw-cc-lang")
        frame.wait_for_selector("#aw-notice", state="visible")
        assert "Не удалось загрузить субтитры" in frame.inner_text("#aw-notice")
        assert frame.get_attribute("#aw-cc", "aria-pressed") == "false"
        assert not [e for e in errors if "Content Security Policy" in e], errors
        context.close()
    finally:
        sites.close()


def test_a_missing_caption_file_is_a_message_and_a_log_line_and_the_video_plays_on(
        browser, mysql_backend, tmp_path) -> None:
    sites = make_site(mysql_backend, tmp_path / "instance",
                      CAPTIONS={"en": {"url": "/media/missing.vtt", "label": "English"}})
    site = next(sites)
    try:
        uid = site.backend.new_user()
        context = browser.new_context()
        with server_log() as records:
            _page, frame, _errors = open_embedded(context, site, uid)
            frame.wait_for_selector("#aw-notice", state="visible")
            assert frame.inner_text("#aw-notice") == (
                "Captions could not be loaded; the video plays without them.")
            reports = wait_until(lambda: [r for r in records if r.getMessage() == "player error"],
                                 what="the report in the server log")
        assert (reports[0].kind, reports[0].lang, reports[0].user_id) == ("captions", "en", uid)
        assert reports[0].source == "/media/missing.vtt"
        assert frame.get_attribute("#aw-cc", "aria-pressed") == "false"
        assert frame.locator("#aw-cc-lang").count() == 0  # one language: no language button
        frame.wait_for_function(f"() => {VIDEO}.currentTime > 1 && !{VIDEO}.paused")
        context.close()
    finally:
        sites.close()
