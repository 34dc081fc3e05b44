"""Applying one session action to one user: lock, read, decide, write, events.

The layer between the HTTP views (viewer, core events) and the store: the session rules
stay pure (session.py), the store knows nothing of events, and the outbox's journal is
written before the COMMIT and drained after it (outbox.py explains why).
"""

from __future__ import annotations

from dataclasses import dataclass

from autowebinar_wp import failpoints
from autowebinar_wp.events import payloads
from autowebinar_wp.services import Services
from autowebinar_wp.session import Action, Outcome, decide
from autowebinar_wp.store import Loaded


@dataclass(frozen=True, slots=True)
class Applied:
    loaded: Loaded  # the state as read (and the referral keys)
    outcome: Outcome


def apply(svc: Services, user_id: int, action: Action) -> Applied:
    """One lock, one read, decide, one write; events journaled before COMMIT, sent after."""
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
