"""The session rules, without I/O or sleeping: table-driven cases and properties."""

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowebinar_wp.codec import encode_state
from autowebinar_wp.errors import BadRequest, CtaNotVisible, NoSession
from autowebinar_wp.session import (
    Completed,
    Create,
    Cta,
    CtaClicked,
    Heartbeat,
    Join,
    Joined,
    Leave,
    ProgressReached,
    SessionConfig,
    SessionCreated,
    decide,
    has_joined,
    progress_for,
)
from autowebinar_wp.state import WRITABLE_KEYS, State

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
CFG = SessionConfig(duration_sec=100, start_delay_sec=0, cta_at_sec=60, slack_sec=2)
SID = "11111111-1111-4111-8111-111111111111"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def names(outcome) -> list[str]:
    return [e.name + (f":{e.milestone}" if e.milestone else "") for e in outcome.events]


def run(steps, cfg=CFG, state=State()):
    """Apply [(seconds, action)] in order; return the outcomes."""
    outcomes = []
    for seconds, action in steps:
        outcome = decide(state, action, at(seconds), cfg)
        state = outcome.state
        outcomes.append(outcome)
    return outcomes


# ---- creation and join -------------------------------------------------------------------


def test_create_makes_a_session_once() -> None:
    first, second = run([(0, Create(SID)), (50, Create("other"))])
    assert first.state == State(session_id=SID, started_at=T0)
    assert names(first) == ["autowebinar_session_created"]
    assert second.state == first.state and second.events == ()


def test_create_honours_start_delay() -> None:
    cfg = dataclasses.replace(CFG, start_delay_sec=300)
    (out,) = run([(0, Create(SID))], cfg)
    assert out.state.started_at == at(300)


def test_join_before_start_is_the_waiting_room() -> None:
    cfg = dataclasses.replace(CFG, start_delay_sec=300)
    created, waiting = run([(0, Create(SID)), (100, Join("x"))], cfg)
    assert waiting.starts_in_sec == 200
    assert waiting.position_sec == 0
    assert waiting.events == ()  # seen, but not joined
    assert not has_joined(waiting.state)
    assert waiting.state.last_seen_at == at(100)


def test_lazy_creation_on_first_join() -> None:
    (out,) = run([(0, Join(SID))])
    assert names(out) == ["autowebinar_session_created", "autowebinar_join"]
    assert out.position_sec == 0 and out.state.session_id == SID


@pytest.mark.parametrize(
    ("join_after", "position", "milestones"),
    [
        (0, 0, []),
        (30, 30, ["autowebinar_progress:25"]),
        (55, 55, ["autowebinar_progress:25", "autowebinar_progress:50"]),
        (99, 0, []),  # within tolerance of the end? no: >= duration only resets at 100
        (100, 0, []),  # the window has passed: from the start
        (5000, 0, []),
    ],
)
def test_first_entry_offset(join_after, position, milestones) -> None:
    cfg = CFG
    if join_after == 99:
        position, milestones = 99, [
            "autowebinar_progress:25", "autowebinar_progress:50", "autowebinar_progress:75",
            "autowebinar_progress:100", "autowebinar_completed",
        ]
    _, joined = run([(0, Create(SID)), (join_after, Join("x"))], cfg)
    assert joined.position_sec == position
    assert names(joined) == ["autowebinar_join", *milestones]


def test_reentry_resumes_and_never_resets() -> None:
    outs = run([
        (0, Join(SID)), (10, Heartbeat(10)), (20, Heartbeat(20)), (26, Leave(26)),
        (4000, Join("ignored")),
    ])
    reentry = outs[-1]
    assert reentry.position_sec == 26 and reentry.resumed
    assert reentry.events == ()
    assert reentry.state.progress_percent == 25
    assert reentry.state.session_id == SID


# ---- heartbeats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "expected", "clamped"),
    [
        (10, 10, False),
        (12, 12, False),  # elapsed 10 + slack 2
        (13, 12, True),
        (5000, 12, True),
        (0, 0, False),
        (10.9, 10, False),  # whole seconds
    ],
)
def test_heartbeat_is_bounded_by_wall_clock(reported, expected, clamped) -> None:
    _, hb = run([(0, Join(SID)), (10, Heartbeat(reported))])
    assert hb.position_sec == expected
    assert hb.clamped is clamped


def test_position_never_moves_backwards() -> None:
    _, _, hb = run([(0, Join(SID)), (10, Heartbeat(10)), (20, Heartbeat(3))])
    assert hb.position_sec == 10


def test_rapid_heartbeats_cannot_bank_slack() -> None:
    # a script sending a heartbeat every second, always claiming far ahead
    outs = run([(0, Join(SID))] + [(t, Heartbeat(999)) for t in range(1, 51)])
    assert outs[-1].position_sec <= 50 * 1.2
    assert all(o.clamped for o in outs[1:])


def test_milestones_in_order_once_each_and_completion() -> None:
    steps = [(0, Join(SID))] + [(t, Heartbeat(t)) for t in range(10, 101, 10)]
    steps += [(110, Heartbeat(100)), (120, Leave(100))]
    outs = run(steps)
    emitted = [n for o in outs for n in names(o)]
    assert emitted == [
        "autowebinar_session_created", "autowebinar_join",
        "autowebinar_progress:25", "autowebinar_progress:50", "autowebinar_progress:75",
        "autowebinar_progress:100", "autowebinar_completed",
    ]
    assert outs[-1].state.completed and outs[-1].state.progress_percent == 100


