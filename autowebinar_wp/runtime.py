"""Per-app runtime seams: the clock, new ids, the session config, the event sink.

Kept in `app.extensions` so tests can travel in time and capture events without patching.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app

from autowebinar_wp.session import SessionConfig

Clock = Callable[[], datetime]
EventSink = Callable[[int, Sequence[Any], dict[str, str]], None]


def system_clock() -> datetime:
    return datetime.now(UTC)


def new_session_id() -> str:
    return str(uuid.uuid4())


def init_app(app: Flask) -> None:
    c = app.config
    app.extensions["autowebinar.clock"] = system_clock
    app.extensions["autowebinar.new_id"] = new_session_id
    app.extensions["autowebinar.session_config"] = SessionConfig(
        duration_sec=c["VIDEO_DURATION_SEC"],
        start_delay_sec=c["START_DELAY_SEC"],
        cta_at_sec=c["CTA_AT_SEC"],
        slack_sec=c["POSITION_SLACK_SEC"],
        heartbeat_sec=c["HEARTBEAT_SEC"],
    )


def now(app: Flask | None = None) -> datetime:
    clock: Clock = (app or current_app).extensions["autowebinar.clock"]
    return clock()


def new_id(app: Flask | None = None) -> str:
    make: Callable[[], str] = (app or current_app).extensions["autowebinar.new_id"]
    return make()


def session_config(app: Flask | None = None) -> SessionConfig:
    config: SessionConfig = (app or current_app).extensions["autowebinar.session_config"]
    return config
