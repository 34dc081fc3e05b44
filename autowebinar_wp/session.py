"""The session rules (DESIGN §4) as a pure function: (state, action, now, config) -> outcome.

No I/O, no clock reads, no randomness: `now` and new session ids come in from the caller,
so every rule is tested without a database and without sleeping.

Derived facts (never stored separately, so replay can re-derive them from usermeta):
* joined    <=> last_seen_at >= started_at   (seen at or after the start; the waiting room
                                               is always before the start)
* progress  =  the highest milestone whose point the position has reached
* cta visible <=> position >= CTA_AT_SEC or completed

The honest clock (DESIGN §4 "Viewing"): each viewing carries an `Anchor` (p0, t0), the
position credited last and the moment it was credited, in milliseconds. A report p at t is
credited up to p0 + (t - t0) - wall-clock time, never more - and the next anchor is the
credited point, never the report (`_next_anchor`). Reports up to `slack_sec` beyond the
limit are tolerated (not flagged as clamped, so the player does not snap back over network
jitter), but the excess is credited neither into the stored position nor into the anchor,
so slack can never be banked, whatever the request rate. A stale, reordered or duplicated
report moves nothing backwards and costs the next honest report nothing.
Anchors travel with the client, signed (anchors.py), because the store's one-second
datetimes cannot carry them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from autowebinar_wp.errors import (
    AnchorMismatch,
    AnchorRequired,
    BadRequest,
    CtaNotVisible,
    NoSession,
)
from autowebinar_wp.state import MILESTONES, State

# Seconds before the end that count as the end: a file's real length differs from the
# configured duration by a fraction of a second, and positions are stored in whole seconds.
END_TOLERANCE_SEC = 1


@dataclass(frozen=True, slots=True)
class SessionConfig:
    duration_sec: int
    start_delay_sec: int = 0
    cta_at_sec: int | None = None  # None: the end of the video
    slack_sec: int = 2  # tolerated beyond wall-clock time without a snap-back, never credited

    def __post_init__(self) -> None:
        if self.duration_sec < 1 or self.slack_sec < 0:
            raise ValueError("duration_sec must be positive and slack_sec not negative")

    @property
    def cta_at(self) -> int:
        return self.duration_sec if self.cta_at_sec is None else self.cta_at_sec


# ---- the anchor of a viewing ------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, exactly (no float rounding)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Anchor:
    """The last credited point of one viewing: `position_ms` credited at `at_ms`."""

    session_id: str
    position_ms: int
    at_ms: int


# ---- events (what happened; events.py turns them into webhook payloads) -------------------


@dataclass(frozen=True, slots=True)
class Event:
    name = ""
    session_id: str
    at: datetime

    @property
    def milestone(self) -> int | None:
        return None


@dataclass(frozen=True, slots=True)
class SessionCreated(Event):
    name = "autowebinar_session_created"


@dataclass(frozen=True, slots=True)
class Joined(Event):
    name = "autowebinar_join"


@dataclass(frozen=True, slots=True)
class ProgressReached(Event):
    name = "autowebinar_progress"
    progress: int = 0

    @property
    def milestone(self) -> int | None:
        return self.progress


@dataclass(frozen=True, slots=True)
class Completed(Event):
    name = "autowebinar_completed"


@dataclass(frozen=True, slots=True)
class CtaClicked(Event):
    name = "autowebinar_cta_click"


# ---- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Create:
    """Core told us the user exists (registered / logged in): make the session if none."""

    new_session_id: str


@dataclass(frozen=True, slots=True)
class Join:
    new_session_id: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    position_sec: float
    anchor: Anchor | None = None  # the viewing's anchor, as the client echoed it (verified)


@dataclass(frozen=True, slots=True)
class Leave:
    position_sec: float
    anchor: Anchor | None = None


@dataclass(frozen=True, slots=True)
class Cta:
    pass


Action = Create | Join | Heartbeat | Leave | Cta


@dataclass(frozen=True, slots=True)
class Outcome:
    state: State
    events: tuple[Event, ...] = ()
    position_sec: int = 0
    starts_in_sec: int = 0
    clamped: bool = False  # the report was beyond wall-clock time plus the slack: cheating
    resumed: bool = False  # a re-entry continuing from a saved position
    anchor: Anchor | None = None  # the viewing's next anchor (None: not playing)

    def cta_visible(self, config: SessionConfig) -> bool:
        return is_cta_visible(self.state, config)


# ---- derived facts ------------------------------------------------------------------------


def has_joined(state: State) -> bool:
    if state.last_seen_at is None:
        return False
    return state.started_at is None or state.last_seen_at >= state.started_at


def progress_for(position_sec: int, config: SessionConfig) -> int:
    """The highest milestone reached by position; 100 at the end (within the tolerance)."""
    if position_sec >= config.duration_sec - END_TOLERANCE_SEC:
        return 100
    reached = 0
    for milestone in MILESTONES:
        if position_sec * 100 >= milestone * config.duration_sec:
            reached = milestone
    return reached


def is_cta_visible(state: State, config: SessionConfig) -> bool:
    return state.has_session and cta_visible_at(state.last_position_sec, state.completed, config)


def cta_visible_at(position_sec: int, completed: bool, config: SessionConfig) -> bool:
    """The CTA rule (DESIGN §4) for a viewing at this position."""
    return completed or position_sec >= config.cta_at


def crossed(old_progress: int, new_progress: int) -> list[int]:
    return [m for m in MILESTONES if old_progress < m <= new_progress]


# ---- the transition function ---------------------------------------------------------------


def decide(state: State, action: Action, now: datetime, config: SessionConfig) -> Outcome:
    """Apply one action at `now`; the only entry point for session rules."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    exact, now = now, now.replace(microsecond=0)  # stored datetimes have whole seconds
    precise = to_ms(exact)  # the anchors' clock
    match action:
        case Create(new_session_id=sid):
            state, events = _ensure_session(state, now, config, sid)
            return Outcome(state, tuple(events), state.last_position_sec)
        case Join(new_session_id=sid):
            return _join(state, now, precise, config, sid)
        case Heartbeat(position_sec=pos, anchor=anchor) | Leave(position_sec=pos, anchor=anchor):
            return _advance(state, exact, config, pos, anchor, leaving=isinstance(action, Leave))
        case Cta():
            return _cta(state, now, config)
    raise TypeError(f"unknown action {action!r}")


