"""Admin reports over usermeta: the SQL and the aggregates, nothing else.

How they are computed, and why, is in docs/admin.md. In short:

* `tally` reads every AutoWebinar row once, in primary-key batches (a sequential range of
  the clustered index, cheaper per row than any secondary-index read), with a pause after
  each batch. Each batch is grouped per user in SQL into a handful of integers; numpy
  merges the batches per user and derives the funnel, the retention histogram and the
  member ids in every sort order.
* Values are read exactly as `codec` reads them. SQL decodes the canonical spellings the
  service writes; any other spelling marks the user "odd", and such users are re-read and
  decoded in Python by `codec` itself, every copy of every key. Copies of one key combine
  by the documented rule: the earliest `started_at`, the highest of everything else.
* Pages and the export read the listed users' rows as WordPress shows them (the lowest
  umeta_id of each key).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    Table,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from autowebinar_wp.codec import MAX_POSITION_SEC, decode_state
from autowebinar_wp.session import has_joined
from autowebinar_wp.state import META_KEYS, MILESTONES, State
from autowebinar_wp.store import load_raw_many

K = META_KEYS
ALL_KEYS = tuple(K.values())
MYSQL = ("mysql", "mariadb")
# Sort name -> how members are ordered (ties: user id, in the same direction).
SORTS = ("last_seen", "started", "progress", "position", "user_id")
DEFAULT_SORT = "last_seen"
MAX_PER_PAGE = 200

# The spellings SQL decodes itself (LIKE patterns); anything else goes to `codec`.
UUID_SHAPE = "________-____-____-____-____________"
DATETIME_SHAPE = "____-__-__ __:__:__"

if TYPE_CHECKING:
    # numpy (15 MB) is imported by the functions that compute with it, so a server worker
    # loads it with the first admin view, not for every heartbeat worker at start-up.
    import numpy as np
    import numpy.typing as npt

    Ints = npt.NDArray[np.int64]
    Bools = npt.NDArray[np.bool_]

# Integer stand-ins in the per-user columns. Datetimes travel as YYYYMMDDhhmmss.
ODD = 1 << 60  # an unusual spelling in a "highest copy" column: beats every real value
NO_START = 1 << 59  # no started_at: loses every MIN
ODD_START = -1  # an unusual started_at: wins the MIN
COLUMNS = ("user_id", "session", "started", "last_seen", "cta", "position", "progress",
           "completed")
UID, SESSION, STARTED, LAST_SEEN, CTA, POSITION, PROGRESS, COMPLETED = range(len(COLUMNS))


# ---- portable SQL pieces ------------------------------------------------------------------


class exact(FunctionElement[str]):  # noqa: N801 - a SQL function, named like one
    """The value as bytes on MySQL/MariaDB (no collation: no case, width or PAD SPACE folding)."""

    type = String()
    name = "exact"
    inherit_cache = True


class as_int(FunctionElement[int]):  # noqa: N801
    """CAST to an integer (the leading digits; 0 for none)."""

    name = "as_int"
    inherit_cache = True


class as_text(FunctionElement[str]):  # noqa: N801
    """An integer written back as text (bytes on MySQL, to compare with `exact`)."""

    type = String()
    name = "as_text"
    inherit_cache = True


class short(FunctionElement[str]):  # noqa: N801
    """A 19-byte datetime as BINARY(19) on MySQL, so MIN/MAX keep the group table in memory
    (a LONGTEXT aggregate sends MariaDB's temporary table to disk)."""

    type = String()
    name = "short"
    inherit_cache = True


def _cast_to(sql_type: str | None) -> Callable[..., str]:
    """A compiler for a one-argument function: CAST(argument AS sql_type), or the argument
    itself for None."""
    def compile_cast(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
        argument = compiler.process(element.clauses, **kw)
        return argument if sql_type is None else f"CAST({argument} AS {sql_type})"
    return compile_cast


# function: (the cast elsewhere (SQLite), the cast on MySQL/MariaDB)
for _function, (_elsewhere, _on_mysql) in {
    exact: (None, "BINARY"),
    as_int: ("INTEGER", "SIGNED"),
    as_text: ("TEXT", "BINARY"),
    short: (None, "BINARY(19)"),
}.items():
    compiles(_function)(_cast_to(_elsewhere))
    compiles(_function, *MYSQL)(_cast_to(_on_mysql))


class joined(FunctionElement[str]):  # noqa: N801
    """The arguments as text joined by commas (CONCAT_WS on MySQL, `||` elsewhere)."""

    type = String()
    name = "joined"
    inherit_cache = True


@compiles(joined)
def _joined_default(element: joined, compiler: SQLCompiler, **kw: Any) -> str:
    return " || ',' || ".join(compiler.process(c, **kw) for c in element.clauses)


@compiles(joined, *MYSQL)
def _joined_mysql(element: joined, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CONCAT_WS(',', {compiler.process(element.clauses, **kw)})"


class in_order(FunctionElement[str]):  # noqa: N801
    """GROUP_CONCAT(value ORDER BY key SEPARATOR 'sep') on MySQL/MariaDB."""

    type = String()
    name = "in_order"
    inherit_cache = True

    def __init__(self, value: Any, order: Any, separator: str) -> None:
        # The separator is a clause, so that it is part of the statement's cache key.
        super().__init__(value, order, literal_column(f"'{separator}'"))


@compiles(in_order, *MYSQL)
def _in_order_mysql(element: in_order, compiler: SQLCompiler, **kw: Any) -> str:
    value, order, separator = (compiler.process(c, **kw) for c in element.clauses)
    return f"GROUP_CONCAT({value} ORDER BY {order} SEPARATOR {separator})"


def _force_index(stmt: Select[Any], table: Table, index: str) -> Select[Any]:
    for dialect in MYSQL:
        stmt = stmt.with_hint(table, f"FORCE INDEX ({index})", dialect_name=dialect)
    return stmt


# ---- one batch: the rows of a primary-key range, grouped per user --------------------------


# Flags of one user in a batch (bit-or of its rows): a group per key, odd spellings apart.
SESSION_OK, SESSION_ODD = 1, 2
COMPLETED_YES, COMPLETED_ODD = 4, 8
REACHED = {25: 16, 50: 32, 75: 64, 100: 128}  # cumulative: 75 sets 25, 50 and 75
PROGRESS_ODD, POSITION_ODD = 256, 512
FLAG_BITS = 10  # the position travels above the flags, in the same integer
ODD_POSITION = 1 << 40
GROUP_CONCAT_BYTES = 256 << 20
WIRE = ("user_id", "flags_and_position", "started", "last_seen", "cta")


def _reached(milestone: int) -> int:
    return sum(bit for m, bit in REACHED.items() if m <= milestone)


@lru_cache(maxsize=16)
def batch_statement(table: Table, dialect: str) -> Select[Any]:
    """Per user with AutoWebinar rows in `umeta_id` ∈ (:lo, :hi]: the WIRE integers.

    A value in the service's own spelling is decoded here; an empty or NULL value is absent
    (as `codec` reads it); anything else sets an odd flag or stand-in, and that user is
    decoded again in Python. Session, completed and progress travel as flags (one BIT_OR on
    MySQL: fewer aggregates per row), the position above them.
    """
    key, value = table.c.meta_key, exact(table.c.meta_value)
    absent = or_(table.c.meta_value.is_(None), value == "")
    number = as_int(value)

    def of(name: str, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        return case((key == K[name], expr))

    def moment(odd_mark: str) -> ColumnElement[Any]:
        return case((absent, null()), (value.like(DATETIME_SHAPE), short(value)),
                    else_=literal(odd_mark))

    session = case((absent, 0), (value.like(UUID_SHAPE), SESSION_OK), else_=SESSION_ODD)
    # Simple CASEs: the value is compared as bytes with each spelling the service writes.
    completed = case((absent, 0), else_=case({"1": COMPLETED_YES, "0": 0}, value=value,
                                             else_=COMPLETED_ODD))
    progress = case((absent, 0), else_=case(
        {str(m): _reached(m) for m in (0, *MILESTONES)}, value=value, else_=PROGRESS_ODD))
    flag_groups = {"session_id": session, "completed": completed,
                   "progress_percent": progress}
    if dialect in MYSQL:
        flags: ColumnElement[Any] = func.bit_or(case(
            *((key == K[name], expr) for name, expr in flag_groups.items()), else_=0))
    else:  # no BIT_OR: each group's codes are ordered, so MAX per group gives the same bits
        flags = sum((func.coalesce(func.max(of(name, expr)), 0)
                     for name, expr in flag_groups.items()), literal(0))
    # Digits only (written back, the number reads the same); its range is checked per user.
    position = case((absent, 0), (as_text(number) == value, number), else_=ODD_POSITION)

    per_user = _force_index(
        select(
            table.c.user_id.label("uid"),
            flags.label("f"),
            func.max(of("last_position_sec", position)).label("pos"),
            func.min(of("started_at", moment("!"))).label("st"),
            func.max(of("last_seen_at", moment("~"))).label("ls"),
            func.max(of("cta_clicked_at", moment("~"))).label("cta"),
        )
        .where(table.c.umeta_id > bindparam("lo"), table.c.umeta_id <= bindparam("hi"),
               key.in_(ALL_KEYS))
        .group_by(table.c.user_id),
        table, "PRIMARY",
    ).subquery("per_user")
    u = per_user.c

    def digits(column: ColumnElement[Any], absent_as: int, odd: ColumnElement[bool],
               odd_as: int) -> ColumnElement[Any]:
        """YYYYMMDDhhmmss; the odd mark (and anything no datetime can be) as `odd_as`."""
        bare = func.replace(func.replace(func.replace(column, "-", ""), " ", ""), ":", "")
        return case((column.is_(None), absent_as), (odd, odd_as), else_=as_int(bare))

    packed = case((or_(u.pos < 0, u.pos > MAX_POSITION_SEC), u.f.op("|")(POSITION_ODD)),
                  else_=u.f + func.coalesce(u.pos, 0) * (1 << FLAG_BITS))
    wire = (u.uid, packed, digits(u.st, NO_START, u.st < "0", ODD_START),
            digits(u.ls, 0, u.ls > "9999-99-99", ODD),
            digits(u.cta, 0, u.cta > "9999-99-99", ODD))
    # One text per batch instead of a row per user: PyMySQL parses every row in Python
    # (about 3 µs for these five integers), numpy parses the text at a tenth of that.
    return select(func.count(), func.group_concat(joined(*wire)))


def key_bounds(conn: Connection, table: Table) -> tuple[int, int]:
    """The lowest and highest umeta_id (both ends of the primary key: two index dives)."""
    low, high = conn.execute(select(func.min(table.c.umeta_id),
                                    func.max(table.c.umeta_id))).one()
    return int(low or 0), int(high or 0)


# ---- reading it all, gently ---------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    """How hard a scan may press on the database: one query at a time, then a pause.

    After each batch the scan sleeps `pause_ratio` times as long as the batch took, so the
    database spends at most 1 / (1 + pause_ratio) of one connection's time on it.
    """

    batch_ids: int = 250_000
    pause_ratio: float = 0.25
    sleep: Callable[[float], None] = time.sleep


@dataclass
class ScanStats:
    batches: int = 0
    odd_users: int = 0
    query_sec: float = 0.0
    pause_sec: float = 0.0


def scan(engine: Engine, table: Table, pace: Pace = Pace(),
         on_batch: Callable[[], None] | None = None,
         stats: ScanStats | None = None) -> Ints:
    """Every user with AutoWebinar rows: the COLUMNS, merged over copies and batches.

    One short read per batch, each on a fresh transaction (no read view is held across the
    pauses); `on_batch` runs between batches (a single-flight lease renews itself there).
    """
    stats = stats if stats is not None else ScanStats()
    statement = batch_statement(table, engine.dialect.name)
    pieces: list[Ints] = []
    with engine.connect() as conn:
        if conn.dialect.name in MYSQL:  # room for the largest batch's text (default: 1 MB)
            conn.exec_driver_sql(f"SET SESSION group_concat_max_len = {GROUP_CONCAT_BYTES}")
        low, high = key_bounds(conn, table)
        conn.rollback()
        lo = low - 1
        while lo < high:
            hi = min(lo + pace.batch_ids, high)
            started = time.perf_counter()
            users, text = conn.execute(statement, {"lo": lo, "hi": hi}).one()
            conn.rollback()
            took = time.perf_counter() - started
            stats.batches += 1
            stats.query_sec += took
            if users:
                pieces.append(unpack(parse_wire(text, int(users))))
            lo = hi
            if on_batch is not None:
                on_batch()
            if lo < high and pace.pause_ratio > 0:
                pause = took * pace.pause_ratio
                stats.pause_sec += pause
                pace.sleep(pause)
        per_user = merge(pieces)
        odd = odd_users(per_user)
        stats.odd_users = int(odd.sum())
        if stats.odd_users:
            fixed = decode_users(conn, table, per_user[odd, UID].tolist())
            conn.rollback()
            per_user[odd] = fixed
    return per_user


def parse_wire(text: str | bytes, users: int) -> Ints:
    """The batch's text back to one row of WIRE integers per user."""
    import numpy as np
    values = np.array((text.decode() if isinstance(text, bytes) else text).split(","),
                      dtype=np.int64)
    if len(values) != users * len(WIRE):  # never silently short: a truncated text is an error
        raise RuntimeError(f"a batch text holds {len(values)} values for {users} users")
    return values.reshape(users, len(WIRE))


def unpack(wire: Ints) -> Ints:
    """WIRE rows to COLUMNS: flags to codes (2 = odd), the position out of the flags' integer."""
    import numpy as np
    flags, rest = wire[:, 1] & ((1 << FLAG_BITS) - 1), wire[:, 1] >> FLAG_BITS
    out = np.empty((len(wire), len(COLUMNS)), dtype=np.int64)
    out[:, UID] = wire[:, 0]
    out[:, STARTED], out[:, LAST_SEEN], out[:, CTA] = wire[:, 2], wire[:, 3], wire[:, 4]
    out[:, SESSION] = np.where(flags & SESSION_ODD, 2, flags & SESSION_OK)
    out[:, COMPLETED] = np.where(flags & COMPLETED_ODD, 2, (flags & COMPLETED_YES) > 0)
    reached = np.zeros(len(wire), dtype=np.int64)
    for milestone, bit in REACHED.items():
        reached = np.where(flags & bit, milestone, reached)
    out[:, PROGRESS] = np.where(flags & PROGRESS_ODD, ODD, reached)
    out[:, POSITION] = np.where(flags & POSITION_ODD, ODD, rest)
    return out


def merge(pieces: Sequence[Ints]) -> Ints:
    """One row per user: the earliest start and the highest of every other column."""
    import numpy as np
    if not pieces:
        return np.zeros((0, len(COLUMNS)), dtype=np.int64)
    rows = np.concatenate(pieces)
    rows = rows[np.argsort(rows[:, UID], kind="stable")]
    _ids, first = np.unique(rows[:, UID], return_index=True)
    merged = np.maximum.reduceat(rows, first, axis=0)
    merged[:, STARTED] = np.minimum.reduceat(rows[:, STARTED], first)
    return merged


DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def valid_moments(values: Ints) -> Bools:
    """Which YYYYMMDDhhmmss integers are real datetimes (years 1000-9999; earlier ones are
    left to `codec`, which is never wrong about them)."""
    import numpy as np
    second, minute = values % 100, values // 100 % 100
    hour, day = values // 10**4 % 100, values // 10**6 % 100
    month, year = values // 10**8 % 100, values // 10**10
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days = np.array(DAYS_IN_MONTH, dtype=np.int64)[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok: Bools = ((values >= 10**13) & (values < 10**14) & (month >= 1) & (month <= 12)
                 & (day >= 1) & (day <= days) & (hour < 24) & (minute < 60) & (second < 60))
    return ok


def odd_users(per_user: Ints) -> Bools:
    """Users SQL could not decode exactly (only those who may have a session matter)."""
    u = per_user
    odd: Bools = ((u[:, SESSION] == 2) | (u[:, COMPLETED] == 2) | (u[:, POSITION] == ODD)
                  | (u[:, PROGRESS] == ODD))
    for column, absent in ((STARTED, NO_START), (LAST_SEEN, 0), (CTA, 0)):
        values = u[:, column]
        odd |= (values != absent) & ~valid_moments(values)
    result: Bools = odd & (u[:, SESSION] != 0)
    return result


def _moment(value: datetime | None, absent: int) -> int:
    if value is None:
        return absent
    return (value.year * 10**10 + value.month * 10**8 + value.day * 10**6
            + value.hour * 10**4 + value.minute * 100 + value.second)


def decode_users(conn: Connection, table: Table, user_ids: Sequence[int],
                 chunk: int = 500) -> Ints:
    """The COLUMNS of these users from every copy of every key, each decoded by `codec`."""
    import numpy as np
    copies: dict[int, dict[str, list[str | None]]] = {uid: {} for uid in user_ids}
    for start in range(0, len(user_ids), chunk):
        ids = list(user_ids[start:start + chunk])
        for uid, key, value in conn.execute(
            select(table.c.user_id, table.c.meta_key, table.c.meta_value)
            .where(table.c.user_id.in_(ids), table.c.meta_key.in_(ALL_KEYS))
        ):
            if key in ALL_KEYS:  # MySQL's key comparison folds case; WordPress's does not
                copies[int(uid)].setdefault(key, []).append(value)
    return np.array([combined(uid, copies[uid]) for uid in user_ids], dtype=np.int64)


def combined(user_id: int, keys: dict[str, list[str | None]]) -> list[int]:
    """One user's COLUMNS from all copies: any session, earliest start, highest of the rest."""
    states = [decode_state({key: value}, user_id)
              for key, values in keys.items() for value in values]

    def known(pick: Callable[[State], datetime | None]) -> list[datetime]:
        return [moment for moment in map(pick, states) if moment is not None]

    starts = known(lambda s: s.started_at)
    seen = known(lambda s: s.last_seen_at)
    clicks = known(lambda s: s.cta_clicked_at)
    return [
        user_id,
        int(any(s.has_session for s in states)),
        _moment(min(starts) if starts else None, NO_START),
        _moment(max(seen) if seen else None, 0),
        _moment(max(clicks) if clicks else None, 0),
        max((s.last_position_sec for s in states), default=0),
        max((s.progress_percent for s in states), default=0),
        int(any(s.completed for s in states)),
    ]


# ---- what the dashboard shows ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Funnel:
    sessions: int
    joined: int
    reached_25: int
    reached_50: int
    reached_75: int
    reached_100: int
    completed: int
    cta_clicks: int

    @staticmethod
    def rate(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    def rates(self) -> dict[str, float | None]:
        return {
            "joined_per_session": self.rate(self.joined, self.sessions),
            "completed_per_joined": self.rate(self.completed, self.joined),
            "cta_per_joined": self.rate(self.cta_clicks, self.joined),
            "cta_per_session": self.rate(self.cta_clicks, self.sessions),
            "completed_per_session": self.rate(self.completed, self.sessions),
        }

    def stages(self) -> list[tuple[str, int]]:
        return [("sessions", self.sessions), ("joined", self.joined),
                ("reached_25", self.reached_25), ("reached_50", self.reached_50),
                ("reached_75", self.reached_75), ("reached_100", self.reached_100),
                ("completed", self.completed), ("cta_clicks", self.cta_clicks)]


@dataclass(frozen=True)
class Tally:
    """Everything the aggregate views need, from one scan."""

    funnel: Funnel
    retention: Ints  # joined members per final position 0..duration (completed at the end)
    orders: dict[str, Ints]  # member ids per sort, ascending (ties by id)


def aggregate(per_user: Ints, duration_sec: int) -> Tally:
    """The funnel, the retention histogram and the sort orders from merged COLUMNS."""
    import numpy as np
    u = per_user[per_user[:, SESSION] == 1]  # members: a session id in some copy
    started, seen = u[:, STARTED], u[:, LAST_SEEN]
    joined = (seen > 0) & ((started == NO_START) | (seen >= started))
    progress, completed = u[:, PROGRESS], u[:, COMPLETED] == 1
    funnel = Funnel(
        sessions=len(u), joined=int(joined.sum()),
        reached_25=int((progress >= 25).sum()), reached_50=int((progress >= 50).sum()),
        reached_75=int((progress >= 75).sum()), reached_100=int((progress >= 100).sum()),
        completed=int(completed.sum()), cta_clicks=int((u[:, CTA] > 0).sum()),
    )
    final = np.where(completed, duration_sec, np.minimum(u[:, POSITION], duration_sec))
    retention = np.bincount(final[joined], minlength=duration_sec + 1).astype(np.int64)
    ids = u[:, UID]
    values = {
        "last_seen": seen,
        "started": np.where(started == NO_START, -1, started),
        "progress": progress,
        "position": u[:, POSITION],
    }
    orders = {sort: ids[np.lexsort((ids, value))] for sort, value in values.items()}
    orders["user_id"] = ids  # already ascending (merge sorts by id)
    return Tally(funnel, retention, orders)


def tally(engine: Engine, table: Table, duration_sec: int, pace: Pace = Pace(),
          on_batch: Callable[[], None] | None = None,
          stats: ScanStats | None = None) -> Tally:
    return aggregate(scan(engine, table, pace, on_batch, stats), duration_sec)


def retention_points(histogram: Ints, bucket_sec: int,
                     also: Sequence[int] = ()) -> list[tuple[int, int]]:
    """(t, viewers): joined users whose final position is ≥ t, every `bucket_sec`, at the
    end, and at the moments in `also` (the CTA), in time order."""
    import numpy as np
    duration = len(histogram) - 1
    reached = np.cumsum(histogram[::-1])[::-1]  # reached[t] = sum(histogram[t:])
    moments = sorted({*range(0, duration, bucket_sec), duration,
                      *(t for t in also if 0 <= t <= duration)})
    return [(t, int(reached[t])) for t in moments]


# ---- listed users, as WordPress shows them ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProgressRow:
    user_id: int
    session_id: str | None
    started_at: datetime | None
    last_seen_at: datetime | None
    joined: bool
    position_sec: int
    progress_percent: int
    completed: bool
    cta_clicked_at: datetime | None

    @classmethod
    def of(cls, user_id: int, state: State) -> ProgressRow:
        return cls(user_id, state.session_id, state.started_at, state.last_seen_at,
                   has_joined(state), state.last_position_sec, state.progress_percent,
                   state.completed, state.cta_clicked_at)


def progress_rows(conn: Connection, table: Table, user_ids: Sequence[int]) -> list[ProgressRow]:
    """The listed users' rows, in the given order (one query, `user_id` index), decoded as the
    viewer's state is: the lowest umeta_id of each key, as get_user_meta($id, $key, true)."""
    raw = load_raw_many(conn, table, user_ids, ALL_KEYS)
    return [ProgressRow.of(uid, decode_state(raw[uid], uid)) for uid in user_ids]


def export_batches(engine: Engine, table: Table, batch_users: int = 1000
                   ) -> Iterator[list[ProgressRow]]:
    """Every member in user id order, a batch per short query (keyset on the `user_id` index).

    Membership is the funnel's (a session id in some copy); a row shows the lowest umeta_id
    of each key. On MySQL/MariaDB each user's copies arrive as one row (GROUP_CONCAT of the
    hex-encoded values, in umeta_id order): PyMySQL parses rows in Python, so one row per
    user instead of six or seven is most of the export's speed.
    """
    if engine.dialect.name in MYSQL:
        batches = _grouped_batches(engine, table, batch_users)
    else:
        batches = _row_batches(engine, table, batch_users * len(ALL_KEYS))
    for users in batches:
        yield [row for user_id, pairs in users.items()
               if (row := _member_row(user_id, pairs)) is not None]


Pairs = list[tuple[str, str | None]]


def _grouped_batches(engine: Engine, table: Table, batch_users: int) -> Iterator[dict[int, Pairs]]:
    """A batch as one text: a line per user, `user_id,k1,k2,...`, each key's copies as hex
    values joined by `;` (in umeta_id order) or `-` for none."""
    uid, key = table.c.user_id, table.c.meta_key
    copies = [func.coalesce(in_order(
        case((key == name, func.hex(func.coalesce(table.c.meta_value, "")))), table.c.umeta_id,
        ";"), "-") for name in ALL_KEYS]
    per_user = _force_index(
        select(uid.label("uid"), joined(uid, *copies).label("line"))
        .where(uid > bindparam("after"), key.in_(ALL_KEYS))
        .group_by(uid).order_by(uid).limit(bindparam("limit")),
        table, "user_id",
    ).subquery("per_user")
    statement = select(func.count(), in_order(per_user.c.line, per_user.c.uid, "\n"))
    after = 0
    while True:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SET SESSION group_concat_max_len = {GROUP_CONCAT_BYTES}")
            count, text = conn.execute(statement, {"after": after, "limit": batch_users}).one()
        users: dict[int, Pairs] = {}
        for line in (text or "").split("\n") if count else ():
            user_id, *keys = line.split(",")
            users[int(user_id)] = [
                (name, bytes.fromhex(part).decode("utf-8", "replace"))
                for name, field in zip(ALL_KEYS, keys, strict=True) if field != "-"
                for part in field.split(";")]
        if len(users) != count:
            raise RuntimeError(f"an export batch text holds {len(users)} of {count} users")
        if not users:
            return
        yield users
        after = max(users)
        if count < batch_users:
            return


def _row_batches(engine: Engine, table: Table, batch_rows: int) -> Iterator[dict[int, Pairs]]:
    """The same, a row per copy: each query reads the next `batch_rows` rows; the last user
    of a full batch may be cut off, so the next batch reads it again."""
    uid, key = table.c.user_id, table.c.meta_key
    statement = (select(uid, key, table.c.meta_value)
                 .where(uid > bindparam("after"), key.in_(ALL_KEYS))
                 .order_by(uid, table.c.umeta_id).limit(bindparam("limit")))
    after = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(statement, {"after": after, "limit": batch_rows}).all()
            users: dict[int, Pairs] = {}
            for user_id, meta_key, value in rows:
                users.setdefault(int(user_id), []).append((meta_key, value))
            if len(rows) == batch_rows and len(users) > 1:
                users.pop(int(rows[-1][0]))  # possibly cut off: the next batch reads it whole
            elif len(rows) == batch_rows:  # one user with that many copies: read it alone
                only = int(rows[0][0])
                users = {only: [(k, v) for k, v in conn.execute(
                    select(key, table.c.meta_value)
                    .where(uid == only, key.in_(ALL_KEYS)).order_by(table.c.umeta_id))]}
        if not users:
            return
        yield users
        after = max(users)
        if len(rows) < batch_rows:
            return


def _member_row(user_id: int, pairs: Pairs) -> ProgressRow | None:
    """The row WordPress shows (the oldest copy of each key), if some copy holds a session."""
    oldest: dict[str, str | None] = {}
    for meta_key, value in pairs:
        if meta_key in ALL_KEYS:
            oldest.setdefault(meta_key, value)
    state = decode_state(oldest, user_id)
    if not state.has_session and not any(  # a later copy may hold the session id
            decode_state({meta_key: value}).has_session
            for meta_key, value in pairs if meta_key == K["session_id"]):
        return None
    return ProgressRow.of(user_id, state)
