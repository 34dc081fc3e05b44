"""Calendar entries for a slot: an RFC 5545 file (icalendar) and a Google Calendar link.

Pure. Times are written in UTC (`DTSTART:20261210T160000Z`), which every calendar (Google,
Outlook, Apple) imports without a VTIMEZONE block and shows in the reader's own zone; the
end is the real end (start + duration). The UID depends only on the slot and the site, so
downloading the file again updates the same entry instead of adding a second one.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from autowebinar_wp.live.schedule import Slot

PRODID = "-//autowebinar-wp//live webinars//EN"


def uid(slot: Slot, domain: str) -> str:
    return f"live-{slot.id}@{domain or 'autowebinar-wp'}"


def calendar(slot: Slot, *, domain: str, now: datetime, url: str = "",
             description: str = "") -> bytes:
    """One VEVENT in a VCALENDAR (METHOD:PUBLISH), as bytes with CRLF line ends."""
    from icalendar import Calendar, Event  # 80 modules: loaded by the first .ics, not by workers

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid(slot, domain))
    event.add("dtstamp", now.replace(microsecond=0))
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.ends_at)
    event.add("summary", slot.title)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
        event.add("location", url)
    cal.add_component(event)
    data: bytes = cal.to_ical()
    return data


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def google_calendar_url(slot: Slot, *, url: str = "", description: str = "") -> str:
    """calendar.google.com's "add event" template link, with UTC times."""
    details = "\n\n".join(part for part in (description, url) if part)
    query = {"action": "TEMPLATE", "text": slot.title,
             "dates": f"{_stamp(slot.starts_at)}/{_stamp(slot.ends_at)}"}
    if details:
        query["details"] = details
    if url:
        query["location"] = url
    return "https://calendar.google.com/calendar/render?" + urlencode(query, safe="/")
