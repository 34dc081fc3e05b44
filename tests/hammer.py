"""Worker used by the concurrency tests: read-modify-write increments under the store lock."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from datetime import UTC, datetime

from autowebinar_wp.db import make_engine
from autowebinar_wp.state import State
from autowebinar_wp.store import UserMetaStore

SESSION = str(uuid.UUID(int=1))


def increment(store: UserMetaStore, user_id: int, times: int, errors: list[str]) -> None:
    """Each step adds 1 to the position; a lost update shows as a smaller final value."""
    seen = -1
    for _ in range(times):
        with store.transaction(user_id) as conn:
            loaded = store.load(conn, user_id)
            old = loaded.state
            if old.last_position_sec < seen:
                errors.append(f"position moved backwards: {old.last_position_sec} < {seen}")
            now = datetime.now(UTC).replace(microsecond=0)
            if old.session_id is None:
                new = State(SESSION, now, 1, 0, False, None, now)
            else:
                new = dataclasses.replace(old, last_position_sec=old.last_position_sec + 1,
                                          last_seen_at=now)
            store.save(conn, loaded, new)
            seen = new.last_position_sec


def run_threads(url: str, prefix: str, user_id: int, threads: int, times: int) -> list[str]:
    engine = make_engine(url, pool_size=threads)
    store = UserMetaStore(engine, prefix)
    errors: list[str] = []
    workers = [
        threading.Thread(target=_guarded, args=(store, user_id, times, errors))
        for _ in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    engine.dispose()
    return errors


def _guarded(store: UserMetaStore, user_id: int, times: int, errors: list[str]) -> None:
    try:
        increment(store, user_id, times, errors)
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        errors.append(f"{type(exc).__name__}: {exc}")
