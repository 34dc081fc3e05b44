"""The live module's signals (DESIGN §7) and their webhook payloads.

These are the spec's allowed pre-dialog CRM signals: registration time and slot choice
(`live_registered`), entry into the room (`live_joined`), opening a notification
(`live_notification_opened`) and following a link (`live_link_clicked`).

`event_id` is a UUIDv5 of (user, event, slot, discriminator), so a redelivery, a replay or a
second fetch of the same pixel carries the same id and receivers deduplicate. The
discriminator is the notification id for opens and clicks, and the registration time for
`live_registered`: choosing slot A, then B, then A again is three real choices the CRM must
see, not a repeat of the first one. `live_joined` has none: one per user and slot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from autowebinar_wp.events import iso

# uuid5(NAMESPACE_URL, "https://autowebinar-wp/live-events"): not the AutoWebinar namespace,
# so the two modules' ids can never collide.
LIVE_EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://autowebinar-wp/live-events")
NAMES = ("live_registered", "live_joined", "live_notification_opened", "live_link_clicked")


def live_event_id(user_id: int, name: str, slot_id: str | None, discriminator: str = "") -> str:
    return str(uuid.uuid5(LIVE_EVENT_NAMESPACE,
                          f"{user_id}:{name}:{slot_id or ''}:{discriminator}"))


@dataclass(frozen=True, slots=True)
class LiveEvent:
    name: ClassVar[str] = ""
    slot_id: str | None
    at: datetime

    def discriminator(self) -> str:
        return ""

    def extra(self) -> dict[str, Any]:
        return {}

    def event_id(self, user_id: int) -> str:
        return live_event_id(user_id, self.name, self.slot_id, self.discriminator())


@dataclass(frozen=True, slots=True)
class Registered(LiveEvent):
    name: ClassVar[str] = "live_registered"
    slot_starts_at: datetime | None = None
    previous_slot_id: str | None = None

    def discriminator(self) -> str:
        return iso(self.at)

    def extra(self) -> dict[str, Any]:
        return {"slot_starts_at": iso(self.slot_starts_at) if self.slot_starts_at else None,
                "registered_at": iso(self.at),
                "previous_slot_id": self.previous_slot_id}


@dataclass(frozen=True, slots=True)
class Joined(LiveEvent):
    name: ClassVar[str] = "live_joined"


@dataclass(frozen=True, slots=True)
class NotificationOpened(LiveEvent):
    name: ClassVar[str] = "live_notification_opened"
    notification: str = ""

    def discriminator(self) -> str:
        return self.notification

    def extra(self) -> dict[str, Any]:
        return {"notification": self.notification}


@dataclass(frozen=True, slots=True)
class LinkClicked(LiveEvent):
    name: ClassVar[str] = "live_link_clicked"
    notification: str = ""
    url: str = ""

    def discriminator(self) -> str:
        return self.notification

    def extra(self) -> dict[str, Any]:
        return {"notification": self.notification, "url": self.url}


def live_payload(event: LiveEvent, user_id: int, ref: str | None) -> dict[str, Any]:
    """{event, event_id, user_id, ref_id, timestamp, slot_id, ...extra} (DESIGN §7)."""
    return {
        "event": event.name,
        "event_id": event.event_id(user_id),
        "user_id": user_id,
        "ref_id": ref,
        "timestamp": iso(event.at),
        "slot_id": event.slot_id,
        **event.extra(),
    }