def _ensure_session(
    state: State, now: datetime, config: SessionConfig, new_id: str
) -> tuple[State, list[Event]]:
    if state.has_session:
        return state, []
    started = now + timedelta(seconds=config.start_delay_sec)
    # A fresh session keeps no stale values a hand edit may have left (there are none to keep).
    created = State(session_id=new_id, started_at=started)
    return created, [SessionCreated(new_id, now)]


def _join(state: State, now: datetime, precise: int, config: SessionConfig,
          new_id: str) -> Outcome:
    state, events = _ensure_session(state, now, config, new_id)
    assert state.session_id is not None
    started = state.started_at
    if started is not None and now < started:
        # The waiting room: an honest countdown. Seen, but not joined.
        waiting = dataclasses.replace(state, last_seen_at=now)
        starts_in = int((started - now).total_seconds())
        return Outcome(waiting, tuple(events), waiting.last_position_sec, starts_in)
    sid = state.session_id
    if has_joined(state):
        # Re-entry: resume where the viewer was; progress and completion are never reset.
        # The new viewing is anchored at the stored position, which never holds excess.
        entered = dataclasses.replace(state, last_seen_at=now)
        position = entered.last_position_sec
        return Outcome(entered, tuple(events), position, resumed=position > 0,
                       anchor=Anchor(sid, position * 1000, precise))
    offset = 0 if started is None else int((now - started).total_seconds())
    if offset >= config.duration_sec:
        offset = 0  # the broadcast window has passed: the recording plays from its start
    position = max(state.last_position_sec, offset)
    entered = dataclasses.replace(state, last_position_sec=position, last_seen_at=now)
    events.append(Joined(sid, now))
    entered, more = _milestones(state, entered, now, config)
    return Outcome(entered, tuple(events + more), position,
                   anchor=Anchor(sid, position * 1000, precise))


@dataclass(frozen=True, slots=True)
class Credit:
    """What a report earns against its anchor alone (no stored state needed)."""

    credited_ms: int  # the reported position, at most the anchor's position + elapsed time
    clamped: bool  # beyond that limit by more than the slack: the player snaps back
    anchor: Anchor  # the viewing's next anchor

    @property
    def position_sec(self) -> int:
        return self.credited_ms // 1000


