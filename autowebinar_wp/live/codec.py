"""Typed codec between LiveState and the strings in `meta_value` (as autowebinar_wp.codec).

Writing: the slot id as is, datetimes as WordPress's `YYYY-MM-DD HH:MM:SS` in UTC. Reading is
forgiving: an unreadable value becomes "absent" and a warning, never an exception; a slot id
that cannot be one (hand-edited garbage) reads as "not registered".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from autowebinar_wp.codec import decode_datetime, encode_datetime
from autowebinar_wp.live.schedule import SLOT_ID_RE
from autowebinar_wp.live.state import META_KEYS, LiveState

log = logging.getLogger(__name__)


def _warn(user_id: int | None, key: str, raw: str) -> None:
    log.warning("unreadable usermeta value, treated as absent",
                extra={"user_id": user_id, "meta_key": key, "raw_value": raw[:40]})


def _slot_id(raw: str | None, user_id: int | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not SLOT_ID_RE.match(text):
        _warn(user_id, META_KEYS["slot_id"], raw)
        return None
    return text


def _datetime(raw: str | None, key: str, user_id: int | None) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        return decode_datetime(raw)
    except ValueError:
        _warn(user_id, key, raw)
        return None


def decode_live(raw: Mapping[str, str | None], user_id: int | None = None) -> LiveState:
    """A LiveState from {meta_key: meta_value}; absent or unreadable keys are None."""
    k = META_KEYS
    slot_id = _slot_id(raw.get(k["slot_id"]), user_id)
    if slot_id is None:
        return LiveState()
    return LiveState(
        slot_id=slot_id,
        slot_starts_at=_datetime(raw.get(k["slot_starts_at"]), k["slot_starts_at"], user_id),
        registered_at=_datetime(raw.get(k["registered_at"]), k["registered_at"], user_id),
        joined_at=_datetime(raw.get(k["joined_at"]), k["joined_at"], user_id),
    )


def encode_live(state: LiveState) -> dict[str, str]:
    """{meta_key: meta_value} for the keys the state defines; nothing when not registered."""
    if state.slot_id is None:
        return {}
    k = META_KEYS
    out = {k["slot_id"]: state.slot_id}
    for name, value in (("slot_starts_at", state.slot_starts_at),
                        ("registered_at", state.registered_at),
                        ("joined_at", state.joined_at)):
        if value is not None:
            out[k[name]] = encode_datetime(value)
    return out
