"""The admin queries as they were before the snapshot (kept to measure before/after).

The previous implementation of autowebinar_wp/admin.py, trimmed to its SQL: the funnel as
one per-user pivot over the `meta_key` index, a page as a sort over the sort key's rows
(plus a count), an export batch by keyset. bench/admin_scale.py times it beside the
current code in the same run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Select,
    Table,
    and_,
    case,
    distinct,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
)

from autowebinar_wp.codec import MAX_POSITION_SEC
from autowebinar_wp.reports import progress_rows, short
from autowebinar_wp.state import META_KEYS, MILESTONES

K = META_KEYS
FUNNEL_KEYS = tuple(K[name] for name in ("session_id", "started_at", "last_seen_at",
                                          "progress_percent", "completed", "cta_clicked_at"))
SORTS: dict[str, str | None] = {
    "last_seen": K["last_seen_at"],
    "started": K["started_at"],
    "progress": K["progress_percent"],
    "position": K["last_position_sec"],
    "user_id": None,
}
DATETIME_SORTS = ("last_seen", "started")
DATETIME_SHAPE = "____-__-__ __:__:__"
MYSQL = ("mysql", "mariadb")


def _datetime(table: Table) -> ColumnElement[Any]:
    """The value if it is shaped like a WordPress datetime, else NULL (as codec reads it)."""
    trimmed = func.trim(table.c.meta_value)
    # as a BINARY(19) on MySQL/MariaDB: MIN/MAX of LONGTEXT in a GROUP BY would put a BLOB
    # column in the temporary table, which MariaDB keeps on disk (reports.short)
    return short(case((trimmed.like(DATETIME_SHAPE), trimmed), else_=null()))


def _number(table: Table) -> ColumnElement[Any]:
    """`meta_value + 0`: both MySQL and SQLite read the leading number, 0 for garbage."""
    return type_coerce(table.c.meta_value, Float()) + literal_column("0")


def _is_session_row(table: Table) -> ColumnElement[bool]:
    return and_(table.c.meta_key == K["session_id"], func.trim(table.c.meta_value) != "")


def _force_meta_key_index(stmt: Select[Any], table: Table) -> Select[Any]:
    for dialect in MYSQL:
        stmt = stmt.with_hint(table, "FORCE INDEX (meta_key)", dialect_name=dialect)
    return stmt


def funnel_statement(table: Table) -> Select[Any]:
    key = table.c.meta_key
    trimmed = func.trim(table.c.meta_value)
    dt, number = _datetime(table), _number(table)
    per_user = _force_meta_key_index(
        select(
            table.c.user_id,
            func.max(case((_is_session_row(table), 1), else_=0)).label("has_session"),
            func.min(case((key == K["started_at"], dt))).label("started"),
            func.max(case((key == K["last_seen_at"], dt))).label("last_seen"),
            func.max(case(
                (and_(key == K["progress_percent"], number.between(0, MAX_POSITION_SEC)), number),
                else_=0,
            )).label("progress"),
            func.max(case(
                (and_(key == K["completed"], func.lower(trimmed).in_(("1", "true"))), 1),
                else_=0,
            )).label("completed"),
            func.max(case(
                (and_(key == K["cta_clicked_at"], dt.is_not(None)), 1), else_=0,
            )).label("cta"),
        )
        .where(key.in_(FUNNEL_KEYS))
        .group_by(table.c.user_id),
        table,
    ).subquery("per_user")
    u = per_user.c
    joined = and_(u.last_seen.is_not(None), or_(u.started.is_(None), u.last_seen >= u.started))

    def total(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return select(
        func.count().label("sessions"),
        total(joined).label("joined"),
        *(total(u.progress >= m).label(f"reached_{m}") for m in MILESTONES),
        total(u.completed == 1).label("completed"),
        total(u.cta == 1).label("cta_clicks"),
    ).where(u.has_session == 1)


def funnel(conn: Connection, table: Table) -> tuple[int, ...]:
    """sessions, joined, reached 25/50/75/100, completed, CTA clicks."""
    return tuple(int(value or 0) for value in conn.execute(funnel_statement(table)).one())


def count_sessions(conn: Connection, table: Table) -> int:
    """Users with a session, each once (the funnel's `sessions`, the table's total)."""
    count = conn.execute(
        select(func.count(distinct(table.c.user_id))).where(_is_session_row(table))
    ).scalar_one()
    return int(count)


def page_statement(table: Table, sort: str, descending: bool, limit: int,
                   offset: int) -> Select[Any]:
    """The user ids of one page, in order; ties broken by user id in the same direction.

    Value sorts: one range over the session and the sort key's rows, grouped per user. A
    user without the key sorts as NULL: first ascending, last descending, on MySQL and
    SQLite. The user-id sort walks the `user_id` index and stops after the page.
    """
    key = SORTS[sort]
    uid = table.c.user_id
    if key is None:
        stmt = select(uid).where(_is_session_row(table)).group_by(uid)
        return stmt.order_by(uid.desc() if descending else uid).limit(limit).offset(offset)
    value = _datetime(table) if sort in DATETIME_SORTS else _number(table)
    member = func.max(case((_is_session_row(table), 1), else_=0))
    sort_value = func.max(case((table.c.meta_key == key, value)))
    stmt = _force_meta_key_index(
        select(uid)
        .where(table.c.meta_key.in_((K["session_id"], key)))
        .group_by(uid)
        .having(member == 1),
        table,
    )
    order = (sort_value.desc(), uid.desc()) if descending else (sort_value.asc(), uid.asc())
    return stmt.order_by(*order).limit(limit).offset(offset)


def progress_page(conn: Connection, table: Table, *, page: int = 1, per_page: int = 50,
                  sort: str = "last_seen", descending: bool = True) -> tuple[list[Any], int]:
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    if not 1 <= per_page <= 200 or page < 1:
        raise ValueError("page must be >= 1 and per_page within 1..200")
    statement = page_statement(table, sort, descending, per_page, (page - 1) * per_page)
    mysql = conn.dialect.name in MYSQL
    if mysql and SORTS[sort] is not None:
        # A value sort groups and sorts every member before the LIMIT anyway, so the server
        # can count them in the same pass (WordPress's WP_Query does the same): one scan
        # fewer than COUNT(DISTINCT ...), about a third of the page's time at 100k users.
        statement = statement.prefix_with("SQL_CALC_FOUND_ROWS")
    ids = [int(uid) for uid in conn.execute(statement).scalars()]
    if mysql and SORTS[sort] is not None:
        total = int(conn.exec_driver_sql("SELECT FOUND_ROWS()").scalar_one())
    else:
        total = count_sessions(conn, table)
    return progress_rows(conn, table, ids), total


def export_batch(conn: Connection, table: Table, after_user_id: int, size: int) -> list[Any]:
    """The next `size` users with a session whose id is above `after_user_id` (keyset)."""
    uid = table.c.user_id
    ids = [int(i) for i in conn.execute(
        select(uid).where(_is_session_row(table), uid > after_user_id)
        .group_by(uid).order_by(uid).limit(size)
    ).scalars()]
    return progress_rows(conn, table, ids)
