"""Applying one session action to one user: read, decide, write, events.

The layer between the HTTP views (viewer, core events) and the store: the session rules
stay pure (session.py), the store knows nothing of events, and the outbox's journal is
written before the write that commits and drained after it (outbox.py explains why).

Heartbeats and leaves (`advance`) on MySQL/MariaDB, fastest first:
* **Anchored**: what a report earns follows from its signed anchor alone (session.credit).
  If it reaches no new milestone, one UPDATE moves position and last-seen forward, joined to
  the user's session row so it applies only to the anchor's session, and to the stored
  position so it applies only when no other tab is further on: one round trip, no read, no
  lock. Most heartbeats end here.
* **Optimistic**: a SELECT and an UPDATE, each in autocommit, no lock; a milestone adds a
  compare-and-set, and a request that loses one starts over from a fresh read (each loss
  means another request moved the progress on, so this ends within the four milestones).
* **Locked**: everything else - a first join, a CTA click, anything that inserts rows or
  repairs duplicates - takes the per-user lock and one transaction (store.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from autowebinar_wp import failpoints
from autowebinar_wp.codec import encode_datetime
from autowebinar_wp.events import payloads
from autowebinar_wp.services import Services
from autowebinar_wp.session import (
    Action,
    Anchor,
    Heartbeat,
    Leave,
    Outcome,
    credit,
    crosses_milestone,
    cta_visible_at,
    decide,
    progress_for,
)
from autowebinar_wp.state import State
from autowebinar_wp.store import Loaded, advance_anchored, plan

# Starting over after a lost compare-and-set; the fifth attempt takes the lock.
OPTIMISTIC_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class Applied:
    loaded: Loaded[State]  # the state as read (and the referral keys)
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Advanced:
    """Where a heartbeat or leave left the viewing, as the player needs it."""

    position_sec: int
    progress_percent: int
    completed: bool
    cta_visible: bool
    clamped: bool
    anchor: Anchor | None


def advance(svc: Services, user_id: int, action: Heartbeat | Leave) -> Advanced:
    """A heartbeat or a leave: anchored if it can be, else read first (see the docstring)."""
    if svc.store.optimistic and action.anchor is not None:
        done = _anchored(svc, user_id, action, action.anchor)
        if done is not None:
            return done
    outcome = apply(svc, user_id, action).outcome
    return Advanced(outcome.position_sec, outcome.state.progress_percent,
                    outcome.state.completed, outcome.cta_visible(svc.session), outcome.clamped,
                    outcome.anchor)


def _anchored(svc: Services, user_id: int, action: Heartbeat | Leave,
              anchor: Anchor) -> Advanced | None:
    """One UPDATE, no read; None if the report may cross a milestone or nothing matched (no
    session, another session, no rows yet, another tab further on): the read-first path then
    decides and answers."""
    config = svc.session
    earned = credit(anchor, action.position_sec, svc.now(), config)
    if crosses_milestone(anchor, earned, config):
        return None
    with svc.store.engine.connect() as conn:
        if not advance_anchored(conn, svc.store.table, user_id, anchor.session_id,
                                str(earned.position_sec), encode_datetime(svc.now())):
            return None
    # The anchor's milestones were recorded before it was issued: this report's position
    # reaches the same ones. The stored position was not further on (the UPDATE's join), so
    # this report's position, progress and CTA are the stored viewing's.
    progress = progress_for(earned.position_sec, config)
    completed = progress == 100
    return Advanced(earned.position_sec, progress, completed,
                    cta_visible_at(earned.position_sec, completed, config), earned.clamped,
                    earned.anchor)


class _Lost(Exception):
    """Another request changed a guarded value between our read and our write."""


def apply(svc: Services, user_id: int, action: Action) -> Applied:
    """Apply `action` to the user's state; events journaled before the commit, sent after."""
    if svc.store.optimistic and isinstance(action, Heartbeat | Leave):
        for _ in range(OPTIMISTIC_ATTEMPTS):
            try:
                applied = _optimistic(svc, user_id, action)
            except _Lost:
                continue
            if applied is not None:
                return applied
            break  # not a change the optimistic path can make
    return _locked(svc, user_id, action)


def _optimistic(svc: Services, user_id: int, action: Action) -> Applied | None:
    """Read and write in autocommit, no lock; None if the change needs the locked path."""
    store, outbox = svc.store, svc.outbox
    with store.engine.connect() as conn:
        loaded = store.load(conn, user_id)
        outcome = decide(loaded.state, action, svc.now(), svc.session)
        change = plan(loaded, outcome.state)
        if change is None or (outcome.events and not change.guarded):
            return None
        intent = outbox.prepare(
            user_id, payloads(outcome.events, user_id, loaded.ref, store.ref_keys))
        if not store.apply_plan(conn, loaded, change):
            outbox.discard(intent)
            raise _Lost()
    failpoints.hit("after_commit")
    outbox.commit(intent)
    return Applied(loaded, outcome)


def _locked(svc: Services, user_id: int, action: Action) -> Applied:
    """One lock, one read, decide, one write, one COMMIT."""
    store, outbox = svc.store, svc.outbox
    with store.transaction(user_id) as conn:
        loaded = store.load(conn, user_id)
        outcome = decide(loaded.state, action, svc.now(), svc.session)
        store.save(conn, loaded, outcome.state)
        intent = outbox.prepare(
            user_id, payloads(outcome.events, user_id, loaded.ref, store.ref_keys))
    failpoints.hit("after_commit")
    outbox.commit(intent)
    return Applied(loaded, outcome)
