"""A usermeta population for the admin reports, and the reference: a plain-Python recount.

Every funnel stage is present, with WordPress duplicates (equal and unequal copies) and
hand-edited garbage in every key. The expected numbers are recounted from the same rows
in plain Python: each copy decoded by `codec`, copies combined by the documented rule
(any session id; the earliest start; the highest of everything else), members counted
once. Nothing here imports reports.py.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from autowebinar_wp.codec import DATETIME_FORMAT, decode_state
from autowebinar_wp.session import has_joined
from autowebinar_wp.state import META_KEYS, MILESTONES, State
from tests.support import Backend
from tests.wordpress_fixtures import WP_USERMETA_DDL, wordpress_meta

K = META_KEYS
PREFIX = "awt_"
TABLE = f"{PREFIX}usermeta"
T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
DURATION = 100  # the harness's VIDEO_DURATION_SEC
CTA_AT = 60
SORTS = ("last_seen", "started", "progress", "position", "user_id")

Row = tuple[int, str, str | None]


def _dt(moment: datetime) -> str:
    return moment.strftime(DATETIME_FORMAT)


def _session(uid: int, rng: random.Random, kind: str) -> dict[str, str]:
    """One user's autowebinar_* values for a funnel stage, as the service writes them."""
    started = T0 + timedelta(minutes=rng.randrange(0, 60 * 24 * 20))
    values = {K["session_id"]: f"{uid:08d}-0000-4000-8000-{rng.getrandbits(48):012x}",
              K["started_at"]: _dt(started), K["last_position_sec"]: "0",
              K["progress_percent"]: "0", K["completed"]: "0"}
    if kind == "created":  # Core made the session; the user never opened the player
        return values
    if kind == "waiting":  # only the waiting room: seen before the start
        values[K["last_seen_at"]] = _dt(started - timedelta(seconds=rng.randrange(1, 300)))
        return values
    progress = int(kind[1:].removesuffix("cta"))
    position = {0: rng.randrange(0, 25), 25: rng.randrange(25, 50), 50: rng.randrange(50, 75),
                75: rng.randrange(75, 99), 100: DURATION}[progress]
    values[K["last_position_sec"]] = str(position)
    values[K["progress_percent"]] = str(progress)
    values[K["completed"]] = "1" if progress == 100 else "0"
    values[K["last_seen_at"]] = _dt(started + timedelta(seconds=position + rng.randrange(0, 9000)))
    if kind.endswith("cta"):
        values[K["cta_clicked_at"]] = _dt(started + timedelta(seconds=60))
    return values


KINDS = ["none", "created", "waiting", "p0", "p25", "p50", "p75", "p75cta", "p100", "p100cta"]

