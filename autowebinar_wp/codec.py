"""Typed codec between `State` and WordPress's string encodings in `meta_value`.

WordPress stores scalars as PHP would print them (WORDPRESS_FACTS.md §iii): ints as decimal
strings, `true` as "1", datetimes as "YYYY-MM-DD HH:MM:SS" (WordPress's own MySQL format,
UTC here). Reading is forgiving: a hand-edited or corrupted value becomes a safe default
and a warning in the log, never an exception, because one bad row must not lock a user out.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from autowebinar_wp.state import META_KEYS, MILESTONES, State

log = logging.getLogger(__name__)

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_DATETIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
MAX_POSITION_SEC = 10 * 24 * 3600  # far beyond any recording; guards against absurd values
MAX_SESSION_ID_LEN = 64


def encode_int(value: int) -> str:
    return str(int(value))


def encode_bool(value: bool) -> str:
    return "1" if value else "0"


def encode_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
    return value.astimezone(UTC).strftime(DATETIME_FORMAT)


def decode_datetime(raw: str) -> datetime:
    """WordPress's 'YYYY-MM-DD HH:MM:SS' (UTC); ValueError for anything else.

    The shape is checked first, then `fromisoformat` (C) parses it: strptime cost more than
    the rest of decoding a user's state, on every heartbeat.
    """
    text = raw.strip()
    if not _DATETIME_RE.fullmatch(text):
        raise ValueError(f"not a WordPress datetime: {raw[:40]!r}")
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _warn(user_id: int | None, key: str, raw: str, used: object) -> None:
    log.warning(
        "unreadable usermeta value, using a safe default",
        extra={"user_id": user_id, "meta_key": key, "raw_value": raw[:40], "used": used},
    )


def _int(raw: str | None, key: str, user_id: int | None) -> int:
    if raw is None or raw == "":
        return 0
    text = raw.strip()
    try:
        value = int(text)
    except ValueError:
        # "12.0" or "12.7" (a float written by hand or by a PHP plugin) -> 12
        try:
            number = float(text)
        except ValueError:
            _warn(user_id, key, raw, 0)
            return 0
        if not math.isfinite(number):
            _warn(user_id, key, raw, 0)
            return 0
        value = int(number)
    if value < 0 or value > MAX_POSITION_SEC:
        _warn(user_id, key, raw, 0)
        return 0
    return value


def _progress(raw: str | None, user_id: int | None) -> int:
    key = META_KEYS["progress_percent"]
    value = _int(raw, key, user_id)
    reached = [m for m in MILESTONES if m <= value]
    result = reached[-1] if reached else 0
    if value != result:
        _warn(user_id, key, raw or "", result)
    return result


def _bool(raw: str | None, key: str, user_id: int | None) -> bool:
    if raw is None:
        return False
    text = raw.strip().lower()
    if text in ("1", "true"):
        return True
    if text in ("", "0", "false"):
        return False
    _warn(user_id, key, raw, False)
    return False


def _datetime(raw: str | None, key: str, user_id: int | None) -> datetime | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return decode_datetime(raw)
    except ValueError:
        _warn(user_id, key, raw, None)
        return None


def _session_id(raw: str | None, user_id: int | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    if len(text) > MAX_SESSION_ID_LEN:
        # Keep an over-long id readable but bounded; it is only ever used as an identifier.
        _warn(user_id, META_KEYS["session_id"], raw, text[:MAX_SESSION_ID_LEN])
        return text[:MAX_SESSION_ID_LEN]
    return text


def decode_state(raw: Mapping[str, str | None], user_id: int | None = None) -> State:
    """Build a State from {meta_key: meta_value}; absent keys take their defaults."""
    k = META_KEYS
    completed = _bool(raw.get(k["completed"]), k["completed"], user_id)
    progress = _progress(raw.get(k["progress_percent"]), user_id)
    return State(
        session_id=_session_id(raw.get(k["session_id"]), user_id),
        started_at=_datetime(raw.get(k["started_at"]), k["started_at"], user_id),
        last_position_sec=_int(raw.get(k["last_position_sec"]), k["last_position_sec"], user_id),
        progress_percent=progress,
        completed=completed,
        cta_clicked_at=_datetime(raw.get(k["cta_clicked_at"]), k["cta_clicked_at"], user_id),
        last_seen_at=_datetime(raw.get(k["last_seen_at"]), k["last_seen_at"], user_id),
    )


def encode_state(state: State) -> dict[str, str]:
    """{meta_key: meta_value} for every key the state defines; None fields are omitted.

    A user without a session has nothing to store, so an empty State encodes to {}.
    """
    if state.session_id is None:
        return {}
    k = META_KEYS
    out: dict[str, str] = {
        k["session_id"]: state.session_id,
        k["last_position_sec"]: encode_int(state.last_position_sec),
        k["progress_percent"]: encode_int(state.progress_percent),
        k["completed"]: encode_bool(state.completed),
    }
    if state.started_at is not None:
        out[k["started_at"]] = encode_datetime(state.started_at)
    if state.cta_clicked_at is not None:
        out[k["cta_clicked_at"]] = encode_datetime(state.cta_clicked_at)
    if state.last_seen_at is not None:
        out[k["last_seen_at"]] = encode_datetime(state.last_seen_at)
    return out
