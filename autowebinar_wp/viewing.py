"""Applying one session action to one user: read, decide, write, events.

The layer between the HTTP views (viewer, core events) and the store: the session rules
stay pure (session.py), the store knows nothing of events, and the outbox's journal is
written before the write that commits and drained after it (outbox.py explains why).

Heartbeats and leaves of a user whose rows exist take the store's optimistic path on
MySQL/MariaDB: a SELECT and an UPDATE, each in autocommit, no lock; a milestone adds a
compare-and-set, and a request that loses one starts over from a fresh read (each loss means
another request moved the progress on, so this ends within the four milestones). Everything
else - a first join, a CTA click, anything that inserts rows or repairs duplicates - takes
the locked path: the per-user lock, one transaction (store.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from autowebinar_wp import failpoints
from autowebinar_wp.events import payloads
from autowebinar_wp.services import Services
from autowebinar_wp.session import Action, Heartbeat, Leave, Outcome, decide
from autowebinar_wp.state import State
from autowebinar_wp.store import Loaded, plan

# Starting over after a lost compare-and-set; the fifth attempt takes the lock.
OPTIMISTIC_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class Applied:
    loaded: Loaded[State]  # the state as read (and the referral keys)
    outcome: Outcome


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
