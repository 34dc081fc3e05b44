"""Shared helpers for the live module's tests: a schedule placed relative to a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LINK_SECRET = "live-link-secret-0123456789abcdef0123456789ab"
STREAM = "https://stream.example/embed/live"
ROOM = "https://site.example/webinars/live/"
RECORDING = "https://site.example/webinar/recording/"
ZONE = "Europe/Berlin"


def local(moment: datetime, zone: str = ZONE) -> str:
    """A naive local time string for `[[live.slots]] starts_at` (whole minutes)."""
    return moment.astimezone(ZoneInfo(zone)).replace(second=0, microsecond=0,
                                                      tzinfo=None).isoformat()


def live_table(now: datetime, **extra: Any) -> dict[str, Any]:
    """A `[live]` table around `now`: a slot on air, one opening soon, later ones, a past one,
    and a weekly rule. Starts are whole minutes, so `soon` opens and starts on the minute."""
    base = now.replace(second=0, microsecond=0)
    return {
        "title": "Sales masterclass",
        "timezone": ZONE,
        "duration_min": 60,
        "open_before_min": 10,
        "join_url": STREAM,
        "embed": True,
        "recording_url": RECORDING,
        "room_url": ROOM,
        "slots": [
            {"id": "on-air", "starts_at": local(base - timedelta(minutes=20))},
            {"id": "soon", "starts_at": local(base + timedelta(minutes=30))},
            {"id": "tomorrow", "starts_at": local(base + timedelta(days=1)),
             "title": "Sales masterclass: Q&A"},
            {"id": "next-week", "starts_at": local(base + timedelta(days=7)),
             "join_url": "https://zoom.example/j/123", "embed": False},
            {"id": "past", "starts_at": local(base - timedelta(days=3))},
        ],
        "schedules": [{"rrule": "FREQ=WEEKLY;BYDAY=MO", "at": "07:15"}],
        **extra,
    }


def live_config(now: datetime, **overrides: Any) -> dict[str, Any]:
    """App configuration overrides for a live-enabled app."""
    return {"LIVE": live_table(now), "LIVE_LINK_SECRET": LINK_SECRET,
            "SITE_URL": "https://site.example", **overrides}


class ShiftedClock:
    """A server clock that runs in real time from a moment the test chooses (`set`)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def set(self, moment: datetime) -> None:
        self.offset = moment - datetime.now(UTC)
