"""Live signals: payload shapes and deterministic event ids (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from autowebinar_wp.events import EVENT_NAMESPACE
from autowebinar_wp.live.events import (
    LIVE_EVENT_NAMESPACE,
    Joined,
    LinkClicked,
    NotificationOpened,
    Registered,
    live_event_id,
    live_payload,
)

AT = datetime(2026, 12, 1, 9, 30, 0, tzinfo=UTC)
START = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)


def test_registered_payload() -> None:
    body = live_payload(Registered("2026-12-10T1900", AT, START, "2026-12-03T1900"), 42, "p-1")
    assert body == {
        "event": "live_registered",
        "event_id": live_event_id(42, "live_registered", "2026-12-10T1900", "2026-12-01T09:30:00Z"),
        "user_id": 42, "ref_id": "p-1", "timestamp": "2026-12-01T09:30:00Z",
        "slot_id": "2026-12-10T1900", "slot_starts_at": "2026-12-10T16:00:00Z",
        "registered_at": "2026-12-01T09:30:00Z", "previous_slot_id": "2026-12-03T1900",
    }


def test_the_other_payloads() -> None:
    assert live_payload(Joined("s1", AT), 1, None) == {
        "event": "live_joined", "event_id": live_event_id(1, "live_joined", "s1"),
        "user_id": 1, "ref_id": None, "timestamp": "2026-12-01T09:30:00Z", "slot_id": "s1"}
    opened = live_payload(NotificationOpened(None, AT, "digest"), 1, None)
    assert opened["slot_id"] is None and opened["notification"] == "digest"
    assert opened["event"] == "live_notification_opened"
    clicked = live_payload(LinkClicked("s1", AT, "n1", "https://x.example/"), 1, "r")
    assert (clicked["event"], clicked["notification"], clicked["url"], clicked["slot_id"]) == (
        "live_link_clicked", "n1", "https://x.example/", "s1")


def test_ids_are_deterministic_and_distinct() -> None:
    a = Registered("A", AT, START, None)
    assert a.event_id(7) == Registered("A", AT, START, "other").event_id(7)  # same choice
    assert a.event_id(7) != a.event_id(8)
    later = AT.replace(hour=10)
    # A -> B -> A: the second choice of A is a new event, not a repeat of the first.
    assert Registered("A", later, START, "B").event_id(7) != a.event_id(7)
    # One join per user and slot, whenever it happened.
    assert Joined("A", AT).event_id(7) == Joined("A", later).event_id(7)
    # One open per user and notification; a click of the same notification is another event.
    assert NotificationOpened("A", AT, "n").event_id(7) == \
        NotificationOpened("A", later, "n").event_id(7)
    assert NotificationOpened("A", AT, "n").event_id(7) != \
        LinkClicked("A", AT, "n", "https://x/").event_id(7)
    assert NotificationOpened("A", AT, "n").event_id(7) != \
        NotificationOpened("A", AT, "m").event_id(7)


def test_the_namespace_is_not_autowebinars() -> None:
    assert LIVE_EVENT_NAMESPACE != EVENT_NAMESPACE
    assert uuid.UUID(live_event_id(1, "live_joined", "s")).version == 5
