"""Calendar files and Google Calendar links for a slot (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from icalendar import Calendar

from autowebinar_wp.live import ics
from autowebinar_wp.live.schedule import parse_live

NOW = datetime(2026, 10, 20, 12, 0, 5, 123456, tzinfo=UTC)
SCHEDULE = parse_live({"timezone": "Europe/Berlin", "join_url": "https://stream.example/",
                       "title": "Weekly Q&A; sales, \"pipeline\"", "duration_min": 90,
                       "schedules": [{"rrule": "FREQ=WEEKLY;BYDAY=TU", "at": "19:00"}]}, NOW)
ROOM = "https://site.example/live/"


def slot(slot_id: str = "2026-10-27T1900"):  # type: ignore[no-untyped-def]
    found = SCHEDULE.find(slot_id)
    assert found is not None
    return found


def test_the_file_has_utc_times_the_real_duration_and_a_stable_uid() -> None:
    data = ics.calendar(slot(), domain="site.example", now=NOW, url=ROOM,
                        description="Scheduled webinar")
    text = data.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    # 19:00 in Berlin the first Tuesday after the clocks went back = 18:00 UTC, 90 minutes.
    assert "DTSTART:20261027T180000Z\r\n" in text
    assert "DTEND:20261027T193000Z\r\n" in text
    assert "UID:live-2026-10-27T1900@site.example\r\n" in text
    assert "DTSTAMP:20261020T120005Z\r\n" in text
    assert "VTIMEZONE" not in text  # UTC needs none
    again = ics.calendar(slot(), domain="site.example", now=NOW + timedelta(days=1), url=ROOM)
    assert "UID:live-2026-10-27T1900@site.example\r\n" in again.decode()

    parsed = Calendar.from_ical(data)
    (event,) = parsed.walk("VEVENT")
    assert event["SUMMARY"] == 'Weekly Q&A; sales, "pipeline"'  # escaped and read back
    assert event.decoded("DTSTART") == datetime(2026, 10, 27, 18, 0, tzinfo=UTC)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=90)
    assert str(event["URL"]) == ROOM
    assert parsed["METHOD"] == "PUBLISH" and parsed["VERSION"] == "2.0"


def test_different_slots_have_different_uids() -> None:
    a = ics.uid(slot("2026-10-27T1900"), "site.example")
    b = ics.uid(slot("2026-11-03T1900"), "site.example")
    assert a != b


def test_google_calendar_link() -> None:
    url = ics.google_calendar_url(slot(), url=ROOM, description="Scheduled webinar")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "calendar.google.com",
                                                        "/calendar/render")
    query = parse_qs(parts.query)
    assert query["action"] == ["TEMPLATE"]
    assert query["dates"] == ["20261027T180000Z/20261027T193000Z"]
    assert query["text"] == ['Weekly Q&A; sales, "pipeline"']
    assert query["details"] == [f"Scheduled webinar\n\n{ROOM}"]
    assert query["location"] == [ROOM]
