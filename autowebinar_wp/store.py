"""The usermeta store: WordPress's `{prefix}usermeta` table through SQLAlchemy Core.

Rules this module enforces (DESIGN §3 and §7, WORDPRESS_FACTS.md):
* The table is declared, never reflected, and never created on MySQL/MariaDB.
* Two namespaces exist: `autowebinar_*` (AutoWebinar, state.py) and `livewebinar_*` (the
  live module, live/state.py). A `Namespace` names one of them: its keys and codec, and the
  tag of its per-user lock. A store is bound to one namespace and can read and write only
  that one (plus read the referral keys), so neither module can touch the other's keys, and
  no namespace outside the two can even be declared.
* One SELECT loads a user's whole state in the store's namespace plus the referral keys.
* A save writes only the keys that changed: at most one UPDATE (all changed keys, CASE on
  meta_key) and one multi-row INSERT (keys the user does not have yet).
* `UPDATE ... WHERE user_id = ? AND meta_key = ?` touches every copy of a key, so rows that
  WordPress duplicated (it has no unique key, see `update_metadata()` in wp-includes/meta.php)
  stay equal, exactly as WordPress's own `update_user_meta()` keeps them.
* Nothing outside the store's namespace can be written, and this module has no DELETE at
  all (a key a namespace may have to empty is written as '', which WordPress reads exactly
  like a missing row).

Three write paths, slowest and most general first (viewing.py chooses; BENCHMARKS.md
measures them):
* **Locked** (`UserMetaStore.transaction`): a per-user named lock, then a transaction: read,
  save, COMMIT. Needed wherever rows may be INSERTed, because there is no unique key.
* **Optimistic** (`plan` + `apply_plan`, MySQL/MariaDB, AutoWebinar's keys only): a
  heartbeat or a leave of a user whose rows exist. The read and the writes each run in
  autocommit, with no lock, and the SQL itself keeps the invariants: the position and the
  last-seen time only move forward (the larger of the stored and the new value wins, per
  row, so every copy of a key stays equal), and a milestone is recorded by a compare-and-set
  whose affected-row count tells the one request that crossed it, which alone emits its
  events: SELECT and UPDATE(s).
* **Anchored** (`advance_anchored`, MySQL/MariaDB): a heartbeat whose signed anchor shows
  it reaches no new milestone needs no read at all. One UPDATE moves the same two keys
  forward, joined to the user's session-id row so that it applies only while the anchor's
  session is the user's session, and to the stored position, which must not be further on
  (another tab ahead: the answer must be the stored viewing's); no row matched sends the
  caller back to the read. The common heartbeat is this one round trip.

Functions take the connection first and never commit; `UserMetaStore.transaction()` owns
the transaction and the per-user lock.

The hot statements are Core expressions built once (`_load_statement`, `_update_statement`,
the lock texts) and, on MySQL/MariaDB, compiled once into the driver's SQL (`_execute`):
rebuilding, re-keying and re-compiling-from-cache them on every request was a third of the
CPU of a heartbeat (BENCHMARKS.md). They still run through the Connection, so events,
error translation and invalidation work as for any statement.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Update,
    and_,
    bindparam,
    case,
    func,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.mysql import LONGTEXT
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.expression import BindParameter, Insert, Select

from autowebinar_wp.codec import decode_state, encode_state
from autowebinar_wp.errors import ForbiddenKeyError, ServiceUnavailable
from autowebinar_wp.state import META_KEYS, META_PREFIX, State

log = logging.getLogger(__name__)

LOCK_TIMEOUT_SEC = 5

_GET_LOCK = text("SELECT GET_LOCK(:name, :timeout)")
_RELEASE_LOCK = text("DO RELEASE_LOCK(:name)")
# The same statement for the DBAPI cursor (UserMetaStore._release): `format` paramstyle, as
# both MySQL drivers make_engine accepts (PyMySQL, mysqlclient) use.
_RELEASE_LOCK_DBAPI = "DO RELEASE_LOCK(%s)"
# The MySQL engine runs in autocommit (db.py); the locked path opens its own transaction.
_START = text("START TRANSACTION")
_COMMIT = text("COMMIT")
_ROLLBACK = text("ROLLBACK")

# The optimistic path's keys: these only move forward (the larger value wins, in SQL) ...
FORWARD_KEYS = (META_KEYS["last_position_sec"], META_KEYS["last_seen_at"])
# ... and these change together by compare-and-set: its affected rows decide the events.
GUARDED_KEYS = (META_KEYS["progress_percent"], META_KEYS["completed"])
# A canonical stored position (no sign, no leading zero, at most 9 digits): for these,
# comparing lengths and then characters is comparing numbers, with no numeric conversion
# (which MariaDB's strict mode turns into an error for garbage in an UPDATE).
_CANONICAL_INT = r"^(0|[1-9][0-9]{0,8})$"
_DATETIME_SHAPE = "____-__-__ __:__:__"  # WordPress's 'YYYY-MM-DD HH:MM:SS'; sorts as text


def _not_sqlite(*_args: Any, dialect: Any, **_kw: Any) -> bool:
    return bool(dialect.name != "sqlite")


@lru_cache(maxsize=16)
def usermeta_table(prefix: str) -> Table:
    """WordPress's exact usermeta columns (wp-admin/includes/schema.php, `$users_multi_table`)."""
    metadata = MetaData()
    table = Table(
        f"{prefix}usermeta",
        metadata,
        Column(
            "umeta_id",
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("user_id", BigInteger, nullable=False, server_default="0"),
        Column("meta_key", String(255), nullable=True),
        Column("meta_value", Text().with_variant(LONGTEXT(), "mysql", "mariadb"), nullable=True),
    )
    # WordPress's indexes, declared so the embedded SQLite table matches. WordPress names them
    # `user_id` and `meta_key` per table; SQLite's index names are per file, so there they
    # carry the table name (only the embedded file is ever created, see db.py).
    Index("user_id", table.c.user_id).ddl_if(callable_=_not_sqlite)
    Index("meta_key", table.c.meta_key, mysql_length=191, mariadb_length=191).ddl_if(
        callable_=_not_sqlite)
    Index(f"{table.name}_user_id", table.c.user_id).ddl_if(dialect="sqlite")
    Index(f"{table.name}_meta_key", table.c.meta_key).ddl_if(dialect="sqlite")
    return table


# The only usermeta namespaces this service may ever write (DESIGN §3 and §7).
NAMESPACE_PREFIXES = ("autowebinar_", "livewebinar_")

S = TypeVar("S")


@dataclass(frozen=True, eq=False)
class Namespace(Generic[S]):
    """One module's keys in usermeta: what a store bound to it may read and write."""

    prefix: str
    keys: tuple[str, ...]  # every writable key, in the spec's order
    decode: Callable[[Mapping[str, str | None], int | None], S]
    encode: Callable[[S], dict[str, str]]
    lock_tag: str  # GET_LOCK names start with it: the two modules never wait for each other
    # Keys a save writes as '' when the new state no longer has them (the store never DELETEs).
    clearable: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.prefix not in NAMESPACE_PREFIXES:
            raise ForbiddenKeyError(f"{self.prefix!r} is not one of {NAMESPACE_PREFIXES}")
        if not self.keys or not all(k.startswith(self.prefix) for k in self.keys):
            raise ForbiddenKeyError(f"every key of the {self.prefix}* namespace must start "
                                    "with its prefix")
        if not self.clearable <= set(self.keys):
            raise ForbiddenKeyError("a clearable key must be one of the namespace's keys")

    @cached_property
    def writable(self) -> frozenset[str]:
        return frozenset(self.keys)


def _decode_state(raw: Mapping[str, str | None], user_id: int | None) -> State:
    return decode_state(raw, user_id)


AUTOWEBINAR: Namespace[State] = Namespace(
    META_PREFIX, tuple(META_KEYS.values()), _decode_state, encode_state, "autowebinar")
# AUTOWEBINAR is the default namespace of the functions below (the hot path and the tests
# call them without one); mypy cannot accept a concrete default for a parameter typed with a
# type variable, hence the `type: ignore[assignment]` on those signatures.


def guard_keys(keys: Iterable[str], namespace: Namespace[Any] = AUTOWEBINAR) -> None:
    """The write boundary: only the namespace's own keys, ever."""
    writable = namespace.writable
    for key in keys:
        if (key not in writable or not key.startswith(namespace.prefix)
                or not key.startswith(NAMESPACE_PREFIXES)):
            raise ForbiddenKeyError(
                f"refusing to write meta_key {key!r}: not a {namespace.prefix}* key")


@dataclass
class Loaded(Generic[S]):
    """One user's rows as read: the state plus what the next save needs to know."""

    user_id: int
    state: S
    raw: dict[str, str | None] = field(default_factory=dict)  # oldest copy, as WordPress reads
    copies: dict[str, int] = field(default_factory=dict)  # rows per key (duplicates > 1)
    unequal: set[str] = field(default_factory=set)  # keys whose copies disagree
    ref: dict[str, str] = field(default_factory=dict)  # referral keys, read-only


def _key_list(keys: tuple[str, ...]) -> list[BindParameter[str]]:
    """`IN (...)` as one fixed bound parameter per key, not SQLAlchemy's "expanding" list,
    which is re-rendered into the SQL string on every execution."""
    return [bindparam(f"k{i}", key) for i, key in enumerate(keys)]


@lru_cache(maxsize=64)
def _load_statement(table: Table, keys: tuple[str, ...]) -> Select[Any]:
    return (
        select(table.c.meta_key, table.c.meta_value)
        .where(table.c.user_id == bindparam("user_id"), table.c.meta_key.in_(_key_list(keys)))
        .order_by(table.c.umeta_id)
    )


@lru_cache(maxsize=256)
def _update_statement(table: Table, keys: tuple[str, ...]) -> Update:
    """UPDATE of the given keys (sorted): bind `b_user_id` and `v0`, `v1`, ... in key order.

    (`user_id` itself is reserved by SQLAlchemy for the SET clause of an UPDATE.)
    """
    value_type = table.c.meta_value.type
    value_expr: Any = (
        bindparam("v0", type_=value_type)
        if len(keys) == 1
        else case(
            {key: bindparam(f"v{i}", type_=value_type) for i, key in enumerate(keys)},
            value=table.c.meta_key,
        )
    )
    return (
        table.update()
        .where(table.c.user_id == bindparam("b_user_id"), table.c.meta_key.in_(_key_list(keys)))
        .values(meta_value=value_expr)
    )


@lru_cache(maxsize=16)
def _insert_statement(table: Table) -> Insert:
    return table.insert()


def _position_beyond(value: Any, new: Any, *, or_equal: bool) -> Any:
    """Whether a stored position is a canonical number larger than `new` (or equal): compared
    as text by length first, as a number compares, so no CAST ever meets garbage."""
    length, new_length = func.char_length(value), func.char_length(new)
    same_length = value >= new if or_equal else value > new
    return and_(value.regexp_match(_CANONICAL_INT),
                or_(length > new_length, and_(length == new_length, same_length)))


def _forward_values(table: Table, keys: tuple[str, ...]) -> Any:
    """SET value for the forward-only keys: each copy keeps its value if that is already
    larger, else takes the new one (`v0`, `v1`, ... in `keys` order)."""
    value = table.c.meta_value
    text_type = table.c.meta_value.type
    chosen: dict[str, Any] = {}
    for i, key in enumerate(keys):
        new = bindparam(f"v{i}", type_=text_type)
        if key == META_KEYS["last_position_sec"]:
            keep = _position_beyond(value, new, or_equal=True)
        else:
            keep = and_(value.like(_DATETIME_SHAPE), value >= new)
        chosen[key] = case((keep, value), else_=new)
    return chosen[keys[0]] if len(keys) == 1 else case(chosen, value=table.c.meta_key)


@lru_cache(maxsize=16)
def _forward_statement(table: Table, keys: tuple[str, ...]) -> Update:
    """UPDATE of the forward-only keys (binds `b_user_id`, `v0`, `v1`, ...)."""
    return (
        table.update()
        .where(table.c.user_id == bindparam("b_user_id"), table.c.meta_key.in_(_key_list(keys)))
        .values(meta_value=_forward_values(table, keys))
    )


@lru_cache(maxsize=16)
def _anchored_statement(table: Table) -> Update:
    """Position and last-seen moved forward for the user whose session id is `sid`, with no
    read first: self-joins on the session row and on the stored position, which must not be
    further on than this report (else another tab or device is ahead, and the caller reads
    the stored viewing to answer as it stands). Binds `b_user_id`, `sid`, `v0`, `v1`."""
    keys = FORWARD_KEYS
    session, stored = table.alias("aw_session"), table.alias("aw_position")
    return (
        table.update()
        .where(table.c.user_id == bindparam("b_user_id"), table.c.meta_key.in_(_key_list(keys)),
               session.c.user_id == table.c.user_id,
               session.c.meta_key == META_KEYS["session_id"],
               session.c.meta_value == bindparam("sid", type_=String()),
               stored.c.user_id == table.c.user_id,
               stored.c.meta_key == META_KEYS["last_position_sec"],
               not_(_position_beyond(stored.c.meta_value,
                                     bindparam("v0", type_=table.c.meta_value.type),
                                     or_equal=False)))
        .values({table.c.meta_value: _forward_values(table, keys)})
    )


@lru_cache(maxsize=16)
def _guarded_statement(table: Table, keys: tuple[str, ...]) -> Update:
    """Compare-and-set of the guarded keys in one statement: each copy of key i changes to
    `n{i}` only if it still holds `o{i}` (None: SQL NULL). Binds `b_user_id` too."""
    value, text_type = table.c.meta_value, table.c.meta_value.type
    news = {key: bindparam(f"n{i}", type_=text_type) for i, key in enumerate(keys)}
    still = [and_(table.c.meta_key == key,
                  value.is_not_distinct_from(bindparam(f"o{i}", type_=String())))
             for i, key in enumerate(keys)]
    expression = news[keys[0]] if len(keys) == 1 else case(news, value=table.c.meta_key)
    return (
        table.update()
        .where(table.c.user_id == bindparam("b_user_id"), or_(*still))
        .values(meta_value=expression)
    )


_Statement = Select[Any] | Update | TextClause


@dataclass(frozen=True, slots=True)
class _Rendered:
    """A statement compiled once for one dialect: its SQL, fixed bind values, required binds."""

    sql: str
    fixed: dict[str, Any]
    required: frozenset[str]


# Fixed bind values made of these characters alone are written into the SQL once, as plain
# quoted literals: no quote, backslash or percent sign, so no escaping (and no sql_mode)
# can change what they mean. The driver then escapes only the per-request values: the key
# lists and patterns were a tenth of a heartbeat's client CPU, escaped again on every call.
_INLINE_SAFE = re.compile(r"[A-Za-z0-9_:^$(){}\[\]|,. -]*")


@lru_cache(maxsize=512)
def _rendered(statement: _Statement, dialect: Dialect) -> _Rendered | None:
    compiled: SQLCompiler = statement.compile(dialect=dialect)
    if (compiled.positional or compiled._bind_processors
            or compiled.literal_execute_params or compiled.post_compile_params):
        return None  # qmark/positional (SQLite) or binds needing processing: let SA do it
    binds = compiled.bind_names
    sql = compiled.string
    fixed: dict[str, Any] = {}
    for bind, name in binds.items():
        if bind.required:
            continue
        value = bind.effective_value
        placeholder = f"%({name})s"
        if (dialect.paramstyle == "pyformat" and isinstance(value, str)
                and _INLINE_SAFE.fullmatch(value) and sql.count(placeholder) == 1):
            sql = sql.replace(placeholder, f"'{value}'")
        else:
            fixed[name] = value
    return _Rendered(sql, fixed, frozenset(n for b, n in binds.items() if b.required))


def _execute(conn: Connection, statement: _Statement,
             params: dict[str, Any]) -> CursorResult[Any]:
    """`conn.execute(statement, params)`, as SQL compiled once where the dialect allows it.

    `exec_driver_sql` skips building the execution context from the compiled cache (cache
    key, parameter processing) on every call; the SQL is exactly what SQLAlchemy renders.
    """
    rendered = _rendered(statement, conn.dialect)
    if rendered is None or not rendered.required <= params.keys():
        return conn.execute(statement, params)
    return conn.exec_driver_sql(rendered.sql, {**rendered.fixed, **params})


def load(conn: Connection, table: Table, user_id: int, ref_keys: Sequence[str] = (),
         namespace: Namespace[S] = AUTOWEBINAR) -> Loaded[S]:  # type: ignore[assignment]
    """One SELECT for the user's rows in the namespace and the referral keys."""
    writable = namespace.writable
    keys = namespace.keys + tuple(k for k in ref_keys if k not in writable)
    rows: list[Any] = list(_execute(conn, _load_statement(table, keys), {"user_id": user_id}))
    raw: dict[str, str | None] = {}
    copies: dict[str, int] = {}
    unequal: set[str] = set()
    ref: dict[str, str] = {}
    for key, value in rows:
        if key in writable:
            if key in raw:
                if raw[key] != value:
                    unequal.add(key)
            else:
                # get_user_meta($id, $key, true) returns the lowest umeta_id (meta.php:658).
                raw[key] = value
            copies[key] = copies.get(key, 0) + 1
        elif key not in ref:
            ref[key] = value or ""
    if unequal:
        log.warning(
            "duplicate usermeta rows with different values; the next save makes them equal",
            extra={"user_id": user_id, "meta_keys": sorted(unequal)},
        )
    return Loaded(user_id, namespace.decode(raw, user_id), raw, copies, unequal, ref)


def load_raw_many(conn: Connection, table: Table, user_ids: Sequence[int],
                  keys: Sequence[str]) -> dict[int, dict[str, str | None]]:
    """{user_id: {meta_key: value}} for many users in one SELECT (`user_id` index).

    Per key the lowest umeta_id wins, as in `load` and WordPress's
    `get_user_meta($id, $key, true)`. Every requested user gets an entry, empty if no rows.
    """
    raw: dict[int, dict[str, str | None]] = {int(uid): {} for uid in user_ids}
    if not raw:
        return raw
    rows = conn.execute(
        select(table.c.user_id, table.c.meta_key, table.c.meta_value)
        .where(table.c.user_id.in_(list(raw)), table.c.meta_key.in_(list(keys)))
        .order_by(table.c.user_id, table.c.umeta_id)
    )
    for uid, key, value in rows:
        raw[int(uid)].setdefault(key, value)
    return raw


def changes(loaded: Loaded[S], new: S, namespace: Namespace[S] = AUTOWEBINAR,  # type: ignore[assignment]
            ) -> dict[str, str]:
    """The keys a save must write: changed values, plus duplicates that disagree."""
    wanted = namespace.encode(new)
    for key in namespace.clearable:
        if key not in wanted and key in loaded.copies:
            wanted[key] = ""
    return {
        key: value
        for key, value in wanted.items()
        if loaded.raw.get(key) != value or key in loaded.unequal
    }


def save(conn: Connection, table: Table, loaded: Loaded[S], new: S,
         namespace: Namespace[S] = AUTOWEBINAR) -> int:  # type: ignore[assignment]
    """Write what changed; returns the number of statements issued (0, 1 or 2)."""
    diff = changes(loaded, new, namespace)
    guard_keys(diff, namespace)
    if not diff:
        return 0
    statements = 0
    to_update = {k: v for k, v in diff.items() if k in loaded.copies}
    to_insert = {k: v for k, v in diff.items() if k not in loaded.copies}
    if to_update:
        ordered = tuple(sorted(to_update))
        params: dict[str, Any] = {f"v{i}": to_update[key] for i, key in enumerate(ordered)}
        params["b_user_id"] = loaded.user_id
        _execute(conn, _update_statement(table, ordered), params)
        statements += 1
    if to_insert:
        conn.execute(
            _insert_statement(table),
            [
                {"user_id": loaded.user_id, "meta_key": key, "meta_value": to_insert[key]}
                for key in sorted(to_insert)
            ],
        )
        statements += 1
    return statements


@dataclass(frozen=True, slots=True)
class Plan:
    """An optimistic save: forward-only values, and compare-and-sets (expected, new)."""

    forward: dict[str, str]
    guarded: dict[str, tuple[str | None, str]]


def plan(loaded: Loaded[State], new: State) -> Plan | None:
    """The optimistic save of `new`, or None when it needs the locked path: a key to INSERT,
    copies to make equal, or a key that is neither forward-only nor guarded."""
    diff = changes(loaded, new)
    guard_keys(diff)
    if loaded.unequal or any(key not in loaded.copies for key in diff):
        return None
    if not set(diff) <= set(FORWARD_KEYS) | set(GUARDED_KEYS):
        return None
    return Plan({k: diff[k] for k in FORWARD_KEYS if k in diff},
                {k: (loaded.raw.get(k), diff[k]) for k in GUARDED_KEYS if k in diff})


def apply_plan(conn: Connection, table: Table, loaded: Loaded[Any], change: Plan) -> bool:
    """Run an optimistic save in autocommit; False if the compare-and-set found every guarded
    value changed by another request (nothing has been written then: start over).

    Progress and completion change together, in one statement, so no request ever reads one
    without the other and decides to emit an event the first one already emitted. The
    copies of a key were equal when read, and InnoDB re-reads a row it waited for, so the
    statement matches all of them or none (only a third writer changing some in between
    could make it match a part: that part is then written and its events go out, at least
    once, with their deterministic ids).
    """
    if change.guarded:
        keys = tuple(change.guarded)
        params: dict[str, Any] = {"b_user_id": loaded.user_id}
        for i, key in enumerate(keys):
            params[f"o{i}"], params[f"n{i}"] = change.guarded[key]
        if _execute(conn, _guarded_statement(table, keys), params).rowcount == 0:
            return False
    if change.forward:
        keys = tuple(change.forward)
        params = {f"v{i}": change.forward[k] for i, k in enumerate(keys)}
        params["b_user_id"] = loaded.user_id
        _execute(conn, _forward_statement(table, keys), params)
    return True


def advance_anchored(conn: Connection, table: Table, user_id: int, session_id: str,
                     position: str, last_seen: str) -> bool:
    """A heartbeat in one round trip: move position and last-seen forward if the user's
    session is still `session_id` (its rows exist). False when nothing matched (no such
    session, or no rows yet): the caller then takes the read-first path."""
    result = _execute(conn, _anchored_statement(table),
                      {"b_user_id": user_id, "sid": session_id, "v0": position,
                       "v1": last_seen})
    return result.rowcount > 0


class UserMetaStore(Generic[S]):
    """Per-user serialised transactions in one namespace of one usermeta table."""

    def __init__(self, engine: Engine, prefix: str, ref_keys: Sequence[str] = (),
                 namespace: Namespace[S] = AUTOWEBINAR) -> None:  # type: ignore[assignment]
        self.engine = engine
        self.table = usermeta_table(prefix)
        self.ref_keys = tuple(ref_keys)
        self.namespace = namespace
        self.is_mysql = engine.dialect.name in ("mysql", "mariadb")
        # The optimistic path's SQL (REGEXP, row locks re-read) is MySQL/MariaDB's; the
        # embedded SQLite file serialises every write with BEGIN IMMEDIATE instead.
        self.optimistic = self.is_mysql
        # GET_LOCK names are server-wide (max 64 chars): scope them to database + table, and
        # to the namespace, so a live registration never waits for a heartbeat's lock.
        scope = f"{engine.url.database}:{self.table.name}".encode()
        self._lock_prefix = (f"{namespace.lock_tag}:"
                             + hashlib.sha1(scope).hexdigest()[:16] + ":")  # noqa: S324

    def lock_name(self, user_id: int) -> str:
        return f"{self._lock_prefix}{user_id}"

    @contextmanager
    def transaction(self, user_id: int) -> Iterator[Connection]:
        """A transaction during which no other process can change this user's state.

        MySQL/MariaDB: a named lock, `GET_LOCK('<tag>:<db+table>:<user_id>')`, taken
        before the first read. Why not `SELECT ... FOR UPDATE`: usermeta has no unique key
        on (user_id, meta_key), so a locking read of a user with no autowebinar rows yet
        takes only gap locks, which InnoDB grants to two transactions at once; both then
        INSERT and one dies in a deadlock (or, with the `user_id` index, the locking read
        also locks the user's other WordPress rows such as capabilities, and neighbouring
        gaps). A named lock serialises exactly one user's AutoWebinar writes, touches no
        WordPress row, and cannot deadlock with WordPress's own queries. It is taken before
        the transaction starts, so its snapshot is created after the previous holder
        committed. Released after COMMIT; the server also drops it if the connection dies.
        The engine runs in autocommit, so the transaction is opened and ended here. The tag
        is the namespace's (`autowebinar`, `livewebinar`): each module serialises only its
        own writes, which touch disjoint rows.

        SQLite (embedded): BEGIN IMMEDIATE takes the database write lock up front.
        """
        with self.engine.connect() as conn:
            if not self.is_mysql:
                with conn.begin():  # BEGIN IMMEDIATE, see db.py
                    yield conn
                return
            name = self.lock_name(user_id)
            got = _execute(conn, _GET_LOCK, {"name": name, "timeout": LOCK_TIMEOUT_SEC}).scalar()
            if got != 1:
                raise ServiceUnavailable("This viewer's state is busy; try again.")
            try:
                _execute(conn, _START, {})
                yield conn
                _execute(conn, _COMMIT, {})
            except BaseException:
                if not conn.invalidated:
                    _execute(conn, _ROLLBACK, {})
                raise
            finally:
                self._release(conn, name)

    def _release(self, conn: Connection, name: str) -> None:
        """RELEASE_LOCK after the COMMIT (or ROLLBACK), as one more autocommit statement.

        Sent on the DBAPI cursor: through `conn.execute` SQLAlchemy would track it as part of
        a transaction it then ends at check-in. Should the DBAPI call fail, the statement is
        re-sent through SQLAlchemy, which classifies the error (503 for a lost database) and
        invalidates a dead connection as for any other statement.
        """
        if conn.invalidated:
            return  # the connection died: the server released the lock with it
        proxied = conn.connection
        try:
            cursor = proxied.cursor()
            try:
                cursor.execute(_RELEASE_LOCK_DBAPI, (name,))
            finally:
                cursor.close()
        except self.engine.dialect.loaded_dbapi.Error:
            conn.execute(_RELEASE_LOCK, {"name": name})

    def load(self, conn: Connection, user_id: int) -> Loaded[S]:
        return load(conn, self.table, user_id, self.ref_keys, self.namespace)

    def save(self, conn: Connection, loaded: Loaded[S], new: S) -> int:
        return save(conn, self.table, loaded, new, self.namespace)

    def apply_plan(self, conn: Connection, loaded: Loaded[S], change: Plan) -> bool:
        return apply_plan(conn, self.table, loaded, change)

    def read(self, user_id: int) -> Loaded[S]:
        """A plain read without the lock (for views that do not write)."""
        with self.engine.connect() as conn:
            return self.load(conn, user_id)
