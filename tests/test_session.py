"""The session rules, without I/O or sleeping: table-driven cases and properties."""

import dataclasses
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import hypothesis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowebinar_wp.codec import encode_state
from autowebinar_wp.errors import AnchorRequired, BadRequest, CtaNotVisible, NoSession
from autowebinar_wp.session import (
    Anchor,
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
    """Apply [(seconds, action)] in order, as one player would: each heartbeat or leave
    without an anchor echoes the latest one the player was given. Returns the outcomes."""
    outcomes, anchor = [], None
    for seconds, action in steps:
        if isinstance(action, Heartbeat | Leave) and action.anchor is None:
            action = dataclasses.replace(action, anchor=anchor)
        outcome = decide(state, action, at(seconds), cfg)
        state = outcome.state
        anchor = outcome.anchor or anchor
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
        (12, 10, False),  # within the slack: no snap-back, but only wall-clock time credited
        (12.5, 10, True),
        (5000, 10, True),
        (0, 0, False),
        (9.9, 9, False),  # whole seconds
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
    assert outs[-1].position_sec == 50  # exactly wall-clock time, not one slack more
    assert all(o.clamped for o in outs[1:])


def test_slack_is_not_banked_at_a_short_interval() -> None:
    # issue 9, observation 1: every 0.5 s a report of "stored + 2.4 s"
    steps, stored = [(0, Join(SID))], 0
    outs = run(steps)
    state, anchor = outs[0].state, outs[0].anchor
    for i in range(1, 13):
        out = decide(state, Heartbeat(stored + 2.4, anchor), at(i * 0.5), CFG)
        state, anchor, stored = out.state, out.anchor, out.position_sec
    assert stored <= 6  # 6 s of wall-clock time, not 12


def test_a_stale_report_costs_an_honest_viewer_nothing() -> None:
    # issue 9, observation 2: honest at 12; a stale report (3) at 13.4; leave at 14.0 with 13
    (joined,) = run([(0, Join(SID))])
    honest = decide(joined.state, Heartbeat(12, joined.anchor), at(12), CFG)
    stale = decide(honest.state, Heartbeat(3, joined.anchor), at(13.4), CFG)
    assert stale.position_sec == 12  # nothing moved backwards
    left = decide(stale.state, Leave(13, honest.anchor), at(14.0), CFG)
    assert left.position_sec == 13 and not left.clamped
    # a duplicate of the honest report, delivered late, whose answer the player takes: the
    # next honest report is still credited in full
    dup = decide(honest.state, Heartbeat(12, joined.anchor), at(13.9), CFG)
    after = decide(dup.state, Leave(14, dup.anchor), at(14.0), CFG)
    assert after.position_sec == 14 and not after.clamped


def test_a_pause_is_not_banked_beyond_one_slack() -> None:
    (joined,) = run([(0, Join(SID))])
    at_ten = decide(joined.state, Heartbeat(10, joined.anchor), at(10), CFG)
    paused = decide(at_ten.state, Heartbeat(10, at_ten.anchor), at(70), CFG)  # a minute later
    jump = decide(paused.state, Heartbeat(60, paused.anchor), at(71), CFG)
    assert jump.clamped and jump.position_sec == 10 + 1 + CFG.slack_sec


def test_an_anchor_of_another_session_or_none_is_refused() -> None:
    from autowebinar_wp.errors import AnchorMismatch, AnchorRequired
    from autowebinar_wp.session import Anchor

    (joined,) = run([(0, Join(SID))])
    with pytest.raises(AnchorRequired):
        decide(joined.state, Heartbeat(1), at(1), CFG)
    with pytest.raises(AnchorMismatch):
        decide(joined.state, Heartbeat(1, Anchor("other", 0, 0)), at(1), CFG)


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
    assert outs[-1].position_sec == 99


def test_heartbeat_without_join_is_refused_leave_is_a_no_op() -> None:
    with pytest.raises(NoSession):
        decide(State(), Heartbeat(1), T0, CFG)
    out = decide(State(), Leave(1), T0, CFG)
    assert out.state == State() and out.events == ()


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf, -math.inf])
def test_bad_positions_raise(bad) -> None:
    (joined,) = run([(0, Join(SID))])
    with pytest.raises(BadRequest):
        decide(joined.state, Heartbeat(bad, joined.anchor), at(5), CFG)