def test_end_tolerance_completes_a_slightly_short_file() -> None:
    outs = run([(0, Join(SID))] + [(t, Heartbeat(t)) for t in (30, 60, 90, 99)])
    assert outs[-1].state.completed
    assert outs[-1].position_sec == 100


def test_heartbeat_without_join_is_refused_leave_is_a_no_op() -> None:
    with pytest.raises(NoSession):
        decide(State(), Heartbeat(1), T0, CFG)
    out = decide(State(), Leave(1), T0, CFG)
    assert out.state == State() and out.events == ()


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf, -math.inf])
def test_bad_positions_raise(bad) -> None:
    (joined,) = run([(0, Join(SID))])
    with pytest.raises(BadRequest):
        decide(joined.state, Heartbeat(bad), at(5), CFG)


# ---- CTA ---------------------------------------------------------------------------------------


def test_cta_refused_before_visible_then_first_click_recorded() -> None:
    outs = run([(0, Join(SID))] + [(t, Heartbeat(t)) for t in (10, 20, 30, 40, 50)])
    with pytest.raises(CtaNotVisible):
        decide(outs[-1].state, Cta(), at(55), CFG)
    visible = decide(outs[-1].state, Heartbeat(60), at(60), CFG)
    assert visible.cta_visible(CFG)
    first = decide(visible.state, Cta(), at(61), CFG)
    again = decide(first.state, Cta(), at(90), CFG)
    assert names(first) == ["autowebinar_cta_click"]
    assert first.state.cta_clicked_at == at(61)
    assert again.events == () and again.state.cta_clicked_at == at(61)


def test_cta_visible_after_completion_even_if_cta_at_is_end() -> None:
    cfg = dataclasses.replace(CFG, cta_at_sec=None)
    outs = run([(0, Join(SID))] + [(t, Heartbeat(t)) for t in range(10, 101, 10)], cfg)
    assert outs[-2].cta_visible(cfg) is False
    assert outs[-1].cta_visible(cfg) is True


def test_progress_for_boundaries() -> None:
    assert [progress_for(p, CFG) for p in (0, 24, 25, 49, 50, 74, 75, 98, 99, 100)] == [
        0, 0, 25, 25, 50, 50, 75, 75, 100, 100]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        decide(State(), Join(SID), datetime(2026, 1, 1), CFG)  # noqa: DTZ001


# ---- properties over random action sequences --------------------------------------------------

actions = st.one_of(
    st.builds(Create, st.just("new-id")),
    st.builds(Join, st.just("new-id")),
    st.builds(Heartbeat, st.floats(0, 500, allow_nan=False)),
    st.builds(Leave, st.floats(0, 500, allow_nan=False)),
    st.just(Cta()),
)
configs = st.builds(
    SessionConfig,
    duration_sec=st.integers(1, 300),
    start_delay_sec=st.integers(0, 60),
    cta_at_sec=st.none(),
    slack_sec=st.integers(0, 3),
    heartbeat_sec=st.just(10),
)


@settings(max_examples=400, deadline=None)
@given(
    config=configs,
    steps=st.lists(st.tuples(st.integers(0, 120), actions), max_size=40),
)
def test_invariants_over_random_sequences(config, steps) -> None:
    state, now = State(), T0
    emitted: list[tuple[str, int | None]] = []
    budget = None  # the most the position may be, from wall-clock time
    for gap, action in steps:
        now = now + timedelta(seconds=gap)
        before = state
        try:
            outcome = decide(state, action, now, config)
        except (NoSession, CtaNotVisible):
            continue
        state = outcome.state
        emitted += [(e.name, e.milestone) for e in outcome.events]
        # never backwards; never more than wall-clock time allows
        assert state.last_position_sec >= before.last_position_sec
        assert 0 <= state.last_position_sec <= config.duration_sec
        if has_joined(state) and not has_joined(before):
            budget = state.last_position_sec
        elif has_joined(before) and budget is not None:
            elapsed = int((now - before.last_seen_at).total_seconds())
            # wall-clock time plus at most slack/heartbeat of it (no banked slack)
            budget = min(
                config.duration_sec,
                budget + elapsed + min(config.slack_sec, elapsed * config.slack_sec // 10),
            )
        if budget is not None:
            assert state.last_position_sec <= budget
        # progress monotone; completed iff 100; re-entry never resets anything
        assert state.progress_percent >= before.progress_percent
        assert state.completed == (state.progress_percent == 100)
        assert before.completed <= state.completed
        if before.session_id is not None:
            assert state.session_id == before.session_id
            assert state.started_at == before.started_at
        if before.cta_clicked_at is not None:
            assert state.cta_clicked_at == before.cta_clicked_at
        assert set(encode_state(state)) <= WRITABLE_KEYS
    milestones = [m for name, m in emitted if name == "autowebinar_progress"]
    assert milestones == sorted(set(milestones)), "each milestone once, in order"
    assert emitted.count(("autowebinar_completed", None)) <= 1
    assert emitted.count(("autowebinar_session_created", None)) <= 1
    assert emitted.count(("autowebinar_join", None)) <= 1
    assert emitted.count(("autowebinar_cta_click", None)) <= 1
    assert (("autowebinar_completed", None) in emitted) == (100 in milestones)


def test_event_types() -> None:
    (out,) = run([(0, Join(SID))])
    assert isinstance(out.events[0], SessionCreated) and isinstance(out.events[1], Joined)
    assert ProgressReached(SID, T0, 50).milestone == 50
    assert Completed(SID, T0).milestone is None and CtaClicked.name == "autowebinar_cta_click"
