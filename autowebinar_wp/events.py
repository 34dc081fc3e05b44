"""Outgoing events: from session events to the spec's minimal webhook payloads.

Once-per-session events get a deterministic id, UUIDv5 of (session, event, milestone), so a
redelivery or a replay carries the same `event_id` and receivers can deduplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from autowebinar_wp.session import Event

# A fixed namespace for our UUIDv5 event ids (uuid5(NAMESPACE_URL, "https://autowebinar-wp/events")).
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://autowebinar-wp/events")


def event_id(event: Event) -> str:
    """The one place an AutoWebinar event's id is computed: UUIDv5(session, name, milestone)."""
    milestone = "" if event.milestone is None else event.milestone
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{event.session_id}:{event.name}:{milestone}"))


def ref_id(ref: Mapping[str, str], ref_keys: Sequence[str]) -> str | None:
    """The first non-empty referral key, in REF_META_KEYS order (read, never stored by us)."""
    for key in ref_keys:
        value = (ref.get(key) or "").strip()
        if value:
            return value
    return None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def payload(event: Event, user_id: int, ref: str | None) -> dict[str, Any]:
    """The wire payload: {event, event_id, user_id, ref_id, timestamp[, progress, name]}."""
    body: dict[str, Any] = {
        "event": event.name,
        "event_id": event_id(event),
        "user_id": user_id,
        "ref_id": ref,
        "timestamp": iso(event.at),
    }
    if event.milestone is not None:
        body["progress"] = event.milestone
        # The spec's requirement list names these autowebinar_view_NN: carry it as an alias.
        body["name"] = f"autowebinar_view_{event.milestone}"
    return body


def payloads(events: Sequence[Event], user_id: int, ref: Mapping[str, str],
             ref_keys: Sequence[str]) -> list[dict[str, Any]]:
    """The wire payloads of one user's events; `ref_id` from the referral keys as read."""
    rid = ref_id(ref, ref_keys)
    return [payload(event, user_id, rid) for event in events]
