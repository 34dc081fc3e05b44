"""Registration and room entry as pure functions: (state, slot, now) -> outcome.

No I/O, no clock reads. The slot comes from the Schedule (None: no such slot).

* register: an unknown slot is 404, an ended one 409; the slot already chosen changes
  nothing and emits nothing (idempotent); another slot replaces the registration (no
  history is kept: the CRM has it from the events) and forgets the old slot's entry.
* join: only for a registered user whose slot is still on the schedule; the first entry
  while the room is open (from `open_before` ahead of the start to the end) stores
  `joined_at` and emits `live_joined`; before and after, nothing changes.
* derive: the events the state still shows, for crash recovery and replay.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from autowebinar_wp.errors import NotRegistered, SlotEnded, SlotUnavailable, UnknownSlot
from autowebinar_wp.live.events import Joined, LiveEvent, Registered
from autowebinar_wp.live.schedule import Slot, Status
from autowebinar_wp.live.state import LiveState


@dataclass(frozen=True, slots=True)
class Outcome:
    state: LiveState
    events: list[LiveEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class JoinOutcome:
    state: LiveState
    status: Status
    slot: Slot
    events: list[LiveEvent] = field(default_factory=list)

    @property
    def room_open(self) -> bool:
        return self.status in ("open", "live")


def _second(moment: datetime) -> datetime:
    """Stored datetimes have one-second resolution; events must match what replay reads."""
    return moment.replace(microsecond=0)


def register(state: LiveState, slot: Slot | None, now: datetime) -> Outcome:
    if slot is None:
        raise UnknownSlot()
    if slot.status(now) == "ended":
        raise SlotEnded()
    if state.slot_id == slot.id:
        if state.slot_starts_at != slot.starts_at:
            # The site moved this slot in its configuration: keep the stored copy true.
            return Outcome(dataclasses.replace(state, slot_starts_at=slot.starts_at))
        return Outcome(state)
    at = _second(now)
    new = LiveState(slot_id=slot.id, slot_starts_at=slot.starts_at, registered_at=at)
    return Outcome(new, [Registered(slot.id, at, slot.starts_at, state.slot_id)])


def join(state: LiveState, slot: Slot | None, now: datetime) -> JoinOutcome:
    if state.slot_id is None:
        raise NotRegistered()
    if slot is None or slot.id != state.slot_id:
        raise SlotUnavailable()
    status = slot.status(now)
    if status not in ("open", "live") or state.joined_at is not None:
        return JoinOutcome(state, status, slot)
    at = _second(now)
    new = dataclasses.replace(state, joined_at=at)
    return JoinOutcome(new, status, slot, [Joined(slot.id, at)])


def derive(state: LiveState) -> list[LiveEvent]:
    """The events this state implies, with the ids they were first sent with.

    `previous_slot_id` is not stored (no history), so a replayed `live_registered` carries
    null there; its event_id is the original one, so receivers keep the first copy.
    """
    if state.slot_id is None or state.registered_at is None:
        return []
    events: list[LiveEvent] = [Registered(state.slot_id, state.registered_at,
                                          state.slot_starts_at, None)]
    if state.joined_at is not None and state.joined_at >= state.registered_at:
        events.append(Joined(state.slot_id, state.joined_at))
    return events