def credit(anchor: Anchor, reported: float, now: datetime, config: SessionConfig) -> Credit:
    """The honest clock for one report (see the module docstring); pure."""
    if not math.isfinite(reported) or reported < 0:
        raise BadRequest("position_sec must be a finite, non-negative number")
    precise = to_ms(now)
    # Wall-clock time since the anchor (none if another host's clock ran ahead), never more.
    limit = min(anchor.position_ms + max(0, precise - anchor.at_ms), config.duration_sec * 1000)
    wanted = round(reported * 1000)
    credited = min(wanted, limit)
    return Credit(credited, wanted > limit + config.slack_sec * 1000,
                  _next_anchor(anchor, credited, limit, precise, config))


def crosses_milestone(anchor: Anchor, earned: Credit, config: SessionConfig) -> bool:
    """Whether a report may record a milestone: the anchor's position already had its
    progress recorded (an anchor is issued only after that), so if the credited position
    reaches no further milestone, the stored progress needs no change from this report."""
    return progress_for(earned.position_sec, config) > progress_for(anchor.position_ms // 1000,
                                                                     config)


def _advance(state: State, now: datetime, config: SessionConfig, reported: float,
             anchor: Anchor | None, *, leaving: bool) -> Outcome:
    """A heartbeat or a leave; `now` to the microsecond (the anchor's clock)."""
    if not math.isfinite(reported) or reported < 0:
        raise BadRequest("position_sec must be a finite, non-negative number")
    if not state.has_session or not has_joined(state):
        if leaving:
            return Outcome(state, (), state.last_position_sec)  # nothing to save
        raise NoSession()
    if anchor is None:
        raise AnchorRequired()
    if anchor.session_id != state.session_id:
        raise AnchorMismatch()
    earned = credit(anchor, reported, now, config)
    position = max(state.last_position_sec, earned.position_sec)
    moved = dataclasses.replace(state, last_position_sec=position,
                                last_seen_at=now.replace(microsecond=0))
    moved, events = _milestones(state, moved, now.replace(microsecond=0), config)
    return Outcome(moved, tuple(events), position, clamped=earned.clamped, anchor=earned.anchor)


def _next_anchor(anchor: Anchor, credited: int, limit: int, precise: int,
                 config: SessionConfig) -> Anchor:
    """Where the viewing stands after a report: the credited point, never the report.

    A report below the anchor (stale, reordered) leaves it as it was. Otherwise the anchor
    moves to the credited position, dated back by the allowance this report left unused, up
    to one slack: a report that spent a moment on the way (or a duplicate delivered late)
    costs an honest viewer nothing later, while a pause cannot be banked beyond that slack.
    Either way the new anchor allows no more than the old one did, so no sequence of reports
    gets ahead of the first anchor plus wall-clock time.
    """
    if credited < anchor.position_ms:
        return anchor
    unused = min(limit - credited, config.slack_sec * 1000)
    return Anchor(anchor.session_id, credited, precise - unused)


def _milestones(
    old: State, new: State, now: datetime, config: SessionConfig
) -> tuple[State, list[Event]]:
    progress = max(old.progress_percent, progress_for(new.last_position_sec, config))
    sid = new.session_id or ""
    events: list[Event] = [
        ProgressReached(sid, now, m) for m in crossed(old.progress_percent, progress)
    ]
    completed = old.completed or progress == 100
    if completed and not old.completed:
        events.append(Completed(sid, now))
    return dataclasses.replace(new, progress_percent=progress, completed=completed), events


def _cta(state: State, now: datetime, config: SessionConfig) -> Outcome:
    if not state.has_session or not has_joined(state):
        raise NoSession()
    if not is_cta_visible(state, config):
        raise CtaNotVisible()
    events: list[Event] = []
    clicked = state.cta_clicked_at
    if clicked is None:
        clicked = now
        events.append(CtaClicked(state.session_id or "", now))
    new = dataclasses.replace(state, cta_clicked_at=clicked, last_seen_at=now)
    return Outcome(new, tuple(events), new.last_position_sec)
