"""The live module's configuration: the `[live]` table and the LIVE_* keys.

* ``LIVE`` - the TOML ``[live]`` table (config.py lifts it from the file; the environment can
  set it too, e.g. ``AUTOWEBINAR_LIVE__timezone``), parsed into a Schedule.
* ``LIVE_ENABLED`` - default: on when at least one slot or schedule is configured.
* ``LIVE_SLOTS_SHOWN`` - how many upcoming slots /live lists (default 6).
* ``LIVE_LINK_SECRET`` - HS256 key of the CRM's tracking links; optional (without it every
  tracking link is refused), at least 32 characters, and never the EMBED_SECRET: the CRM
  that holds it must not be able to mint viewer or admin tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Config

from autowebinar_wp.errors import ConfigError
from autowebinar_wp.live.schedule import Schedule, parse_live

DEFAULT_SLOTS_SHOWN = 6
MAX_SLOTS_SHOWN = 50
MIN_SECRET_LEN = 32
SCHEDULE = "LIVE_SCHEDULE"  # the parsed Schedule, next to the raw table


def _flag(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(value)
    if isinstance(value, bool | int):
        return bool(value)
    raise ValueError(value)


def normalise_live(config: Config, problems: list[str], now: datetime | None = None) -> None:
    """Parse and check the live settings, adding every problem to `problems`."""
    table = config.get("LIVE") or {}
    try:
        schedule = parse_live(table, now or datetime.now(UTC),
                              default_room_url=str(config.get("LIVE_WEBINARS_URL") or ""))
    except ConfigError as exc:
        problems.extend(exc.problems)
        schedule = parse_live({}, now or datetime.now(UTC))
    config[SCHEDULE] = schedule

    try:
        enabled = _flag(config.get("LIVE_ENABLED"))
    except ValueError:
        problems.append(f"LIVE_ENABLED must be true or false, got {config.get('LIVE_ENABLED')!r}")
        enabled = False
    config["LIVE_ENABLED"] = schedule.has_slots if enabled is None else enabled

    shown = config.get("LIVE_SLOTS_SHOWN", DEFAULT_SLOTS_SHOWN)
    try:
        if isinstance(shown, bool):
            raise ValueError
        number = int(shown)
        if not 1 <= number <= MAX_SLOTS_SHOWN:
            raise ValueError
        config["LIVE_SLOTS_SHOWN"] = number
    except (TypeError, ValueError):
        problems.append(f"LIVE_SLOTS_SHOWN must be a whole number from 1 to {MAX_SLOTS_SHOWN}, "
                        f"got {shown!r}")

    secret = config.get("LIVE_LINK_SECRET") or None
    if secret is not None:
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_LEN:
            problems.append(f"LIVE_LINK_SECRET must be at least {MIN_SECRET_LEN} characters long")
        elif secret == config.get("EMBED_SECRET"):
            problems.append("LIVE_LINK_SECRET must differ from EMBED_SECRET (the CRM holds the "
                            "link key; it must not be able to mint viewer or admin tokens)")
    config["LIVE_LINK_SECRET"] = secret


def schedule_of(config: Config | dict[str, Any]) -> Schedule:
    value: Schedule = config[SCHEDULE]
    return value
