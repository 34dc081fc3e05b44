"""Registration and room entry rules (no I/O, injected time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autowebinar_wp.errors import NotRegistered, SlotEnded, SlotUnavailable, UnknownSlot
from autowebinar_wp.live import rules
from autowebinar_wp.live.events import Joined, Registered
from autowebinar_wp.live.schedule import Slot
from autowebinar_wp.live.state import LiveState

START = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)


def make_slot(slot_id: str = "a", start: datetime = START) -> Slot:
    return Slot(slot_id, start, timedelta(minutes=60), "T", "https://s.example/", False,
                "Europe/Berlin", timedelta(minutes=10))


A, B = make_slot("a"), make_slot("b", START + timedelta(days=7))
EARLY = START - timedelta(days=2, microseconds=-250_000)


def test_first_registration() -> None:
    out = rules.register(LiveState(), A, EARLY)
    at = EARLY.replace(microsecond=0)
    assert out.state == LiveState("a", START, at, None)
    assert out.events == [Registered("a", at, START, None)]


def test_registering_again_for_the_same_slot_changes_nothing() -> None:
    state = rules.register(LiveState(), A, EARLY).state
    again = rules.register(state, A, EARLY + timedelta(hours=1))
    assert again.state == state and again.events == []


def test_a_moved_slot_refreshes_the_stored_start_silently() -> None:
    state = rules.register(LiveState(), A, EARLY).state
    moved = make_slot("a", START + timedelta(hours=1))
    out = rules.register(state, moved, EARLY)
    assert out.state.slot_starts_at == moved.starts_at and out.events == []


def test_choosing_another_slot_replaces_and_forgets_the_entry() -> None:
    joined = LiveState("a", START, EARLY, START)
    later = START + timedelta(hours=2)
    out = rules.register(joined, B, later)
    assert out.state == LiveState("b", B.starts_at, later, None)
    assert out.events == [Registered("b", later, B.starts_at, "a")]


def test_unknown_and_ended_slots_are_refused() -> None:
    with pytest.raises(UnknownSlot):
        rules.register(LiveState(), None, EARLY)
    with pytest.raises(SlotEnded):
        rules.register(LiveState(), A, A.ends_at)
    # a slot on air can still be chosen (late joiners)
    assert rules.register(LiveState(), A, START + timedelta(minutes=30)).events


@pytest.mark.parametrize(("offset_min", "status", "joins"), [
    (-11, "upcoming", False), (-10, "open", True), (0, "live", True), (59, "live", True),
    (60, "ended", False),
])
def test_join_counts_only_while_the_room_is_open(offset_min: int, status: str,
                                                 joins: bool) -> None:
    state = LiveState("a", START, EARLY, None)
    now = START + timedelta(minutes=offset_min)
    out = rules.join(state, A, now)
    assert out.status == status and out.room_open == joins
    if joins:
        assert out.state.joined_at == now and out.events == [Joined("a", now)]
    else:
        assert out.state == state and out.events == []


def test_a_second_entry_is_not_a_second_join() -> None:
    first = rules.join(LiveState("a", START, EARLY, None), A, START)
    second = rules.join(first.state, A, START + timedelta(minutes=5))
    assert second.state == first.state and second.events == []


def test_join_needs_a_registration_for_a_slot_on_the_schedule() -> None:
    with pytest.raises(NotRegistered):
        rules.join(LiveState(), A, START)
    with pytest.raises(SlotUnavailable):
        rules.join(LiveState("gone", START, EARLY), None, START)


def test_derive_is_what_the_state_shows() -> None:
    assert rules.derive(LiveState()) == []
    assert rules.derive(LiveState("a", START, None, None)) == []  # unreadable time: nothing
    assert rules.derive(LiveState("a", START, EARLY, None)) == [Registered("a", EARLY, START)]
    assert rules.derive(LiveState("a", START, EARLY, START)) == [
        Registered("a", EARLY, START), Joined("a", START)]


@given(steps=st.lists(st.tuples(st.sampled_from(["register-a", "register-b", "join"]),
                                st.integers(0, 10 * 24 * 3600)), max_size=12))
def test_replay_reproduces_the_ids_that_were_sent(steps: list[tuple[str, int]]) -> None:
    """Whatever happens, the events derived from the final state were all sent, same ids."""
    state, sent = LiveState(), set()
    now = START - timedelta(days=3)
    for action, seconds in sorted(steps, key=lambda s: s[1]):
        moment = now + timedelta(seconds=seconds, microseconds=123)
        try:
            if action == "join":
                slot = {"a": A, "b": B}.get(state.slot_id or "")
                out = rules.join(state, slot, moment)
            else:
                out = rules.register(state, A if action == "register-a" else B, moment)
        except (NotRegistered, SlotEnded, SlotUnavailable):
            continue
        state = out.state
        sent |= {e.event_id(5) for e in out.events}
    assert {e.event_id(5) for e in rules.derive(state)} <= sent
