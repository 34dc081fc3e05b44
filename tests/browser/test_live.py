"""The live pages in a real browser (Chromium), every screen state, on MariaDB.

The server's clock runs in real time from a moment each test chooses (ShiftedClock), and
the schedule is placed around the real "now", so the page's own timers carry it across a
state change (the room opening, the broadcast ending) while the test watches.
Screenshots of each state go to docs/screenshots/live-*.png.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from autowebinar_wp import tokens
from autowebinar_wp.live.settings import schedule_of
from autowebinar_wp.live.state import META_KEYS
from autowebinar_wp.services import services
from tests.browser.conftest import Site, free_port, make_site, shoot
from tests.browser.pages import wait_until
from tests.live.support import STREAM, ShiftedClock, live_config
from tests.support import SECRET, Backend

pytestmark = [pytest.mark.browser, pytest.mark.mysql]
K = META_KEYS
LIVE = "livewebinar_"
STREAM_PAGE = ("<!doctype html><html><body style='margin:0;background:#222;color:#eee;"
               "font:20px sans-serif;display:grid;place-items:center;height:100vh'>"
               "<p>The streaming service's player (test stand-in)</p></body></html>")


class LiveSite:
    def __init__(self, site: Site, clock: ShiftedClock) -> None:
        self.site, self.clock = site, clock
        self.schedule = schedule_of(site.app.config)

    @property
    def backend(self) -> Backend:
        return self.site.backend

    def slot(self, slot_id: str) -> Any:
        found = self.schedule.find(slot_id)
        assert found is not None
        return found

    def token(self, uid: int) -> str:
        return tokens.mint(SECRET, uid, "viewer", 600, now=self.clock().timestamp())

    def url(self, path: str, uid: int) -> str:
        return f"{self.site.base}{path}?token={self.token(uid)}"

    def register(self, uid: int, slot_id: str) -> None:
        import httpx

        response = httpx.post(f"{self.site.base}/api/v1/live/register", json={"slot_id": slot_id},
                              headers={"Authorization": f"Bearer {self.token(uid)}"})
        assert response.status_code == 200, response.text


def live_site_for(backend: Backend, instance: Path, locale: str) -> Iterator[LiveSite]:
    clock = ShiftedClock()
    now = datetime.now(UTC)
    for site in make_site(backend, instance, LOCALE=locale, TITLE="Sales masterclass",
                          FRAME_ANCESTORS="'self' http://localhost:*",
                          **live_config(now, LIVE_REGISTER_RATE_LIMIT="600 per minute",
                                        LIVE_JOIN_RATE_LIMIT="600 per minute",
                                        LIVE_SLOTS_RATE_LIMIT="600 per minute")):
        services(site.app).clock = clock
        yield LiveSite(site, clock)


@pytest.fixture
def live_en(mysql_backend: Backend, tmp_path: Path) -> Iterator[LiveSite]:
    yield from live_site_for(mysql_backend, tmp_path / "instance-en", "en")


@pytest.fixture
def live_ru(mysql_backend: Backend, tmp_path: Path) -> Iterator[LiveSite]:
    yield from live_site_for(mysql_backend, tmp_path / "instance-ru", "ru")


def new_page(browser: Any, errors: list[str], *, zone: str = "America/New_York",
             locale: str = "en-US", width: int = 900, height: int = 1000) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height},
                                  timezone_id=zone, locale=locale)
    context.route("https://stream.example/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body=STREAM_PAGE))
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def text(page: Any, selector: str) -> str:
    return str(page.locator(selector).inner_text())


# ---- /live ----------------------------------------------------------------------------------


def test_list_register_change_and_calendars(browser, live_en) -> None:
    s = live_en
    uid = s.backend.new_user()
    errors: list[str] = []
    page = new_page(browser, errors)
    page.goto(s.url("/live", uid))
    page.wait_for_selector("[data-testid=slot]")
    assert "token=" not in page.url  # the token left the address bar

    slots = page.locator("[data-testid=slot]")
    assert slots.count() == 6
    on_air = page.locator("[data-slot=on-air]")
    assert on_air.locator(".lw-status").inner_text() == "LIVE"  # really on air right now
    assert page.locator("[data-slot=tomorrow] .lw-status").is_hidden()
    assert text(page, "[data-testid=live-badge]") == "SCHEDULE"  # the page itself is no "live"
    tomorrow = page.locator("[data-slot=tomorrow]")
    assert "Time zone: Europe/Berlin, GMT+1" in tomorrow.inner_text()
    assert "Your time (America/New_York, GMT-5):" in tomorrow.inner_text()
    # the same moment, six hours apart on the two clocks
    start = s.slot("tomorrow").starts_at
    berlin = start.astimezone(s.schedule.zone).strftime("%-I:%M")
    assert berlin in tomorrow.locator(".lw-when").inner_text()
    assert start.astimezone(ZoneInfo("America/New_York")).strftime("%-I:%M") in \
        tomorrow.locator(".lw-you").inner_text()
    shoot(page, "live-slots.png")

    # one click: registered, with a countdown and calendar links
    tomorrow.locator("button").click()
    page.wait_for_selector("[data-testid=registration]", state="visible")
    assert page.locator("[data-testid=slots]").is_hidden()
    countdown = text(page, "[data-testid=countdown]")
    assert countdown.startswith("Starts in 23:5")  # tomorrow, same minute
    assert page.locator("[data-testid=go-to-room]").is_hidden()  # the room is not open yet
    assert page.get_attribute("[data-testid=ics]", "href") == "/live/slot/tomorrow.ics"
    assert page.get_attribute("[data-testid=google]", "href").startswith(
        "https://calendar.google.com/calendar/render?action=TEMPLATE")
    assert s.backend.meta(uid, LIVE)[K["slot_id"]] == "tomorrow"
    before = text(page, "[data-testid=countdown]")
    wait_until(lambda: text(page, "[data-testid=countdown]") != before, what="the countdown ticks")
    shoot(page, "live-registered.png")

    # the calendar file downloads
    with page.expect_download() as download:
        page.click("[data-testid=ics]")
    data = Path(download.value.path()).read_bytes()
    assert b"BEGIN:VEVENT" in data and b"UID:live-tomorrow@site.example" in data

    # choose another time
    page.click("[data-testid=change]")
    page.wait_for_selector("[data-testid=slots]", state="visible")
    assert page.locator("[data-slot=tomorrow] button").inner_text() == "You are registered"
    assert page.locator("[data-slot=tomorrow] button").is_disabled()
    assert page.locator("[data-slot=next-week] button").inner_text() == "Choose this time instead"
    shoot(page, "live-change.png")
    page.click("[data-slot=next-week] button")
    wait_until(lambda: s.backend.meta(uid, LIVE).get(K["slot_id"]) == "next-week",
               what="the new registration in usermeta")
    page.wait_for_selector("[data-testid=slots]", state="hidden")
    assert "Starts in 6 d 23:5" in text(page, "[data-testid=countdown]")
    assert errors == []


def test_registered_for_the_slot_on_air_goes_to_the_room(browser, live_en) -> None:
    s = live_en
    uid = s.backend.new_user()
    s.register(uid, "on-air")
    errors: list[str] = []
    page = new_page(browser, errors, zone="Europe/Berlin")
    referers: list[str | None] = []
    page.on("request", lambda r: referers.append(r.headers.get("referer"))
            if r.url.startswith(STREAM) else None)
    page.goto(s.url("/live", uid))
    page.wait_for_selector("[data-testid=go-to-room]", state="visible")
    assert text(page, "[data-testid=countdown]") == "LIVE"
    assert "This is also your time zone." in text(page, "[data-testid=registration]")
    page.click("[data-testid=go-to-room]")
    page.wait_for_selector("[data-testid=room]", state="visible")
    assert page.url.startswith(f"{s.site.base}/live/room")
    assert text(page, "[data-testid=live-badge]") == "LIVE"
    frame = page.wait_for_selector("[data-testid=stream-frame] iframe")
    assert frame.get_attribute("src") == STREAM
    assert "test stand-in" in frame.content_frame().inner_text("body")
    # the stream gets our origin as Referer (players need one), never the tokened URL
    assert referers == [f"{s.site.base}/"]
    wait_until(lambda: s.backend.meta(uid, LIVE).get(K["joined_at"]), what="joined_at stored")
    assert errors == []


@pytest.fixture
def frame_host() -> Iterator[str]:
    """Another site (localhost, not 127.0.0.1) whose page frames the given `src`, as a
    WordPress page with the [autowebinar_live] shortcode does."""
    from urllib.parse import parse_qs

    from werkzeug.serving import make_server

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        src = escape(parse_qs(environ.get("QUERY_STRING", "")).get("src", [""])[0])
        html = ("<!doctype html><meta name=viewport content='width=device-width'>"
                "<title>Site page</title><body style='margin:0'>"
                f"<iframe id=lw src=\"{src}\" style='width:100%;height:100vh;border:0'>"
                "</iframe>")
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html.encode()]

    server = make_server("localhost", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_mobile_list_in_russian_inside_a_cross_site_iframe(browser, live_ru,
                                                          frame_host) -> None:
    s = live_ru
    uid = s.backend.new_user()
    s.register(uid, "soon")
    errors: list[str] = []
    page = new_page(browser, errors, zone="Asia/Yekaterinburg", locale="ru-RU",
                    width=390, height=844)
    page.goto(f"{frame_host}/webinars/?{urlencode({'src': s.url('/live', uid)})}")
    frame = page.wait_for_selector("#lw").content_frame()
    frame.wait_for_selector("[data-testid=registration]", state="visible")
    assert frame.inner_text("[data-testid=live-badge]") == "РАСПИСАНИЕ"
    assert frame.inner_text("[data-testid=countdown]").startswith("До начала ")
    assert "Ваше время (Asia/Yekaterinburg, GMT+5)" in frame.inner_text(
        "[data-testid=registration]")
    assert frame.locator("[data-testid=change]").inner_text() == "Выбрать другое время"
    shoot(page, "live-mobile-ru.png")
    assert errors == []


# ---- /live/room -----------------------------------------------------------------------------


def test_room_without_a_registration(browser, live_en) -> None:
    s = live_en
    uid = s.backend.new_user()
    errors: list[str] = []
    page = new_page(browser, errors, height=560)
    page.goto(s.url("/live/room", uid))
    page.wait_for_selector("[data-testid=not-registered]", state="visible")
    shoot(page, "live-room-none.png")
    page.click("[data-testid=not-registered] a")
    page.wait_for_selector("[data-testid=slot]")
    assert page.url.startswith(f"{s.site.base}/live")
    assert s.backend.meta(uid, LIVE) == {}
    assert errors == []


def test_room_from_countdown_to_open_to_live_to_the_closing_screens(browser, live_ru) -> None:
    """In Russian (the default): the countdown, the room opening by itself, «ПРЯМОЙ ЭФИР»
    only while on air, and the three closing screens with one-click registration."""
    s = live_ru
    uid = s.backend.new_user()
    s.register(uid, "soon")
    slot = s.slot("soon")
    errors: list[str] = []
    page = new_page(browser, errors, zone="Europe/Berlin", locale="ru-RU", height=720)

    # 1. four seconds before the room opens: a countdown
    s.clock.set(slot.opens_at - timedelta(seconds=4))
    page.goto(s.url("/live/room", uid))
    page.wait_for_selector("[data-testid=waiting]", state="visible")
    assert page.inner_text("[data-testid=live-badge]") == "РАСПИСАНИЕ"
    assert page.inner_text("[data-testid=countdown]").startswith("До начала 10:0")
    assert "ЭФИР" not in page.inner_text("body")
    assert s.backend.meta(uid, LIVE).get(K["joined_at"]) is None
    shoot(page, "live-room-waiting.png")

    # 2. the page's timer opens the room: the stream, "room open", not yet "live"
    page.wait_for_selector("[data-testid=room]", state="visible", timeout=10_000)
    assert page.inner_text("[data-testid=live-badge]") == "КОМНАТА ОТКРЫТА"
    assert page.inner_text("#lw-stage-note").startswith("Трансляция начнётся через 09:5")
    page.wait_for_selector("[data-testid=stream-frame] iframe")
    joined = wait_until(lambda: s.backend.meta(uid, LIVE).get(K["joined_at"]), what="joined")
    assert "ЭФИР" not in page.inner_text("body")
    shoot(page, "live-room-open.png")

    # 3. on air: «ПРЯМОЙ ЭФИР»; a second entry does not count again
    s.clock.set(slot.starts_at + timedelta(minutes=5))
    page.goto(s.url("/live/room", uid))
    page.wait_for_selector("[data-testid=room]", state="visible")
    wait_until(lambda: page.inner_text("[data-testid=live-badge]") == "ПРЯМОЙ ЭФИР",
               what="the live badge")
    assert s.backend.meta(uid, LIVE)[K["joined_at"]] == joined
    assert page.locator("[data-testid=live-badge]").evaluate(
        "el => getComputedStyle(el).backgroundColor") == "rgb(230, 57, 70)"
    shoot(page, "live-room-live.png")

    # 4. three seconds before the end; the page's timer moves to the closing screens
    s.clock.set(slot.ends_at - timedelta(seconds=3))
    page.goto(s.url("/live/room", uid))
    page.wait_for_selector("[data-testid=room]", state="visible")
    page.wait_for_selector("[data-testid=post-1]", state="visible", timeout=10_000)
    assert page.inner_text("[data-testid=live-badge]") == "ЗАВЕРШЁН"
    assert page.locator("[data-testid=stream-frame] iframe").count() == 0
    assert page.locator("form, input, textarea, select").count() == 0  # no forms, ever
    shoot(page, "live-post-1.png")
    page.click("[data-testid=post-1] button")
    page.wait_for_selector("[data-testid=register-next]", state="visible")
    assert page.inner_text("#lw-next-text").startswith("Следующий вебинар: ")
    shoot(page, "live-post-2.png")
    page.click("[data-testid=register-next]")
    wait_until(lambda: s.backend.meta(uid, LIVE).get(K["slot_id"]) == "tomorrow",
               what="one-click registration for the next slot")
    page.wait_for_selector("[data-testid=register-next]", state="hidden")
    assert page.inner_text("#lw-next-text").startswith("Вы записаны на ")
    page.click("[data-testid=post-2] [data-goto='3']")
    page.wait_for_selector("[data-testid=post-3]", state="visible")
    assert page.get_attribute("[data-testid=post-3] [data-testid=recording-link]", "href") == \
        "https://site.example/webinar/recording/"
    assert page.locator("form, input, textarea, select").count() == 0
    shoot(page, "live-post-3.png")
    assert errors == []


def test_room_with_a_stream_that_cannot_be_embedded(browser, live_en) -> None:
    s = live_en
    uid = s.backend.new_user()
    s.register(uid, "next-week")  # a Zoom link: opened in a new tab, not framed
    s.clock.set(s.slot("next-week").starts_at + timedelta(minutes=1))
    errors: list[str] = []
    page = new_page(browser, errors, height=560)
    page.goto(s.url("/live/room", uid))
    page.wait_for_selector("[data-testid=open-stream]", state="visible")
    assert page.get_attribute("[data-testid=open-stream]", "href") == "https://zoom.example/j/123"
    assert page.get_attribute("[data-testid=open-stream]", "target") == "_blank"
    assert page.locator("[data-testid=stream-frame]").is_hidden()
    assert text(page, "[data-testid=live-badge]") == "LIVE"
    shoot(page, "live-room-button.png")
    assert errors == []


def test_a_bad_tracking_link_is_a_plain_page(browser, live_en) -> None:
    errors: list[str] = []
    page = new_page(browser, errors, height=400)
    response = page.goto(f"{live_en.site.base}/l/c/forged.link.token")
    assert response.status == 400
    assert page.url == f"{live_en.site.base}/l/c/forged.link.token"  # no redirect
    assert page.inner_text("[data-testid=message]").startswith("This link is not valid.")
    assert page.get_attribute("[data-testid=message] a", "href") == "https://site.example"
    shoot(page, "live-link-invalid.png")


# ---- the admin dashboard's panel ------------------------------------------------------------


def test_admin_panel_counts_and_exports(browser, live_en) -> None:
    s = live_en
    a, b = s.backend.new_user(), s.backend.new_user()
    s.register(a, "tomorrow")
    s.register(b, "tomorrow")
    s.register(b, "next-week")  # switched: counts for next-week now, and as a signal for both
    admin = tokens.mint(SECRET, a, "admin", 600, now=s.clock().timestamp())
    errors: list[str] = []
    page = new_page(browser, errors, width=1200, height=900)
    page.goto(f"{s.site.base}/admin#token={admin}")
    page.wait_for_selector("[data-testid=live-table][aria-busy=false]")
    tomorrow = page.locator("#aw-live-body tr[data-slot=tomorrow] td")
    assert tomorrow.nth(1).inner_text() == "upcoming"
    counts = [int(tomorrow.nth(i).inner_text()) for i in range(2, 8)]  # now, then signals
    registered, _joined, sent = counts[0], counts[1], counts[2]
    # this app's ledger saw a's and b's choice of "tomorrow" (b's switch does not undo a
    # signal); usermeta is shared by the suite, so "registered" counts others too
    assert sent == 2 and registered >= 1
    assert page.locator("#aw-live-body tr[data-slot=on-air] td").nth(1).inner_text() == "LIVE"
    assert "Signals not about one time" in text(page, "[data-testid=live-note]")
    page.locator("#aw-live").scroll_into_view_if_needed()
    shoot(page.locator("#aw-live"), "live-admin.png")
    with page.expect_download() as download:
        page.click("[data-testid=live-export]")
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0] == "user_id,slot_id,slot_starts_at_utc,registered_at_utc,joined_at_utc"
    assert any(r.startswith(f"{a},tomorrow,") for r in rows)
    assert any(r.startswith(f"{b},next-week,") for r in rows)
    assert errors == []
