"""The live module over HTTP (web/live.py) on SQLite and MariaDB: API, pages, calendar file,
tracking links, and bad input (a clear 4xx, nothing written, never a 500)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar

from autowebinar_wp.live import links
from autowebinar_wp.live.state import META_KEYS
from tests.live.support import LINK_SECRET, ROOM, STREAM, live_config
from tests.support import T0

SLOTS, REGISTER, JOIN = "/api/v1/live/slots", "/api/v1/live/register", "/api/v1/live/join"
LIVE = "livewebinar_"
K = META_KEYS


@pytest.fixture
def live(make_harness):
    return make_harness(**live_config(T0))


def get(h, path, uid):
    return h.client.get(path, headers={"Authorization": f"Bearer {h.token(uid)}"})


def names(h):
    return [name for _uid, name, _p in h.events]


# ---- slots and registration ----------------------------------------------------------------


def test_slots_list_statuses_in_order_and_no_registration(live) -> None:
    uid = live.backend.new_user()
    body = get(live, SLOTS, uid).get_json()
    assert body["server_time"] == "2026-11-26T12:00:00Z"
    assert body["registration"] is None
    got = [(s["id"], s["status"]) for s in body["slots"]]
    assert got[:3] == [("on-air", "live"), ("soon", "upcoming"), ("tomorrow", "upcoming")]
    assert "past" not in [s["id"] for s in body["slots"]]
    assert len(body["slots"]) == 6  # LIVE_SLOTS_SHOWN
    first = body["slots"][0]
    assert first["timezone"] == "Europe/Berlin" and first["registered"] is False
    assert first["starts_at"].endswith("Z") and first["ics_url"] == "/live/slot/on-air.ics"
    assert urlsplit(first["google_calendar_url"]).netloc == "calendar.google.com"
    assert live.backend.meta(uid, LIVE) == {}


def test_one_click_registration_then_idempotent(live) -> None:
    uid = live.backend.new_user()
    response = live.post(REGISTER, uid, json={"slot_id": "soon"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["changed"] is True
    reg = body["registration"]
    assert (reg["slot_id"], reg["status"], reg["registered_at"]) == (
        "soon", "upcoming", "2026-11-26T12:00:00Z")
    assert reg["starts_in_sec"] == 30 * 60 and reg["opens_in_sec"] == 20 * 60
    assert live.backend.meta(uid, LIVE) == {
        K["slot_id"]: "soon", K["slot_starts_at"]: "2026-11-26 12:30:00",
        K["registered_at"]: "2026-11-26 12:00:00"}
    assert names(live) == ["live_registered"]

    rows = live.backend.all_rows(uid)
    live.clock.advance(60)
    again = live.post(REGISTER, uid, json={"slot_id": "soon"})
    assert again.status_code == 200 and again.get_json()["changed"] is False
    assert live.backend.all_rows(uid) == rows  # nothing written
    assert names(live) == ["live_registered"]  # no second event
    listed = get(live, SLOTS, uid).get_json()
    assert [s["id"] for s in listed["slots"] if s["registered"]] == ["soon"]
    assert listed["registration"]["slot_id"] == "soon"


def test_choosing_another_time_replaces_and_clears_the_entry(live) -> None:
    uid = live.backend.new_user()
    live.post(REGISTER, uid, json={"slot_id": "on-air"})
    assert live.post(JOIN, uid).get_json()["status"] == "live"
    assert live.backend.meta(uid, LIVE)[K["joined_at"]] == "2026-11-26 12:00:00"
    live.clock.advance(30)
    assert live.post(REGISTER, uid, json={"slot_id": "tomorrow"}).status_code == 200
    meta = live.backend.meta(uid, LIVE)
    assert meta[K["slot_id"]] == "tomorrow"
    assert meta[K["joined_at"]] == ""  # never DELETEd: emptied, as WordPress reads a missing row
    assert meta[K["registered_at"]] == "2026-11-26 12:00:30"
    assert len(live.backend.rows(uid, LIVE)) == 4  # one row per key
    assert names(live) == ["live_registered", "live_joined", "live_registered"]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"slot_id": "nope"}, 404, "unknown_slot"),
    ({"slot_id": "2026-11-25T0715"}, 404, "unknown_slot"),  # a Wednesday: no occurrence
    ({"slot_id": "../../etc/passwd"}, 404, "unknown_slot"),
    ({"slot_id": "x" * 5000}, 404, "unknown_slot"),
    ({"slot_id": "past"}, 409, "slot_ended"),
    ({"slot_id": 42}, 400, "bad_request"),
    ({"slot_id": ""}, 400, "bad_request"),
    ({}, 400, "bad_request"),
    (["soon"], 400, "bad_request"),
])
def test_bad_registrations_write_nothing(live, body, status, code) -> None:
    uid = live.backend.new_user()
    rows = live.backend.all_rows(uid)
    response = live.post(REGISTER, uid, json=body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert live.backend.all_rows(uid) == rows
    assert live.events == []


def test_not_json_and_no_token(live) -> None:
    uid = live.backend.new_user()
    response = live.post(REGISTER, uid, data=b"\xff\xfe not json",
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert live.post(REGISTER, json={"slot_id": "soon"}).status_code == 401
    assert live.client.get(SLOTS).status_code == 401
    assert live.post(JOIN, token="forged.token.here").status_code == 401
    assert live.backend.all_rows(uid) == live.backend.all_rows(uid)


# ---- the room ------------------------------------------------------------------------------


def test_join_follows_the_room_and_counts_the_first_entry_once(live) -> None:
    uid = live.backend.new_user()
    assert live.post(JOIN, uid).get_json()["error"]["code"] == "not_registered"
    live.post(REGISTER, uid, json={"slot_id": "soon"})
    rows = live.backend.all_rows(uid)

    early = live.post(JOIN, uid).get_json()  # 30 min before: the room is not open yet
    assert (early["status"], early["join_url"], early["opens_in_sec"]) == ("upcoming", None, 1200)
    assert live.backend.all_rows(uid) == rows

    live.clock.advance(20 * 60)  # the room opens 10 minutes before the start
    opened = live.post(JOIN, uid).get_json()
    assert (opened["status"], opened["join_url"], opened["embed"]) == ("open", STREAM, True)
    assert opened["joined_at"] == "2026-11-26T12:20:00Z"
    live.clock.advance(10 * 60)
    on_air = live.post(JOIN, uid).get_json()
    assert on_air["status"] == "live" and on_air["joined_at"] == "2026-11-26T12:20:00Z"
    live.clock.advance(60 * 60)
    ended = live.post(JOIN, uid).get_json()
    assert (ended["status"], ended["join_url"]) == ("ended", None)
    assert names(live) == ["live_registered", "live_joined"]
    assert live.backend.meta(uid, LIVE)[K["joined_at"]] == "2026-11-26 12:20:00"


def test_a_slot_removed_from_the_schedule(make_harness) -> None:
    h = make_harness(**live_config(T0))
    uid = h.backend.new_user()
    h.backend.insert_raw(uid, K["slot_id"], "withdrawn")
    h.backend.insert_raw(uid, K["registered_at"], "2026-11-20 10:00:00")
    reg = get(h, SLOTS, uid).get_json()["registration"]
    assert (reg["slot_id"], reg["status"], reg["slot"]) == ("withdrawn", "unavailable", None)
    response = h.post(JOIN, uid)
    assert (response.status_code, response.get_json()["error"]["code"]) == (
        409, "slot_unavailable")


def test_garbage_in_usermeta_reads_as_not_registered(live) -> None:
    uid = live.backend.new_user()
    live.backend.insert_raw(uid, K["slot_id"], "not a slot id!")
    live.backend.insert_raw(uid, K["registered_at"], "yesterday")
    assert get(live, SLOTS, uid).get_json()["registration"] is None
    assert live.post(REGISTER, uid, json={"slot_id": "soon"}).status_code == 200
    assert live.backend.meta(uid, LIVE)[K["slot_id"]] == "soon"  # repaired by the write


# ---- calendar file -------------------------------------------------------------------------


def test_calendar_file(live) -> None:
    response = live.client.get("/live/slot/tomorrow.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == 'attachment; filename="webinar-tomorrow.ics"'
    (event,) = Calendar.from_ical(response.data).walk("VEVENT")
    assert event["UID"] == "live-tomorrow@site.example"
    assert event["SUMMARY"] == "Sales masterclass: Q&A"
    assert event.decoded("DTSTART") == T0 + timedelta(days=1)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=60)
    assert str(event["URL"]) == ROOM
    assert b"DTSTART:20261127T120000Z" in response.data
    recurring = live.client.get("/live/slot/2026-11-30T0715.ics")
    assert recurring.status_code == 200 and b"DTSTART:20261130T061500Z" in recurring.data


@pytest.mark.parametrize("slot_id", ["nope", "2026-11-30T0716", "%00", "a%2Fb", "x" * 300,
                                     "2026-13-45T9999"])
def test_garbage_calendar_ids_are_404(live, slot_id) -> None:
    response = live.client.get(f"/live/slot/{slot_id}.ics")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] in ("unknown_slot", "not_found")


# ---- pages ---------------------------------------------------------------------------------


def test_pages_render_with_a_strict_csp_that_frames_only_the_stream(live) -> None:
    uid = live.backend.new_user()
    for path in ("/live", "/live/room"):
        response = live.client.get(f"{path}?token={live.token(uid)}")
        assert response.status_code == 200
        csp = response.headers["Content-Security-Policy"]
        assert "frame-src https://stream.example;" in csp and "default-src 'none'" in csp
        assert response.headers["Cache-Control"] == "no-store"
        html = response.get_data(as_text=True)
        assert 'data-testid="live-badge" data-state="schedule"' in html
        assert "recording-badge" not in html and "chat" in html  # the honest note
    assert live.client.get("/live?token=bad").status_code == 401
    expired = live.token(uid, ttl=60)
    live.clock.advance(3600)
    page = live.client.get(f"/live/room?token={expired}")
    assert page.status_code == 401 and 'data-reason="expired"' in page.get_data(as_text=True)


def test_disabled_module_answers_404_everywhere(make_harness) -> None:
    h = make_harness(**live_config(T0, LIVE_ENABLED=False))
    uid = h.backend.new_user()
    assert get(h, SLOTS, uid).get_json()["error"]["code"] == "live_disabled"
    assert h.post(REGISTER, uid, json={"slot_id": "soon"}).status_code == 404
    assert h.post(JOIN, uid).status_code == 404
    assert h.client.get("/live/slot/soon.ics").status_code == 404
    assert h.client.get(f"/live?token={h.token(uid)}").status_code == 404
    click = links.mint(LINK_SECRET, uid, "n", url="https://site.example/", now=T0.timestamp())
    assert h.client.get(f"/l/c/{click}").status_code == 404
    assert h.backend.meta(uid, LIVE) == {} and h.events == []


# ---- tracking links -------------------------------------------------------------------------


def mint(h, uid, **kwargs):
    return links.mint(LINK_SECRET, uid, kwargs.pop("n", "reminder-1h"), now=h.clock().timestamp(),
                      **kwargs)


def test_open_pixel_signals_once_per_notification(live) -> None:
    uid = live.backend.new_user()
    rows = live.backend.all_rows(uid)
    token = mint(live, uid, slot_id="soon")
    for _ in range(3):  # mail proxies fetch images more than once
        response = live.client.get(f"/l/o/{token}")
        assert response.status_code == 200 and response.mimetype == "image/gif"
        assert response.headers["Cache-Control"].startswith("no-store")
        assert response.data.startswith(b"GIF89a") and len(response.data) == 42
    assert names(live) == ["live_notification_opened"]
    live.client.get(f"/l/o/{mint(live, uid, n='reminder-10m')}")
    assert names(live) == ["live_notification_opened"] * 2
    assert live.backend.all_rows(uid) == rows  # signals change no state


def test_click_redirects_only_to_the_signed_target(live) -> None:
    uid = live.backend.new_user()
    target = "https://site.example/webinars/live/?utm_source=crm&x=1"
    response = live.client.get(f"/l/c/{mint(live, uid, url=target, slot_id='soon')}")
    assert response.status_code == 302
    assert response.headers["Location"] == target
    assert response.headers["Cache-Control"] == "no-store"
    assert names(live) == ["live_link_clicked"]


@pytest.mark.parametrize("kind", ["o", "c"])
def test_bad_links_get_a_plain_page_and_never_a_redirect(live, kind) -> None:
    uid = live.backend.new_user()
    good = mint(live, uid, url="https://site.example/")
    head, body, sig = good.split(".")
    forged = links.mint("another-secret-0123456789abcdef0123456789", uid, "n",
                        url="https://evil.example/", now=T0.timestamp())
    for token, status, reason in [
        (f"{head}.{body}.{sig[:-2]}AA", 400, "link-invalid"),   # tampered signature
        (forged, 400, "link-invalid"),
        ("not-a-jwt", 400, "link-invalid"),
        (live.token(uid), 400, "link-invalid"),                 # an embed token
    ]:
        response = live.client.get(f"/l/{kind}/{token}")
        assert response.status_code == status, token
        assert "Location" not in response.headers
        html = response.get_data(as_text=True)
        assert f'data-reason="{reason}"' in html and 'href="https://site.example"' in html
        assert "evil.example" not in html
    expired = mint(live, uid, url="https://site.example/", ttl_sec=60)
    live.clock.advance(3600)
    response = live.client.get(f"/l/{kind}/{expired}")
    assert response.status_code == 410 and "Location" not in response.headers
    assert live.events == []


def test_a_pixel_token_is_no_redirect(live) -> None:
    uid = live.backend.new_user()
    response = live.client.get(f"/l/c/{mint(live, uid)}")
    assert response.status_code == 400 and "Location" not in response.headers


def test_without_a_link_secret_every_link_is_refused(make_harness) -> None:
    h = make_harness(**live_config(T0, LIVE_LINK_SECRET=None))
    uid = h.backend.new_user()
    token = links.mint(LINK_SECRET, uid, "n", url="https://site.example/", now=T0.timestamp())
    assert h.client.get(f"/l/c/{token}").status_code == 400
    assert h.client.get(f"/l/o/{token}").status_code == 400
