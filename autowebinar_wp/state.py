"""The per-user AutoWebinar state: exactly the spec's seven usermeta keys, typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

META_PREFIX = "autowebinar_"
MILESTONES = (25, 50, 75, 100)


@dataclass(frozen=True, slots=True)
class State:
    """What we keep for one WordPress user; None means "the key is absent"."""

    session_id: str | None = None
    started_at: datetime | None = None
    last_position_sec: int = 0
    progress_percent: int = 0
    completed: bool = False
    cta_clicked_at: datetime | None = None
    last_seen_at: datetime | None = None

    @property
    def has_session(self) -> bool:
        return self.session_id is not None


# Field name -> meta_key; the order is the spec's table order.
META_KEYS: dict[str, str] = {
    name: META_PREFIX + name
    for name in (
        "session_id",
        "started_at",
        "last_position_sec",
        "progress_percent",
        "completed",
        "cta_clicked_at",
        "last_seen_at",
    )
}
WRITABLE_KEYS: frozenset[str] = frozenset(META_KEYS.values())
