"""The session rules (DESIGN §4) as a pure function: (state, action, now, config) -> outcome.

No I/O, no clock reads, no randomness: `now` and new session ids come in from the caller,
so every rule is tested without a database and without sleeping.

Derived facts (never stored separately, so replay can re-derive them from usermeta):
* joined    <=> last_seen_at >= started_at   (seen at or after the start; the waiting room
                                               is always before the start)
* progress  =  the highest milestone whose point the position has reached
* cta visible <=> position >= CTA_AT_SEC or completed
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from autowebinar_wp.errors import BadRequest, CtaNotVisible, NoSession
from autowebinar_wp.state import MILESTONES, State

# Seconds before the end that count as the end: a file's real length differs from the
# configured duration by a fraction of a second, and positions are stored in whole seconds.
END_TOLERANCE_SEC = 1


@dataclass(frozen=True, slots=True)
class SessionConfig:
    duration_sec: int
    start_delay_sec: int = 0
    cta_at_sec: int | None = None  # None: the end of the video
    slack_sec: int = 2
    heartbeat_sec: int = 10

    def __post_init__(self) -> None:
        if self.duration_sec < 1 or self.heartbeat_sec < 1:
            raise ValueError("duration_sec and heartbeat_sec must be positive")

    def allowance(self, elapsed_sec: int) -> int:
        """How far a position may advance in `elapsed_sec` of wall-clock time.

        The slack absorbs network jitter and whole-second rounding, but it grows with the
        elapsed time (full slack only after a whole heartbeat interval), so a script that
        sends heartbeats rapidly cannot bank slack: it is never more than
        slack/heartbeat (20 % with the defaults) ahead of real time.
        """
        elapsed = max(0, elapsed_sec)
        return elapsed + min(self.slack_sec, elapsed * self.slack_sec // self.heartbeat_sec)

    @property
    def cta_at(self) -> int:
        return self.duration_sec if self.cta_at_sec is None else self.cta_at_sec


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


@dataclass(frozen=True, slots=True)
class Leave:
    position_sec: float


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
    clamped: bool = False  # the reported position was beyond what wall-clock time allows
    resumed: bool = False  # a re-entry continuing from a saved position

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
    return state.has_session and (
        state.completed or state.last_position_sec >= config.cta_at
    )


def crossed(old_progress: int, new_progress: int) -> list[int]:
    return [m for m in MILESTONES if old_progress < m <= new_progress]


# ---- the transition function ---------------------------------------------------------------


def decide(state: State, action: Action, now: datetime, config: SessionConfig) -> Outcome:
    """Apply one action at `now`; the only entry point for session rules."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    now = now.replace(microsecond=0)
    match action:
        case Create(new_session_id=sid):
            state, events = _ensure_session(state, now, config, sid)
            return Outcome(state, tuple(events), state.last_position_sec)
        case Join(new_session_id=sid):
            return _join(state, now, config, sid)
        case Heartbeat(position_sec=pos) | Leave(position_sec=pos):
            return _advance(state, now, config, pos, leaving=isinstance(action, Leave))
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


def _join(state: State, now: datetime, config: SessionConfig, new_id: str) -> Outcome:
    state, events = _ensure_session(state, now, config, new_id)
    assert state.session_id is not None
    started = state.started_at
    if started is not None and now < started:
        # The waiting room: an honest countdown. Seen, but not joined.
        waiting = dataclasses.replace(state, last_seen_at=now)
        starts_in = int((started - now).total_seconds())
        return Outcome(waiting, tuple(events), waiting.last_position_sec, starts_in)
    if has_joined(state):
        # Re-entry: resume where the viewer was; progress and completion are never reset.
        entered = dataclasses.replace(state, last_seen_at=now)
        return Outcome(entered, tuple(events), entered.last_position_sec,
                       resumed=entered.last_position_sec > 0)
    offset = 0 if started is None else int((now - started).total_seconds())
    if offset >= config.duration_sec:
        offset = 0  # the broadcast window has passed: the recording plays from its start
    position = max(state.last_position_sec, offset)
    entered = dataclasses.replace(state, last_position_sec=position, last_seen_at=now)
    events.append(Joined(entered.session_id or "", now))
    entered, more = _milestones(state, entered, now, config)
    return Outcome(entered, tuple(events + more), position)


def _advance(
    state: State, now: datetime, config: SessionConfig, reported: float, *, leaving: bool
) -> Outcome:
    if not math.isfinite(reported) or reported < 0:
        raise BadRequest("position_sec must be a finite, non-negative number")
    if not state.has_session or not has_joined(state):
        if leaving:
            return Outcome(state, (), state.last_position_sec)  # nothing to save
        raise NoSession()
    assert state.last_seen_at is not None
    stored = state.last_position_sec
    elapsed = int((now - state.last_seen_at).total_seconds())
    allowed = min(stored + config.allowance(elapsed), config.duration_sec)
    wanted = int(reported)
    clamped = wanted > allowed
    position = max(stored, min(wanted, allowed))
    if position >= config.duration_sec - END_TOLERANCE_SEC and allowed >= position:
        position = max(position, min(config.duration_sec, allowed))
    moved = dataclasses.replace(state, last_position_sec=position, last_seen_at=now)
    moved, events = _milestones(state, moved, now, config)
    return Outcome(moved, tuple(events), position, clamped=clamped)


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
