from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autowebinar_wp.codec import decode_state, encode_state
from autowebinar_wp.state import META_KEYS, State

K = META_KEYS
T0 = datetime(2026, 11, 26, 13, 5, 9, tzinfo=UTC)


def test_encodings_are_wordpress_strings() -> None:
    state = State("0b7f4c1e-6a0e-4b8e-9a55-8c3f1f1f2a10", T0, 754, 50, True, T0, T0)
    assert encode_state(state) == {
        K["session_id"]: "0b7f4c1e-6a0e-4b8e-9a55-8c3f1f1f2a10",
        K["started_at"]: "2026-11-26 13:05:09",
        K["last_position_sec"]: "754",
        K["progress_percent"]: "50",
        K["completed"]: "1",
        K["cta_clicked_at"]: "2026-11-26 13:05:09",
        K["last_seen_at"]: "2026-11-26 13:05:09",
    }


def test_absent_cta_and_no_session() -> None:
    assert encode_state(State()) == {}
    encoded = encode_state(State(session_id="s", started_at=T0, last_seen_at=T0))
    assert K["cta_clicked_at"] not in encoded
    assert encoded[K["completed"]] == "0"


def test_non_utc_datetimes_are_stored_in_utc() -> None:
    from datetime import timedelta, timezone

    moscow = T0.astimezone(timezone(timedelta(hours=3)))
    assert encode_state(State("s", moscow))[K["started_at"]] == "2026-11-26 13:05:09"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_state(State("s", datetime(2026, 1, 1)))  # noqa: DTZ001


datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@given(
    session_id=st.uuids().map(str),
    started_at=st.one_of(st.none(), datetimes),
    position=st.integers(0, 864000),
    progress=st.sampled_from([0, 25, 50, 75, 100]),
    completed=st.booleans(),
    cta=st.one_of(st.none(), datetimes),
    seen=st.one_of(st.none(), datetimes),
)
def test_round_trip(session_id, started_at, position, progress, completed, cta, seen) -> None:
    state = State(session_id, started_at, position, progress, completed, cta, seen)
    assert decode_state(encode_state(state)) == state


@pytest.mark.parametrize(
    ("key", "raw", "field", "expected"),
    [
        ("last_position_sec", "abc", "last_position_sec", 0),
        ("last_position_sec", "-5", "last_position_sec", 0),
        ("last_position_sec", "12.7", "last_position_sec", 12),
        ("last_position_sec", " 42 ", "last_position_sec", 42),
        ("last_position_sec", "nan", "last_position_sec", 0),
        ("last_position_sec", "1e400", "last_position_sec", 0),
        ("last_position_sec", "99999999999999999999", "last_position_sec", 0),
        ("last_position_sec", "", "last_position_sec", 0),
        ("last_position_sec", None, "last_position_sec", 0),
        ("progress_percent", "60", "progress_percent", 50),
        ("progress_percent", "100", "progress_percent", 100),
        ("progress_percent", "x", "progress_percent", 0),
        ("progress_percent", "24", "progress_percent", 0),
        ("completed", "yes", "completed", False),
        ("completed", "", "completed", False),
        ("completed", "true", "completed", True),
        ("completed", "1", "completed", True),
        ("started_at", "yesterday", "started_at", None),
        ("started_at", "2026-02-30 10:00:00", "started_at", None),
        ("cta_clicked_at", "0000-00-00 00:00:00", "cta_clicked_at", None),
        ("last_seen_at", "a:1:{i:0;s:1:\"x\";}", "last_seen_at", None),
        ("session_id", "   ", "session_id", None),
    ],
)
def test_garbage_reads_as_safe_default(key, raw, field, expected, caplog) -> None:
    state = decode_state({K[key]: raw}, user_id=7)
    assert getattr(state, field) == expected


def test_garbage_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    logger = logging.getLogger("autowebinar_wp")
    logger.propagate = True
    try:
        with caplog.at_level(logging.WARNING, logger="autowebinar_wp.codec"):
            decode_state({K["last_position_sec"]: "abc"}, user_id=9)
    finally:
        logger.propagate = False
    assert any(getattr(r, "meta_key", None) == K["last_position_sec"] for r in caplog.records)
    assert any(getattr(r, "user_id", None) == 9 for r in caplog.records)