# ---- CTA ---------------------------------------------------------------------------------------


def test_cta_refused_before_visible_then_first_click_recorded() -> None:
    outs = run([(0, Join(SID))] + [(t, Heartbeat(t)) for t in (10, 20, 30, 40, 50)])
    with pytest.raises(CtaNotVisible):
        decide(outs[-1].state, Cta(), at(55), CFG)
    visible = decide(outs[-1].state, Heartbeat(60, outs[-1].anchor), at(60), CFG)
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

positions = st.floats(0, 500, allow_nan=False)
actions = st.one_of(
    st.builds(Create, st.just("new-id")),
    st.builds(Join, st.just("new-id")),
    st.tuples(st.just("hb"), positions, st.integers(0, 10**6)),
    st.tuples(st.just("leave"), positions, st.integers(0, 10**6)),
    st.just(Cta()),
)
configs = st.builds(
    SessionConfig,
    duration_sec=st.integers(1, 300),
    start_delay_sec=st.integers(0, 60),
    cta_at_sec=st.none(),
    slack_sec=st.integers(0, 3),
)


@settings(max_examples=400, deadline=None)
@given(
    config=configs,
    steps=st.lists(st.tuples(st.integers(0, 120_000), actions), max_size=40),
)
def test_invariants_over_random_sequences(config, steps) -> None:
    """Any actions, any anchor ever issued: the state's own invariants always hold."""
    state, now = State(), T0
    issued: list[Anchor] = []
    emitted: list[tuple[str, int | None]] = []
    for gap_ms, action in steps:
        now = now + timedelta(milliseconds=gap_ms)
        if isinstance(action, tuple):  # a heartbeat or leave with any anchor issued so far
            kind, position, pick = action
            anchor = issued[pick % len(issued)] if issued else None
            action = (Heartbeat if kind == "hb" else Leave)(position, anchor)
        before = state
        try:
            outcome = decide(state, action, now, config)
        except (NoSession, CtaNotVisible, AnchorRequired):
            continue
        state = outcome.state
        if outcome.anchor is not None:
            issued.append(outcome.anchor)
        emitted += [(e.name, e.milestone) for e in outcome.events]
        assert state.last_position_sec >= before.last_position_sec  # never backwards
        assert 0 <= state.last_position_sec <= config.duration_sec
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


# ---- the honest clock: schedules of honest and cheating clients ------------------------------
#
# Time is in milliseconds. Honest tabs play at 1x (or are paused) and report their position as
# measured `latency` ms before the server sees the report; each adopts the anchor of the
# response it gets. A duplicated request is the tab's last one since it (re-)joined, sent
# again later; the tab may adopt either response. A stale request is any earlier honest
# request delivered again. A cheater reports any position with any anchor ever issued
# (replays included). Tabs (re-)join.

DURATION = 600
CLOCK_CFG = SessionConfig(duration_sec=DURATION, cta_at_sec=300, slack_sec=2)
TABS = 3
MAX_LATENCY_MS = 400


@dataclass
class TabModel:
    position_ms: int | None = None  # None: not joined
    playing: bool = True
    anchor: Anchor | None = None
    last: tuple[float, Anchor] | None = None  # (report, anchor) of its last request
    measured_at: int = 0  # when the last request's position was read (ms)
    lag_ms: int = 0  # how far behind a late duplicate's answer, once taken, can leave it


ops = st.one_of(
    st.tuples(st.just("join"), st.integers(0, TABS - 1)),
    st.tuples(st.just("honest"), st.integers(0, TABS - 1), st.integers(0, MAX_LATENCY_MS)),
    st.tuples(st.just("leave"), st.integers(0, TABS - 1), st.integers(0, MAX_LATENCY_MS)),
    st.tuples(st.just("toggle"), st.integers(0, TABS - 1)),
    st.tuples(st.just("dup"), st.integers(0, TABS - 1), st.booleans()),
    st.tuples(st.just("stale"), st.integers(0, 10**6)),
    st.tuples(st.just("cheat"), st.floats(0, DURATION + 60, allow_nan=False),
              st.integers(0, 10**6)),
)
# gaps between requests: from 10 per second to one a minute
schedules = st.lists(st.tuples(st.integers(100, 60_000), ops), min_size=1, max_size=60)

