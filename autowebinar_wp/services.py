"""The app's services: one typed object in `app.extensions["autowebinar"]`.

`build` creates them in one explicit order (database, session rules, outbox, rate limiter),
so what depends on what is visible in one place. The clock is a seam: tests replace
`Services.clock` and everything that tells time - the session rules, the tokens, the outbox
and the rate limiter - follows, because they all read it through `Services.now`, once per
request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_request_context
from limits.errors import ConfigurationError as LimitsConfigurationError
from sqlalchemy import Engine

from autowebinar_wp.errors import ConfigError
from autowebinar_wp.live.service import Live
from autowebinar_wp.outbox import Outbox
from autowebinar_wp.ratelimit import PerKeyLimiter
from autowebinar_wp.session import SessionConfig
from autowebinar_wp.snapshots import Snapshots
from autowebinar_wp.state import State
from autowebinar_wp.store import UserMetaStore
from autowebinar_wp.tokens import Policy

EXTENSION = "autowebinar"

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


@dataclass(eq=False)
class Services:
    """What a request needs beyond its own input; one per app."""

    session: SessionConfig
    engine: Engine
    store: UserMetaStore[State]
    embedded: bool  # the private SQLite file of the demo, not a WordPress database
    outbox: Outbox
    limiter: PerKeyLimiter
    tokens: Policy
    live: Live  # the live webinars module (DESIGN §7), built even when LIVE_ENABLED is off
    snapshots: Snapshots  # the admin aggregates (reports.py), cached outside WordPress
    clock: Clock = system_clock
    new_id: Callable[[], str] = new_uuid

    def now(self) -> datetime:
        """The current time, read once per request (every part of a request agrees on it)."""
        if not has_request_context():
            return self.clock()
        current: datetime | None = g.get("_autowebinar_now")
        if current is None:
            current = g._autowebinar_now = self.clock()
        return current

    def timestamp(self) -> float:
        return self.now().timestamp()


def build(app: Flask) -> Services:
    """Create the services in dependency order and register them on the app."""
    from autowebinar_wp import db, outbox, ratelimit, snapshots
    from autowebinar_wp.events import event_id
    from autowebinar_wp.live import service as live_service
    from autowebinar_wp.replay import derive

    config = app.config
    engine, store, embedded = db.open_store(config, app.instance_path)
    session = SessionConfig(
        duration_sec=config["VIDEO_DURATION_SEC"],
        start_delay_sec=config["START_DELAY_SEC"],
        cta_at_sec=config["CTA_AT_SEC"],
        slack_sec=config["POSITION_SLACK_SEC"],
    )
    # The outbox and the limiter get the services' clock through this closure, so a clock
    # replaced later (tests) is the one they read.
    holder: list[Services] = []

    def epoch() -> float:
        return holder[0].timestamp()

    box = outbox.from_config(config, app.instance_path, clock=epoch)

    def autowebinar_implied(user_id: int) -> set[str]:
        return {event_id(e) for e in derive(store.read(user_id).state, session)}

    box.reconcilers[outbox.AUTOWEBINAR] = autowebinar_implied
    try:
        limiter = ratelimit.PerKeyLimiter(config["RATELIMIT_STORAGE_URI"], clock=epoch)
    except (ValueError, LimitsConfigurationError) as exc:
        raise ConfigError([f"RATELIMIT_STORAGE_URI: {exc}"]) from exc
    policy = Policy(leeway_sec=config["TOKEN_LEEWAY_SEC"],
                    max_viewing_sec=config["MAX_VIEWING_SEC"],
                    admin_ttl_sec=config["ADMIN_TOKEN_TTL_SEC"])
    live = live_service.build(config, engine, box, app.instance_path)
    admin = snapshots.from_config(config, app.instance_path, engine, store.table,
                                  clock=lambda: holder[0].clock())
    services = Services(session=session, engine=engine, store=store, embedded=embedded,
                        outbox=box, limiter=limiter, tokens=policy, live=live,
                        snapshots=admin)
    holder.append(services)
    app.extensions[EXTENSION] = services
    return services


def services(app: Flask | None = None) -> Services:
    found: Services = (app or current_app).extensions[EXTENSION]
    return found
