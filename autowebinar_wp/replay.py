"""Re-deriving once-per-session events from usermeta state (crash recovery and replay).

Every event we emit is a fact the seven keys still show, so the same deterministic ids can
be produced again at any time: receivers deduplicate on `event_id`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select

from autowebinar_wp.codec import DATETIME_FORMAT, decode_state
from autowebinar_wp.events import payload, ref_id
from autowebinar_wp.session import (
    Completed,
    CtaClicked,
    Event,
    Joined,
    ProgressReached,
    SessionConfig,
    SessionCreated,
    crossed,
    has_joined,
)
from autowebinar_wp.state import META_KEYS, State
from autowebinar_wp.store import load_raw_many

BATCH = 500


def derive(state: State, config: SessionConfig) -> list[Event]:
    """The once-per-session events the state implies, in the order they happened.

    Timestamps are the best the state knows: the session's start for creation and join,
    the click time for the CTA, the last activity for progress and completion.
    """
    if state.session_id is None:
        return []
    sid = state.session_id
    start = state.started_at or state.last_seen_at
    seen = state.last_seen_at or start
    events: list[Event] = []
    if start is not None:
        events.append(SessionCreated(sid, start))
    if has_joined(state) and start is not None:
        events.append(Joined(sid, start))
    if seen is not None:
        events += [ProgressReached(sid, seen, m) for m in crossed(0, state.progress_percent)]
        if state.completed:
            events.append(Completed(sid, seen))
    if state.cta_clicked_at is not None:
        events.append(CtaClicked(sid, state.cta_clicked_at))
    return events


def users_seen_since(conn: Connection, table: Table, since: datetime,
                     batch: int = BATCH) -> Iterator[list[int]]:
    """User ids active (or started) since `since`, in batches, by keyset pagination."""
    stamp = since.strftime(DATETIME_FORMAT)
    keys = (META_KEYS["last_seen_at"], META_KEYS["started_at"])
    last = 0
    while True:
        ids = conn.execute(
            select(table.c.user_id)
            .where(table.c.meta_key.in_(keys), table.c.meta_value >= stamp,
                   table.c.user_id > last)
            .group_by(table.c.user_id)
            .order_by(table.c.user_id)
            .limit(batch)
        ).scalars().all()
        if not ids:
            return
        yield [int(i) for i in ids]
        last = int(ids[-1])


def load_many(conn: Connection, table: Table, user_ids: Sequence[int],
              ref_keys: Sequence[str]) -> dict[int, tuple[State, dict[str, str]]]:
    """States and referral keys of many users in one SELECT (oldest copy of each key)."""
    raw = load_raw_many(conn, table, user_ids, list(META_KEYS.values()) + list(ref_keys))
    result = {}
    for uid, values in raw.items():
        ref = {k: values.get(k) or "" for k in ref_keys}
        result[uid] = (decode_state(values, uid), ref)
    return result


def replay_payloads(conn: Connection, table: Table, since: datetime, config: SessionConfig,
                    ref_keys: Sequence[str]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(users in batch, payloads) for every user seen since `since`, batch by batch."""
    for ids in users_seen_since(conn, table, since):
        payloads: list[dict[str, Any]] = []
        for uid, (state, ref) in load_many(conn, table, ids, ref_keys).items():
            rid = ref_id(ref, ref_keys)
            payloads += [payload(e, uid, rid) for e in derive(state, config)]
        yield len(ids), payloads