@settings(max_examples=600, deadline=None)
@given(steps=schedules, start_delay=st.integers(0, 120))
def test_the_clock_cannot_be_outrun_and_honest_reports_are_credited(steps, start_delay) -> None:
    cfg = dataclasses.replace(CLOCK_CFG, start_delay_sec=start_delay)
    state = decide(State(), Create(SID), T0, cfg).state
    now = 0  # ms since T0
    tabs = [TabModel() for _ in range(TABS)]
    issued: list[Anchor] = []
    sent: list[tuple[float, Anchor]] = []  # every honest request (report, anchor)
    first_join: tuple[int, int] | None = None  # (position ms, at ms) of the first join
    lead = shortfall = -10**9

    def ask(action):
        nonlocal state
        try:
            outcome = decide(state, action, T0 + timedelta(milliseconds=now), cfg)
        except NoSession:
            return None
        state = outcome.state
        if outcome.anchor is not None:
            issued.append(outcome.anchor)
        return outcome

    for gap, op in steps:
        now += gap
        for tab in tabs:  # playing tabs advance with wall-clock time, to the end at most
            if tab.position_ms is not None and tab.playing:
                tab.position_ms = min(tab.position_ms + gap, DURATION * 1000)
        kind, *args = op
        if kind == "join":
            out = ask(Join("unused"))
            if out is not None and out.anchor is not None:
                tab = tabs[args[0]]
                tab.position_ms, tab.anchor, tab.playing = out.position_sec * 1000, out.anchor, True
                tab.lag_ms = 0
                # the player adopts no answer to a request it sent before this join
                # (static/player.js): a duplicate of one is a stale report from here on
                tab.last = None
                if first_join is None:
                    first_join = (out.position_sec * 1000, now)
        elif kind in ("honest", "leave"):
            tab, latency = tabs[args[0]], args[1]
            if tab.anchor is None:
                continue
            report = max(0, tab.position_ms - (latency if tab.playing else 0)) / 1000
            action = (Heartbeat if kind == "honest" else Leave)(report, tab.anchor)
            tab.last, tab.measured_at = (report, tab.anchor), now - latency
            sent.append(tab.last)
            before = tab.anchor
            out = ask(action)
            tab.anchor = out.anchor
            # Credited in full: the time a report spends on the way (up to one slack) is
            # given back. Only after taking the answer to a duplicate delivered more than a
            # slack late can a tab lag, by that much, and only then be snapped back.
            report_ms = round(report * 1000)
            assert state.last_position_sec >= (report_ms - tab.lag_ms) // 1000
            assert not out.clamped or tab.lag_ms > cfg.slack_sec * 1000
            credited = out.anchor.position_ms if out.anchor != before else report_ms
            assert credited >= report_ms - tab.lag_ms
            shortfall = max(shortfall, report_ms - credited - tab.lag_ms)
        elif kind == "toggle":
            tabs[args[0]].playing = not tabs[args[0]].playing
        elif kind == "dup":
            tab, adopt = tabs[args[0]], args[1]
            if tab.last is None:
                continue
            out = ask(Heartbeat(*tab.last))
            if adopt:
                tab.anchor = out.anchor
                tab.lag_ms = max(tab.lag_ms, now - tab.measured_at - cfg.slack_sec * 1000)
        elif kind == "stale" and sent:
            ask(Heartbeat(*sent[args[0] % len(sent)]))
        elif kind == "cheat" and issued:
            ask(Heartbeat(args[0], issued[args[1] % len(issued)]))
        if first_join is not None:
            # never ahead of the first join plus the wall-clock time since (DESIGN allows one
            # slack in total; none is ever stored)
            budget = first_join[0] + (now - first_join[1])
            lead = max(lead, state.last_position_sec * 1000 - budget)
            assert state.last_position_sec * 1000 <= budget
    # Hypothesis searches for the worst of both; --hypothesis-show-statistics prints them
    hypothesis.target(float(lead), label="lead over wall-clock time (ms)")
    hypothesis.target(float(shortfall), label="honest report minus credit, beyond a late "
                                             "duplicate's lag (ms)")


def test_event_types() -> None:
    (out,) = run([(0, Join(SID))])
    assert isinstance(out.events[0], SessionCreated) and isinstance(out.events[1], Joined)
    assert ProgressReached(SID, T0, 50).milestone == 50
    assert Completed(SID, T0).milestone is None and CtaClicked.name == "autowebinar_cta_click"
