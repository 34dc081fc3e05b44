"""One user's live registration: exactly the four `livewebinar_*` usermeta keys (DESIGN §7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

META_PREFIX = "livewebinar_"


@dataclass(frozen=True, slots=True)
class LiveState:
    """The current registration; None means "the key is absent (or empty)"."""

    slot_id: str | None = None
    slot_starts_at: datetime | None = None
    registered_at: datetime | None = None
    joined_at: datetime | None = None  # first entry into the open room for this slot

    @property
    def registered(self) -> bool:
        return self.slot_id is not None


# Field name -> meta_key, in DESIGN §7's table order.
META_KEYS: dict[str, str] = {
    name: META_PREFIX + name
    for name in ("slot_id", "slot_starts_at", "registered_at", "joined_at")
}
WRITABLE_KEYS: frozenset[str] = frozenset(META_KEYS.values())
# Keys a save may have to empty: the store never DELETEs, so a registration for another slot
# writes '' to joined_at (WordPress reads '' and a missing row alike: get_user_meta() == '').
CLEARABLE_KEYS: frozenset[str] = frozenset({META_KEYS["joined_at"]})
