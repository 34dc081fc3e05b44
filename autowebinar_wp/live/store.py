"""The live module's usermeta namespace and its reads for replay and the admin report.

The store itself is autowebinar_wp.store's, bound to the LIVE namespace: the same write
guard (only the four `livewebinar_*` keys, and only for this namespace), the same per-user
named lock but under its own tag (`livewebinar:`), and the same forgiving codec discipline.
AutoWebinar's store is bound to `autowebinar_*`, so neither module can write, or even load,
the other's keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, or_, select

from autowebinar_wp.codec import DATETIME_FORMAT
from autowebinar_wp.events import ref_id
from autowebinar_wp.live.codec import decode_live, encode_live
from autowebinar_wp.live.events import live_payload
from autowebinar_wp.live.rules import derive
from autowebinar_wp.live.state import CLEARABLE_KEYS, META_KEYS, META_PREFIX, LiveState
from autowebinar_wp.store import Namespace, UserMetaStore, load_raw_many

BATCH = 500
LATEST = "9999-12-31 23:59:59"


def _decode(raw: Mapping[str, str | None], user_id: int | None) -> LiveState:
    return decode_live(raw, user_id)


LIVE: Namespace[LiveState] = Namespace(META_PREFIX, tuple(META_KEYS.values()), _decode,
                                       encode_live, "livewebinar", CLEARABLE_KEYS)


def live_store(engine: Engine, prefix: str, ref_keys: Sequence[str]) -> UserMetaStore[LiveState]:
    return UserMetaStore(engine, prefix, ref_keys, LIVE)


def users_registered_since(conn: Connection, table: Table, since: datetime,
                           batch: int = BATCH) -> Iterator[list[int]]:
    """User ids who registered or joined since `since`, in batches (keyset, `meta_key` index)."""
    stamp = since.strftime(DATETIME_FORMAT)
    last = 0
    while True:
        ids = conn.execute(
            select(table.c.user_id)
            .where(or_(table.c.meta_key == META_KEYS["registered_at"],
                       table.c.meta_key == META_KEYS["joined_at"]),
                   # a datetime string sorts between these; hand-written garbage ("soon")
                   # sorts above any of them
                   table.c.meta_value.between(stamp, LATEST), table.c.user_id > last)
            .group_by(table.c.user_id)
            .order_by(table.c.user_id)
            .limit(batch)
        ).scalars().all()
        if not ids:
            return
        yield [int(i) for i in ids]
        last = int(ids[-1])


def replay_payloads(conn: Connection, table: Table, since: datetime,
                    ref_keys: Sequence[str]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(users in batch, payloads) of the live events the state implies, batch by batch."""
    keys = list(META_KEYS.values()) + list(ref_keys)
    for ids in users_registered_since(conn, table, since):
        payloads: list[dict[str, Any]] = []
        for uid, raw in load_raw_many(conn, table, ids, keys).items():
            rid = ref_id({k: raw.get(k) or "" for k in ref_keys}, ref_keys)
            payloads += [live_payload(e, uid, rid) for e in derive(decode_live(raw, uid))]
        yield len(ids), payloads
