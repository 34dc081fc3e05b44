"""What "nothing lost, nothing corrupted" means in usermeta, checked after every fault test.

* Outside our namespaces nothing changed (a checksum of every other row).
* Inside them: exactly one row per (user, key), and every value reads back exactly:
  decoding it with the service's codec and encoding it again gives the same string (the
  codec's reader is forgiving, so a garbled value would come back different).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, text

from autowebinar_wp.live.store import LIVE
from autowebinar_wp.store import AUTOWEBINAR, Namespace

NAMESPACES: tuple[Namespace[Any], ...] = (AUTOWEBINAR, LIVE)


_OURS = ("(meta_key LIKE 'autowebinar!_%' ESCAPE '!' "
         "OR meta_key LIKE 'livewebinar!_%' ESCAPE '!')")


def _users(user_ids: Iterable[int] | None) -> str:
    """A filter on the users a test drove (the shared test table also holds rows that other
    tests made duplicated or garbled on purpose); None: the whole table."""
    if user_ids is None:
        return ""
    ids = sorted({int(u) for u in user_ids})
    return f" AND user_id IN ({','.join(map(str, ids))})" if ids else " AND FALSE"


def duplicates(engine: Engine, table: str = "wp_usermeta",
               user_ids: Iterable[int] | None = None) -> list[tuple[int, str, int]]:
    """(user, key, copies) for every namespace key stored more than once."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(  # type: ignore[misc]
            f"SELECT user_id, meta_key, COUNT(*) FROM {table} "  # noqa: S608
            f"WHERE {_OURS}{_users(user_ids)} "
            "GROUP BY user_id, meta_key HAVING COUNT(*) > 1"))]


def malformed(engine: Engine, table: str = "wp_usermeta",
              user_ids: Iterable[int] | None = None) -> list[str]:
    """Every namespace value that does not survive decode -> encode unchanged, or a key that
    is not one of the namespace's (the seeded `autowebinarx_*` look-alike is not ours)."""
    problems: list[str] = []
    with engine.connect() as conn:
        rows = conn.execute(text(
            f"SELECT user_id, meta_key, meta_value FROM {table} "  # noqa: S608
            f"WHERE {_OURS}{_users(user_ids)} ORDER BY umeta_id")).all()
    by_user: dict[tuple[str, int], dict[str, str | None]] = {}
    for user_id, key, value in rows:
        space = next((n for n in NAMESPACES if key.startswith(n.prefix)), None)
        if space is None:
            continue
        if key not in space.writable:
            problems.append(f"user {user_id}: unknown key {key}")
            continue
        by_user.setdefault((space.prefix, int(user_id)), {})[key] = value
    for (prefix, user_id), raw in by_user.items():
        space = next(n for n in NAMESPACES if n.prefix == prefix)
        again = space.encode(space.decode(raw, user_id))
        for key, value in raw.items():
            if value == "" and key in space.clearable:
                continue  # a cleared key, written as '' (store.py never DELETEs)
            if again.get(key) != value:
                problems.append(f"user {user_id}: {key}={value!r} reads back as "
                                f"{again.get(key)!r}")
    return problems


def assert_well_formed(engine: Engine, user_ids: Iterable[int] | None = None,
                       table: str = "wp_usermeta") -> None:
    doubled = duplicates(engine, table, user_ids)
    assert not doubled, f"duplicate namespace rows: {doubled[:10]}"
    broken = malformed(engine, table, user_ids)
    assert not broken, f"malformed namespace values: {broken[:10]}"