# Hand edits and WordPress duplicates, one user each: (key without prefix, value) in
# insertion order. Comments say what `codec` reads.
ODDITIES: list[list[tuple[str, str | None]]] = [
    # equal duplicates: counted once
    [("session_id", "a"), ("session_id", "a"), ("started_at", "2026-03-02 10:00:00"),
     ("last_seen_at", "2026-03-02 10:05:00"), ("last_seen_at", "2026-03-02 10:05:00"),
     ("progress_percent", "50"), ("last_position_sec", "55"), ("completed", "0")],
    # unequal copies: the aggregates take the highest (75), a listed row the oldest (25)
    [("session_id", "b"), ("started_at", "2026-03-03 10:00:00"),
     ("last_seen_at", "2026-03-03 10:09:00"), ("progress_percent", "25"),
     ("progress_percent", "75"), ("last_position_sec", "80"), ("last_position_sec", "20"),
     ("completed", "0")],
    # garbage progress, position and completed: 0, 0, not completed
    [("session_id", "c"), ("started_at", "2026-03-04 10:00:00"),
     ("last_seen_at", "2026-03-04 10:01:00"), ("progress_percent", "abc"),
     ("last_position_sec", "xyz"), ("completed", "yes")],
    # a garbage last_seen: not joined
    [("session_id", "d"), ("started_at", "2026-03-05 10:00:00"),
     ("last_seen_at", "garbage"), ("progress_percent", "0"), ("completed", "0")],
    # an empty or blank session id is no session: excluded everywhere
    [("session_id", ""), ("started_at", "2026-03-06 10:00:00"),
     ("last_seen_at", "2026-03-06 10:02:00"), ("progress_percent", "100"), ("completed", "1")],
    [("session_id", "   "), ("progress_percent", "50")],
    [("session_id", " \t\u00a0"), ("progress_percent", "75"),
     ("last_seen_at", "2026-03-06 11:00:00")],
    [("session_id", None), ("progress_percent", "25")],
    # keys without any session id row: excluded
    [("last_seen_at", "2026-03-07 10:00:00"), ("progress_percent", "75")],
    # an unreadable start with a valid last_seen: joined (has_joined with no start)
    [("session_id", "e"), ("started_at", "soon"), ("last_seen_at", "2026-03-08 10:00:00"),
     ("progress_percent", "25"), ("last_position_sec", "30"), ("completed", "0"),
     ("cta_clicked_at", "")],
    # hand-edited numbers: '30' is past 25, ' 31 ' is 31, '100.0' is 100, 'true' completes
    [("session_id", "f"), ("started_at", "2026-03-09 10:00:00"),
     ("last_seen_at", "2026-03-09 10:03:00"), ("progress_percent", "30"),
     ("last_position_sec", " 31 "), ("completed", "0")],
    [("session_id", "g"), ("started_at", "2026-03-10 10:00:00"),
     ("last_seen_at", "2026-03-10 11:00:00"), ("progress_percent", "100.0"),
     ("last_position_sec", "100"), ("completed", "true"),
     ("cta_clicked_at", "2026-03-10 10:59:00")],
    # a session without progress or position rows (hand-deleted): 0 in those sorts
    [("session_id", "h"), ("started_at", "2026-03-11 10:00:00")],
    # a session id that would be a spreadsheet formula in the CSV
    [("session_id", "=HYPERLINK(\"x\")"), ("started_at", "2026-03-12 10:00:00"),
     ("last_seen_at", "2026-03-12 10:00:30"), ("progress_percent", "0"), ("completed", "0")],
    # dates that look right but are not, and right ones that look odd
    [("session_id", "i"), ("started_at", "2026-02-30 10:00:00"),  # no 30 February: no start
     ("last_seen_at", "2026-3-1 9:00:00"),  # not WordPress's spelling: no visit
     ("cta_clicked_at", "2026-13-01 00:00:00"),  # month 13: no click
     ("progress_percent", "25"), ("last_position_sec", "26"), ("completed", "0")],
    [("session_id", "j"), ("started_at", " 2026-03-13 10:00:00 "),  # padded: still a time
     ("last_seen_at", "2026-03-13 10:00:00\t"), ("last_seen_at", "0000-00-00 00:00:00"),
     ("cta_clicked_at", "abcd-ef-gh ij:kl:mn"), ("progress_percent", "75"),
     ("last_position_sec", "80"), ("completed", "1 ")],
    # numbers in other spellings: full-width digits, a sign, an exponent, out of range
    [("session_id", "k"), ("started_at", "2026-03-14 10:00:00"),
     ("last_seen_at", "2026-03-14 10:30:00"), ("progress_percent", "\uff15\uff10"),  # 50
     ("last_position_sec", "+45"), ("last_position_sec", "1e1"), ("completed", "\uff11")],
    [("session_id", "l"), ("started_at", "2026-03-15 10:00:00"),
     ("last_seen_at", "2026-03-15 10:30:00"), ("progress_percent", "-25"),
     ("last_position_sec", "99999999999"), ("last_position_sec", "-7"), ("completed", "0")],
    [("session_id", "m"), ("started_at", "2026-03-16 10:00:00"),
     ("last_seen_at", "2026-03-16 10:40:00"), ("progress_percent", "075"),
     ("last_position_sec", "\uff17\uff10"), ("completed", "")],
    # two starts: the earliest counts; two visits: the latest counts (waiting, then joined)
    [("session_id", "n"), ("started_at", "2026-03-17 10:00:00"),
     ("started_at", "2026-03-17 09:00:00"), ("last_seen_at", "2026-03-17 09:30:00"),
     ("progress_percent", "0"), ("last_position_sec", "0"), ("completed", "0")],
    # a position past the end, and completed with a short position: both count to the end
    [("session_id", "o"), ("started_at", "2026-03-18 10:00:00"),
     ("last_seen_at", "2026-03-18 12:00:00"), ("progress_percent", "100"),
     ("last_position_sec", "5000"), ("completed", "0")],
    [("session_id", "p"), ("started_at", "2026-03-19 10:00:00"),
     ("last_seen_at", "2026-03-19 12:00:00"), ("progress_percent", "100"),
     ("last_position_sec", "40"), ("completed", "1")],
]


def population(count: int = 240, seed: int = 7) -> list[Row]:
    """Rows in insertion (umeta_id) order: WordPress's own meta, then ours, per user; the
    oddities after them; and a few late rows (a click, a visit) far from their user's."""
    rng = random.Random(seed)
    rows: list[Row] = []
    for uid in range(1, count + 1):
        rows += wordpress_meta(uid, PREFIX)
        kind = KINDS[uid % len(KINDS)] if uid <= 3 * len(KINDS) else rng.choice(KINDS)
        if kind == "none":
            continue
        rows += [(uid, key, value) for key, value in _session(uid, rng, kind).items()]
    first = count + 1
    for offset, entries in enumerate(ODDITIES):
        uid = first + offset
        rows += wordpress_meta(uid, PREFIX)[:3]
        rows += [(uid, "autowebinar_" + key, value) for key, value in entries]
    # Written later than the rest of their user's rows (other batches of a scan).
    rows += [(3, K["cta_clicked_at"], "2026-04-01 00:00:00"),
             (4, K["last_seen_at"], "2026-04-02 00:00:00"),
             (13, K["progress_percent"], "100")]
    return rows


# ---- the database ------------------------------------------------------------------------


