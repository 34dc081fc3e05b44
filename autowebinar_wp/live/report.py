"""The live module's admin report: per-slot registrations and entries, and the CSV export.

Read-only SQL over usermeta, outside any lock:

* per slot, `registered` = users whose current registration is that slot, `joined` = those
  of them who entered its room: one GROUP BY over the `livewebinar_slot_id` rows (a range on
  WordPress's `meta_key` index) with the `joined_at` row of the same user joined by its
  `user_id` index. These are current facts from state: a user who switched from A to B
  counts for B only (how many chose A at some point is a signal count, see ledger.py).
* the export walks the registered users in `user_id` order in keyset batches and decodes
  each user's four keys with the live codec, so it shows what the service itself reads.

A user whose duplicated `livewebinar_slot_id` rows disagree (WordPress can leave two rows,
see WORDPRESS_FACTS.md) counts under both slots until the service's next write for that
user makes the copies equal; the export shows the oldest copy, as WordPress does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Table, and_, distinct, func, select

from autowebinar_wp.codec import DATETIME_FORMAT
from autowebinar_wp.live.codec import decode_live
from autowebinar_wp.live.state import META_KEYS, LiveState
from autowebinar_wp.store import load_raw_many

EXPORT_BATCH = 500
CSV_HEADER = ["user_id", "slot_id", "slot_starts_at_utc", "registered_at_utc",
              "joined_at_utc"]


def registrations_by_slot(conn: Connection, table: Table) -> dict[str, tuple[int, int]]:
    """{slot id: (registered users, of whom joined)}."""
    s, j = table.alias("s"), table.alias("j")
    joined = and_(j.c.user_id == s.c.user_id, j.c.meta_key == META_KEYS["joined_at"],
                  j.c.meta_value != "")
    rows = conn.execute(
        select(s.c.meta_value, func.count(distinct(s.c.user_id)),
               func.count(distinct(j.c.user_id)))
        .select_from(s.outerjoin(j, joined))
        .where(s.c.meta_key == META_KEYS["slot_id"], s.c.meta_value != "")
        .group_by(s.c.meta_value)
    )
    return {str(slot): (int(registered), int(entered)) for slot, registered, entered in rows}


@dataclass(frozen=True, slots=True)
class Registration:
    user_id: int
    state: LiveState

    def to_csv(self) -> list[str | int]:
        def wp(moment: datetime | None) -> str:
            return moment.strftime(DATETIME_FORMAT) if moment else ""

        s = self.state
        return [self.user_id, s.slot_id or "", wp(s.slot_starts_at), wp(s.registered_at),
                wp(s.joined_at)]


def export_batch(conn: Connection, table: Table, after_user_id: int, size: int = EXPORT_BATCH,
                 slot_id: str | None = None) -> list[Registration]:
    """The next `size` registered users after `after_user_id` (optionally of one slot)."""
    where = [table.c.meta_key == META_KEYS["slot_id"], table.c.meta_value != "",
             table.c.user_id > after_user_id]
    if slot_id is not None:
        where.append(table.c.meta_value == slot_id)
    ids = [int(i) for i in conn.execute(
        select(table.c.user_id).where(*where).group_by(table.c.user_id)
        .order_by(table.c.user_id).limit(size)).scalars()]
    raw = load_raw_many(conn, table, ids, list(META_KEYS.values()))
    return [Registration(uid, decode_live(raw[uid], uid)) for uid in ids]
