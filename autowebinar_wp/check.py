"""`autowebinar-wp check`: a read-only diagnosis of configuration, database and privileges.

Nothing here writes. Privileges are verified with EXPLAIN of the exact INSERT and UPDATE
we issue: MariaDB/MySQL check the privilege for EXPLAIN without executing the statement,
so the answer is right whatever the grant path (global, schema, table or role).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Config
from sqlalchemy import Connection, Engine, Table, distinct, func, inspect, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from autowebinar_wp.config import load_config, normalise_and_validate
from autowebinar_wp.db import embedded_url, make_engine
from autowebinar_wp.errors import ConfigError
from autowebinar_wp.live.settings import SCHEDULE, schedule_of
from autowebinar_wp.live.store import LIVE
from autowebinar_wp.store import AUTOWEBINAR, usermeta_table

OK, WARN, FAIL = "ok", "warn", "FAIL"
WP_COLUMNS = {"umeta_id", "user_id", "meta_key", "meta_value"}


@dataclass
class Finding:
    level: str
    what: str
    detail: str = ""

    def line(self) -> str:
        mark = {OK: "[ ok ]", WARN: "[warn]", FAIL: "[FAIL]"}[self.level]
        return f"{mark} {self.what}" + (f": {self.detail}" if self.detail else "")


def run_check(config_file: str | None = None, instance_path: str | None = None) -> list[Finding]:
    findings: list[Finding] = []
    config = Config(str(Path.cwd()))
    instance = instance_path or os.environ.get("AUTOWEBINAR_INSTANCE_PATH") or "instance"
    try:
        load_config(config, config_file)
        normalise_and_validate(config, instance)
        findings.append(Finding(OK, "configuration is valid"))
        findings.extend(check_live(config, datetime.now(UTC)))
    except ConfigError as exc:
        for problem in exc.problems:
            findings.append(Finding(FAIL, "configuration", problem))
        if not config.get("TABLE_PREFIX"):
            return findings

    url = config.get("DATABASE_URL")
    embedded = not url
    if embedded:
        path = Path(instance) / "autowebinar.sqlite3"
        if not path.exists():
            findings.append(
                Finding(WARN, "embedded SQLite database", f"{path} does not exist yet; "
                        "`autowebinar-wp demo` or `serve` creates it")
            )
            return findings
        url = embedded_url(instance)
        findings.append(Finding(OK, "embedded mode (no DATABASE_URL)", str(path)))
    try:
        engine = make_engine(str(url), pool_size=1)
    except ConfigError as exc:
        findings.extend(Finding(FAIL, "database URL", p) for p in exc.problems)
        return findings
    try:
        findings.extend(_check_database(engine, str(config.get("TABLE_PREFIX", "wp_"))))
    finally:
        engine.dispose()
    return findings


def _check_database(engine: Engine, prefix: str) -> list[Finding]:
    findings: list[Finding] = []
    table = usermeta_table(prefix)
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        return [Finding(FAIL, "connect to the database", reason)]
    with conn:
        version = _server_version(conn, engine)
        findings.append(Finding(OK, "connected", version))
        if not inspect(conn).has_table(table.name):
            findings.append(
                Finding(FAIL, f"table {table.name}", "not found: is TABLE_PREFIX right? "
                        "(WordPress's $table_prefix in wp-config.php; "
                        "on multisite the base prefix)")
            )
            return findings
        columns = {c["name"] for c in inspect(conn).get_columns(table.name)}
        if not columns >= WP_COLUMNS:
            findings.append(
                Finding(FAIL, f"table {table.name}",
                        f"missing WordPress columns: {sorted(WP_COLUMNS - columns)}")
            )
            return findings
        findings.append(Finding(OK, f"table {table.name}", "has WordPress's usermeta columns"))
        indexed = {tuple(ix["column_names"])[:1] for ix in inspect(conn).get_indexes(table.name)}
        names = {ix["name"] for ix in inspect(conn).get_indexes(table.name)}
        missing = {c for c in ("user_id", "meta_key") if (c,) not in indexed}
        if engine.dialect.name in ("mysql", "mariadb"):  # FORCE INDEX (user_id) needs the name
            missing |= {"user_id"} - names
        if missing:
            findings.append(Finding(
                FAIL, f"indexes on {table.name}",
                f"WordPress's index(es) {sorted(missing)} not found; the per-user reads and "
                "the admin queries need KEY user_id and KEY meta_key(191)"))
        else:
            findings.append(Finding(OK, f"indexes on {table.name}", "user_id, meta_key"))
        if engine.dialect.name in ("mysql", "mariadb"):
            findings.extend(_check_privileges(conn, table.name))
        findings.extend(_count_rows(conn, table))
    return findings


def _server_version(conn: Connection, engine: Engine) -> str:
    if engine.dialect.name in ("mysql", "mariadb"):
        return "server " + str(conn.execute(text("SELECT VERSION()")).scalar())
    return "SQLite " + str(conn.execute(text("SELECT sqlite_version()")).scalar())


def _check_privileges(conn: Connection, name: str) -> list[Finding]:
    probes = {
        "SELECT": f"EXPLAIN SELECT meta_value FROM `{name}` WHERE user_id = 0",  # noqa: S608
        "INSERT": (
            f"EXPLAIN INSERT INTO `{name}` (user_id, meta_key, meta_value) "  # noqa: S608
            "VALUES (0, 'autowebinar_check', '0')"
        ),
        "UPDATE": (
            f"EXPLAIN UPDATE `{name}` SET meta_value = '0' "  # noqa: S608
            "WHERE user_id = 0 AND meta_key = 'autowebinar_check'"
        ),
    }
    findings = []
    for privilege, sql in probes.items():
        try:
            conn.execute(text(sql)).all()
        except DBAPIError as exc:
            reason = str(exc.orig).strip("()")
            findings.append(Finding(FAIL, f"{privilege} privilege on {name}", reason))
            conn.rollback()
        else:
            findings.append(Finding(OK, f"{privilege} privilege on {name}"))
    try:
        got = conn.execute(text("SELECT IS_FREE_LOCK('autowebinar:check')")).scalar()
        level = OK if got is not None else WARN
        findings.append(Finding(level, "named locks (GET_LOCK) available"))
    except DBAPIError as exc:
        findings.append(Finding(FAIL, "named locks (GET_LOCK)", str(exc.orig)))
    return findings


def _count_rows(conn: Connection, t: Table) -> list[Finding]:
    """Row counts, duplicates and unknown keys in each of our two namespaces."""
    findings = []
    for namespace, what, first_key in ((AUTOWEBINAR, "users with a session", "session_id"),
                                       (LIVE, "users registered for a live slot", "slot_id")):
        prefix, keys = namespace.prefix, sorted(namespace.keys)
        name = prefix.rstrip("_")
        ours = t.c.meta_key.like(prefix.replace("_", "!_") + "%", escape="!")
        rows = conn.execute(select(func.count()).where(ours)).scalar()
        users = conn.execute(select(func.count(distinct(t.c.user_id))).where(
            t.c.meta_key == prefix + first_key, t.c.meta_value != "")).scalar()
        dup_groups = (
            select(t.c.user_id, t.c.meta_key)
            .where(t.c.meta_key.in_(keys))
            .group_by(t.c.user_id, t.c.meta_key)
            .having(func.count() > 1)
            .subquery()
        )
        dups = conn.execute(select(func.count()).select_from(dup_groups)).scalar()
        unknown = conn.execute(select(func.count()).where(ours, t.c.meta_key.not_in(keys))).scalar()
        findings.append(Finding(OK, f"{name} rows", f"{rows} rows, {users} {what}"))
        if dups:
            findings.append(
                Finding(WARN, f"duplicate {name} rows",
                        f"{dups} (user, key) pairs have more than one row; every write keeps "
                        "the copies equal, as WordPress's update_user_meta() does")
            )
        if unknown:
            findings.append(
                Finding(WARN, f"unknown {prefix}* keys",
                        f"{unknown} rows use {prefix}* keys this version does not know")
            )
    return findings


def check_live(config: Config, now: datetime) -> list[Finding]:
    """The live schedule as configured: on or off, how many slots, the next one."""
    if SCHEDULE not in config:
        return []  # the configuration did not load; its problems are listed already
    schedule = schedule_of(config)
    if not config.get("LIVE_ENABLED"):
        detail = ("off (LIVE_ENABLED)" if schedule.has_slots
                  else "off: no [live] slots or schedules configured")
        return [Finding(OK, "live webinars", detail)]
    upcoming = schedule.upcoming(now, 1)
    detail = (f"{len(schedule.one_off)} one-off slot(s), {len(schedule.recurring)} recurring "
              f"rule(s) in {schedule.timezone}; next: "
              + (f"{upcoming[0].id} at {upcoming[0].starts_at:%Y-%m-%d %H:%M} UTC" if upcoming
                 else "none"))
    findings = [Finding(OK if upcoming else WARN, "live webinars", detail)]
    if not config.get("LIVE_LINK_SECRET"):
        findings.append(Finding(WARN, "live tracking links",
                                "LIVE_LINK_SECRET is not set: /l/o and /l/c refuse every link"))
    return findings