def create_table(backend: Backend, prefix: str) -> None:
    """WordPress's usermeta under another prefix (SQLite: index names are per database)."""
    with backend.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {prefix}usermeta"))
        if backend.name == "mysql":
            conn.execute(text(WP_USERMETA_DDL.format(prefix=prefix)))
            return
        conn.execute(text(f"CREATE TABLE {prefix}usermeta (umeta_id INTEGER PRIMARY KEY "
                          "AUTOINCREMENT, user_id BIGINT NOT NULL DEFAULT 0, "
                          "meta_key VARCHAR(255), meta_value TEXT)"))
        conn.execute(text(f"CREATE INDEX {prefix}user_id ON {prefix}usermeta (user_id)"))
        conn.execute(text(f"CREATE INDEX {prefix}meta_key ON {prefix}usermeta (meta_key)"))


def drop_table(backend: Backend, prefix: str) -> None:
    with backend.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {prefix}usermeta"))


@dataclass
class Populated:
    backend: Backend
    rows: list[Row] = field(default_factory=list)
    table: str = TABLE

    def insert(self, rows: list[Row]) -> None:
        with self.backend.engine.begin() as conn:
            conn.execute(
                text(f"INSERT INTO {self.table} (user_id, meta_key, meta_value) "  # noqa: S608
                     "VALUES (:u, :k, :v)"),
                [{"u": u, "k": k, "v": v} for u, k, v in rows],
            )
        self.rows = self.rows + rows


# ---- the reference ------------------------------------------------------------------------


def copies(rows: list[Row]) -> dict[int, dict[str, list[str | None]]]:
    users: dict[int, dict[str, list[str | None]]] = {}
    for uid, key, value in rows:
        if key in K.values():
            users.setdefault(uid, {}).setdefault(key, []).append(value)
    return users


def decoded(field_name: str, keys: dict[str, list[str | None]]) -> list[Any]:
    """Every copy of one key, decoded alone by codec (absent values dropped)."""
    values = [getattr(decode_state({K[field_name]: v}), field_name)
              for v in keys.get(K[field_name], [])]
    return [v for v in values if v is not None]


@dataclass(frozen=True)
class Expected:
    """One member as the aggregates see them."""

    user_id: int
    started: datetime | None
    last_seen: datetime | None
    position: int
    progress: int
    completed: bool
    cta: bool

    @property
    def joined(self) -> bool:
        return has_joined(State(session_id="x", started_at=self.started,
                                last_seen_at=self.last_seen))


def members(rows: list[Row]) -> list[Expected]:
    out = []
    for uid, keys in sorted(copies(rows).items()):
        if not decoded("session_id", keys):
            continue
        starts, seen = decoded("started_at", keys), decoded("last_seen_at", keys)
        out.append(Expected(
            uid, min(starts) if starts else None, max(seen) if seen else None,
            max(decoded("last_position_sec", keys), default=0),
            max(decoded("progress_percent", keys), default=0),
            any(decoded("completed", keys)), bool(decoded("cta_clicked_at", keys))))
    return out


def expected_funnel(rows: list[Row]) -> dict[str, int]:
    people = members(rows)
    counts = {"sessions": len(people), "joined": sum(m.joined for m in people)}
    for milestone in MILESTONES:
        counts[f"reached_{milestone}"] = sum(m.progress >= milestone for m in people)
    counts["completed"] = sum(m.completed for m in people)
    counts["cta_clicks"] = sum(m.cta for m in people)
    return counts


def expected_retention(rows: list[Row], bucket: int, duration: int = DURATION,
                       cta_at: int | None = CTA_AT) -> list[tuple[int, int]]:
    """Joined members still watching at every bucket, the CTA moment and the end."""
    finals = [duration if m.completed else min(m.position, duration)
              for m in members(rows) if m.joined]
    moments = sorted({*range(0, duration, bucket), duration,
                      *([cta_at] if cta_at is not None else [])})
    return [(t, sum(final >= t for final in finals)) for t in moments]


def expected_order(rows: list[Row], sort: str, descending: bool) -> list[int]:
    """Member ids in SQL's order: no value first ascending, ties by id in the same direction."""
    def value(m: Expected) -> Any:
        return {"last_seen": m.last_seen, "started": m.started, "progress": m.progress,
                "position": m.position, "user_id": None}[sort]

    def key(m: Expected) -> tuple[Any, ...]:
        v = value(m)
        return (v is not None, v if v is not None else 0, m.user_id)

    ascending = [m.user_id for m in sorted(members(rows), key=key)]
    return ascending[::-1] if descending else ascending


def expected_row(rows: list[Row], uid: int) -> dict[str, Any]:
    """What WordPress's get_user_meta($id, $key, true) shows: the oldest copy, decoded."""
    oldest = {key: values[0] for key, values in copies(rows)[uid].items()}
    state = decode_state(oldest, uid)

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {"user_id": uid, "session_id": state.session_id, "started_at": iso(state.started_at),
            "last_seen_at": iso(state.last_seen_at), "joined": has_joined(state),
            "position_sec": state.last_position_sec,
            "progress_percent": state.progress_percent, "completed": state.completed,
            "cta_clicked_at": iso(state.cta_clicked_at)}
