"""The live module at run time: its store, schedule and ledger, and the actions on one user.

Like viewing.py for AutoWebinar: the rules stay pure (rules.py), the store knows nothing of
events, and events are journaled in the outbox before the COMMIT (kind `live`, reconciled
from the user's committed `livewebinar_*` state) and enqueued after it.

Reads come first, without the lock: registering again for the same slot, and entering the
room again, change nothing and cost one SELECT. Only a real change takes the user's lock
(under the `livewebinar:` tag, never AutoWebinar's), reads again and decides again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Config
from sqlalchemy import Engine

from autowebinar_wp import failpoints
from autowebinar_wp.errors import LiveDisabled
from autowebinar_wp.events import ref_id
from autowebinar_wp.live import rules
from autowebinar_wp.live.events import LinkClicked, LiveEvent, NotificationOpened, live_payload
from autowebinar_wp.live.ledger import SignalLedger, open_storage
from autowebinar_wp.live.links import Link
from autowebinar_wp.live.schedule import Schedule
from autowebinar_wp.live.settings import schedule_of
from autowebinar_wp.live.state import LiveState
from autowebinar_wp.live.store import live_store
from autowebinar_wp.outbox import Outbox
from autowebinar_wp.store import UserMetaStore

if TYPE_CHECKING:
    from autowebinar_wp.services import Services

Decision = rules.Outcome | rules.JoinOutcome
KIND = "live"  # the outbox's name for this module's state events (its reconciler's key)


@dataclass(eq=False)
class Live:
    enabled: bool
    schedule: Schedule
    store: UserMetaStore[LiveState]
    ledger: SignalLedger
    link_secret: str | None
    slots_shown: int

    def require_enabled(self) -> None:
        if not self.enabled:
            raise LiveDisabled()

    def payloads(self, events: list[LiveEvent], user_id: int,
                 ref: dict[str, str]) -> list[dict[str, Any]]:
        rid = ref_id(ref, self.store.ref_keys)
        return [live_payload(e, user_id, rid) for e in events]


def build(config: Config, engine: Engine, outbox: Outbox, instance_path: str) -> Live:
    """The module's parts, and its reconciler registered on the outbox (even when disabled:
    an intent journaled before a restart must still be recoverable)."""
    store = live_store(engine, config["TABLE_PREFIX"], config["REF_META_KEYS"])

    def implied(user_id: int) -> set[str]:
        return {e.event_id(user_id) for e in rules.derive(store.read(user_id).state)}

    outbox.reconcilers[KIND] = implied
    return Live(
        enabled=bool(config["LIVE_ENABLED"]),
        schedule=schedule_of(config),
        store=store,
        ledger=SignalLedger(open_storage(config.get("QUEUE_URL"), instance_path)),
        link_secret=config.get("LIVE_LINK_SECRET"),
        slots_shown=int(config["LIVE_SLOTS_SHOWN"]),
    )


def _apply(svc: Services, user_id: int, decide: Callable[[LiveState], Decision]) -> Decision:
    """Decide on an unlocked read; only if that changes something, lock, re-read, decide
    again, write, and journal the events before the COMMIT (enqueued after it)."""
    live = svc.live
    before = live.store.read(user_id).state
    decision = decide(before)
    if decision.state == before:
        return decision
    with live.store.transaction(user_id) as conn:
        loaded = live.store.load(conn, user_id)
        decision = decide(loaded.state)
        live.store.save(conn, loaded, decision.state)
        bodies = live.payloads(decision.events, user_id, loaded.ref)
        intent = svc.outbox.prepare(user_id, bodies, KIND)
    failpoints.hit("after_commit")
    svc.outbox.commit(intent)
    for body in bodies:
        live.ledger.first(body)  # counted once, whoever else records the same id
    return decision


def register(svc: Services, user_id: int, slot_id: str) -> rules.Outcome:
    """Choose a slot: 404/409 for an unknown/ended one; the same slot again changes nothing."""
    slot = svc.live.schedule.find(slot_id)
    now = svc.now()
    outcome = _apply(svc, user_id, lambda state: rules.register(state, slot, now))
    assert isinstance(outcome, rules.Outcome)
    return outcome


def join(svc: Services, user_id: int) -> rules.JoinOutcome:
    """Enter the room of the registered slot; the first entry while it is open is stored."""
    schedule, now = svc.live.schedule, svc.now()

    def decide(state: LiveState) -> rules.JoinOutcome:
        slot = schedule.find(state.slot_id) if state.slot_id else None
        return rules.join(state, slot, now)

    outcome = _apply(svc, user_id, decide)
    assert isinstance(outcome, rules.JoinOutcome)
    return outcome


def signal(svc: Services, link: Link, *, clicked: bool) -> bool:
    """A notification was opened or a link followed: send the event the first time only.

    Returns whether it was new. Reads the user's referral keys (one SELECT, no lock) for the
    payload's ref_id; nothing is written to usermeta.
    """
    live = svc.live
    now = svc.now().replace(microsecond=0)
    event: LiveEvent
    if clicked:
        event = LinkClicked(link.slot_id, now, link.notification, link.url or "")
    else:
        event = NotificationOpened(link.slot_id, now, link.notification)
    (body,) = live.payloads([event], link.user_id, live.store.read(link.user_id).ref)
    if not live.ledger.first(body):
        return False
    svc.outbox.enqueue([body])
    return True
