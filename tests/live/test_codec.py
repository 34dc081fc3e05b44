"""LiveState <-> meta_value strings: exact writing, forgiving reading."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autowebinar_wp.live.codec import decode_live, encode_live
from autowebinar_wp.live.state import META_KEYS, LiveState

K = META_KEYS
T = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)


def test_encode() -> None:
    assert encode_live(LiveState()) == {}
    assert encode_live(LiveState("2026-12-10T1900", T, T, None)) == {
        "livewebinar_slot_id": "2026-12-10T1900",
        "livewebinar_slot_starts_at": "2026-12-10 16:00:00",
        "livewebinar_registered_at": "2026-12-10 16:00:00",
    }
    assert encode_live(LiveState("a", T, T, T))["livewebinar_joined_at"] == "2026-12-10 16:00:00"


@pytest.mark.parametrize(("raw", "expected"), [
    ({}, LiveState()),
    ({K["slot_id"]: ""}, LiveState()),
    ({K["slot_id"]: "bad id!", K["registered_at"]: "2026-12-10 16:00:00"}, LiveState()),
    ({K["slot_id"]: " a ", K["slot_starts_at"]: "garbage", K["registered_at"]: None,
      K["joined_at"]: ""}, LiveState("a")),
    ({K["slot_id"]: "a", K["slot_starts_at"]: "2026-12-10 16:00:00",
      K["registered_at"]: "2026-12-10 16:00:00", K["joined_at"]: "2026-12-10 16:00:00"},
     LiveState("a", T, T, T)),
])
def test_decode_is_forgiving(raw: dict[str, str | None], expected: LiveState) -> None:
    assert decode_live(raw, 1) == expected


MOMENTS = st.none() | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(9999, 1, 1),
                                   timezones=st.just(UTC))


@given(st.builds(LiveState,
                 slot_id=st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z"),
                 slot_starts_at=MOMENTS, registered_at=MOMENTS, joined_at=MOMENTS))
def test_round_trip_at_one_second_resolution(state: LiveState) -> None:
    def second(d: datetime | None) -> datetime | None:
        return d.replace(microsecond=0) if d else None

    assert decode_live(encode_live(state)) == LiveState(
        state.slot_id, second(state.slot_starts_at), second(state.registered_at),
        second(state.joined_at))
