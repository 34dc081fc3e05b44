"""What the live module has signalled, per slot: counts for the admin and first-time checks.

There is no event log (the spec forbids histories in usermeta, and no table may be added to
the WordPress database). Opens and clicks change no state at all, and a registration that
was later switched to another slot leaves nothing behind, so "how many signals were sent
per slot" cannot be derived from usermeta. It is kept where the queue lives - the service's
own instance store (the SQLite file in the instance folder, or Redis with QUEUE_URL) - as
one small marker per event id, under its own queue name so the outbox's sweeps never scan it:

    key   lw:<slot id or ->:<event name>:<event id>     value  b"1"

* `first(payload)` puts the marker atomically (`put_if_empty`: INSERT OR ABORT in SQLite,
  HSETNX in Redis), so across processes exactly one caller learns an event is new. The pixel
  and the click use that to signal once per (user, notification); state events use it only
  to count.
* `counts()` groups the markers by slot and event (an admin request; it reads every marker).

The markers are a monitoring aid, not the source of truth (the CRM has the events): deleting
the instance store resets the counts, and a process killed between a registration's COMMIT
and its marker leaves that one registration uncounted (the outbox still sends it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from huey.storage import BaseStorage

PREFIX = "lw:"
NO_SLOT = "-"


def marker(payload: Mapping[str, Any]) -> str:
    return f"{PREFIX}{payload.get('slot_id') or NO_SLOT}:{payload['event']}:{payload['event_id']}"


class SignalLedger:
    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage

    def first(self, payload: Mapping[str, Any]) -> bool:
        """Record the event; True only for the first caller ever to record this event id."""
        return bool(self.storage.put_if_empty(marker(payload), b"1"))

    def counts(self) -> dict[str | None, Counter[str]]:
        """{slot id (None: no slot): Counter({event name: markers})}."""
        found: dict[str | None, Counter[str]] = defaultdict(Counter)
        for key in self.storage.result_items():
            text = key.decode() if isinstance(key, bytes) else str(key)
            if not text.startswith(PREFIX):
                continue
            slot, _sep, rest = text[len(PREFIX):].partition(":")
            event = rest.partition(":")[0]
            found[None if slot == NO_SLOT else slot][event] += 1
        return dict(found)


def open_storage(queue_url: str | None, instance_path: str) -> BaseStorage:
    """The ledger's storage beside the queue's: same file or Redis, its own name."""
    from autowebinar_wp.outbox import make_huey

    return make_huey(queue_url, instance_path, name="autowebinar-live-signals").storage
