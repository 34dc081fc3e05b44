"""Workers for the race tests: many heartbeats of one user at once, through viewing.advance.

A plain module so that spawned processes can import it. Each call builds its own app (its
own engine and pool), as a server worker would, and returns what happened for the test to
check: errors, the event ids its outbox logged, and the positions it reported.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import datetime
from typing import Any

from autowebinar_wp import create_app
from autowebinar_wp.services import services
from autowebinar_wp.session import Anchor, Heartbeat, SessionConfig
from autowebinar_wp.viewing import advance
from tests.support import SECRET

CONFIG = {"EMBED_SECRET": SECRET, "VIDEO_DURATION_SEC": 100, "CTA_AT_SEC": 60,
          "LOCALE": "en", "LOG_LEVEL": "INFO", "WEBHOOK_URLS": []}
SESSION = SessionConfig(duration_sec=100, cta_at_sec=60)


class _Events(logging.Handler):
    """The event ids the outbox logged (emit runs under the handler's own lock)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.ids: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "event":
            self.ids.append(record.event_id)  # type: ignore[attr-defined]


def heartbeats(database_url: str | None, instance: str, user_id: int,
               anchor: tuple[str, int, int], now_iso: str, threads: int, times: int,
               seed: int) -> dict[str, Any]:
    """`threads` threads x `times` heartbeats at random positions, all at `now_iso`."""
    app = create_app({**CONFIG, "DATABASE_URL": database_url}, instance_path=instance)
    svc = services(app)
    now = datetime.fromisoformat(now_iso)
    svc.clock = lambda: now
    events = _Events()
    logger = logging.getLogger("autowebinar_wp.outbox")
    logger.addHandler(events)
    reported: list[float] = []
    errors: list[str] = []
    # All threads read the state at once and cross the milestones in their first heartbeat:
    # without the compare-and-set, several of them would emit the same events.
    start = threading.Barrier(threads)

    def run(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        try:
            with app.app_context():
                start.wait(30)
                for step in range(times):
                    position = round(rng.uniform(60 if step == 0 else 0, 100), 3)
                    reported.append(position)
                    advance(svc, user_id, Heartbeat(position, Anchor(*anchor)))
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            errors.append(f"{type(exc).__name__}: {exc}")

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    logger.removeHandler(events)
    svc.engine.dispose()
    return {"errors": errors, "events": events.ids, "reported": reported}
