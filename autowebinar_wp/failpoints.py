"""Fault injection for the crash tests: inert unless AUTOWEBINAR_FAILPOINT names a point.

`AUTOWEBINAR_FAILPOINT=after_commit` makes the process kill itself with SIGKILL right after a
usermeta COMMIT and before the deliveries are enqueued - the exact window the outbox's
journal must survive. Read once at import; costs one comparison otherwise.
"""

from __future__ import annotations

import os
import signal

ACTIVE = os.environ.get("AUTOWEBINAR_FAILPOINT", "")


def hit(name: str) -> None:
    if name == ACTIVE:
        os.kill(os.getpid(), signal.SIGKILL)
