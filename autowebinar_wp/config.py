"""Configuration: defaults -> optional TOML file -> AUTOWEBINAR_* environment variables.

The order is Flask's own (`from_mapping`, `from_file`, `from_prefixed_env`). After loading,
`normalise_and_validate` turns strings into the types the code uses and collects every
problem at once, so a broken deployment fails at start-up with one clear message.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Config

from autowebinar_wp.errors import ConfigError
from autowebinar_wp.media import parse_captions
from autowebinar_wp.ratelimit import parse_limits

ENV_PREFIX = "AUTOWEBINAR"

DEFAULTS: dict[str, Any] = {
    # Storage: None means the embedded SQLite file in the Flask instance folder.
    "DATABASE_URL": None,
    # MySQL/MariaDB: how long one connect, read or write on the socket may take before the
    # request fails with a 503 and the connection is dropped (a hung server or network).
    "DATABASE_TIMEOUT_SEC": 10,
    "TABLE_PREFIX": "wp_",
    # Secrets. None outside demo mode is a start-up error where the secret is needed.
    "EMBED_SECRET": None,
    "CORE_WEBHOOK_SECRET": None,
    "WEBHOOK_SECRET": None,
    "WEBHOOK_URLS": [],
    # The recording.
    "VIDEO_URL": None,  # None: the bundled demo video (WebM + MP4); .m3u8 is HLS
    # {lang: {"label": ..., "url": WebVTT}}; empty: the demo's captions with the demo video.
    # A dict, so AUTOWEBINAR_CAPTIONS__ru__url=... (Flask's nested form) works too.
    "CAPTIONS": {},
    "VIDEO_DURATION_SEC": 60,
    "TITLE": "AutoWebinar",
    "CTA_URL": "https://partner.example/?ref={ref_id}&user={user_id}",
    "CTA_AT_SEC": None,  # None: at the end of the video (= VIDEO_DURATION_SEC)
    "START_DELAY_SEC": 0,
    "HEARTBEAT_SEC": 10,
    "POSITION_SLACK_SEC": 2,
    # Embedding and site links.
    "FRAME_ANCESTORS": "'self'",
    "SITE_URL": "",
    "LIVE_WEBINARS_URL": "",
    # Live webinars (DESIGN §7, autowebinar_wp/live/settings.py): the TOML [live] table, and
    # None = on when slots are configured.
    "LIVE": {},
    "LIVE_ENABLED": None,
    "LIVE_SLOTS_SHOWN": 6,
    "LIVE_LINK_SECRET": None,
    "LIVE_SLOTS_RATE_LIMIT": "60 per minute",
    "LIVE_REGISTER_RATE_LIMIT": "10 per minute",
    "LIVE_JOIN_RATE_LIMIT": "30 per minute",
    "LIVE_LINK_RATE_LIMIT": "30 per minute",  # events from one user's tracking links
    "REF_META_KEYS": ["invited_by", "wh_ref", "ref"],
    "LOCALE": "ru",
    # Tokens.
    "TOKEN_LEEWAY_SEC": 10,
    "TOKEN_DEFAULT_TTL_SEC": 600,
    # A viewer's token is refreshed while they watch, up to this long after WordPress
    # minted the first one (None: the video's duration + 1 h, never more than 24 h).
    "MAX_VIEWING_SEC": None,
    "ADMIN_TOKEN_TTL_SEC": 3600,  # admin tokens are never refreshed
    # Rate limits (the `limits` library's notation) per user and endpoint, and per client
    # address for requests with an invalid token; and where they are counted.
    "HEARTBEAT_RATE_LIMIT": "30 per minute",
    "JOIN_RATE_LIMIT": "20 per minute",
    "LEAVE_RATE_LIMIT": "30 per minute",
    "CTA_RATE_LIMIT": "10 per minute",
    # The player's reports of what it could not play (one per kind and page, normally).
    "PLAYER_ERROR_RATE_LIMIT": "10 per minute",
    "INVALID_TOKEN_RATE_LIMIT": "60 per minute",
    "RATELIMIT_STORAGE_URI": "memory://",
    # Event delivery queue: None = SQLite (Huey) in the instance folder; redis://... = Redis.
    "QUEUE_URL": None,
    "WEBHOOK_TIMEOUT_SEC": 10,
    # Delays before attempts 1, 2, ... in seconds (None: Standard Webhooks' schedule, ~28 h).
    "WEBHOOK_RETRY_SCHEDULE": None,
    # A journaled intent or an unleased delivery this old means a process died: recover it.
    "OUTBOX_RECOVERY_SEC": 60,
    # Admin reports: where snapshots of the aggregates live (None = the instance folder;
    # redis://... = Redis, shared by several hosts), how old one may be before a rebuild,
    # and how gently a rebuild reads usermeta (umeta_ids per query, pause per query time).
    "ADMIN_SNAPSHOT_URL": None,
    "ADMIN_SNAPSHOT_MAX_AGE_SEC": 300,
    "ADMIN_SCAN_BATCH_ROWS": 250_000,
    "ADMIN_SCAN_PAUSE": 0.25,
    "LOG_LEVEL": "INFO",
    # Reverse proxies in front whose X-Forwarded-For/-Proto to trust (0: none, the default).
    "TRUSTED_PROXIES": 0,
    "DEMO": False,
    "MAX_CONTENT_LENGTH": 16 * 1024,
}

SUPPORTED_LOCALES = ("ru", "en")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_META_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]{1,191}$")
_WHSEC_RE = re.compile(r"^whsec_[A-Za-z0-9+/=]{16,}$")
MIN_SECRET_LEN = 32
MAX_TOKEN_AGE_SEC = 24 * 3600


def load_config(config: Config, config_file: str | None = None) -> None:
    """Fill `config` in Flask order: defaults, then a TOML file, then the environment."""
    # A copy: LIVE and CAPTIONS are dicts the env may fill in (X__ru__url) in place.
    config.from_mapping(copy.deepcopy(DEFAULTS))
    path = config_file or _env_config_file()
    if path:
        try:
            config.from_file(path, load=_load_toml, text=False)
        except FileNotFoundError as exc:
            raise ConfigError([f"config file not found: {path}"]) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"config file {path} is not valid TOML: {exc}"]) from exc
    config.from_prefixed_env(ENV_PREFIX)


def _load_toml(handle: Any) -> dict[str, Any]:
    """tomllib.load, with the `[live]` table lifted to the key LIVE (Flask keeps only
    upper-case keys, and the design's file spells the table in lower case)."""
    data = tomllib.load(handle)
    if "live" in data and "LIVE" not in data:
        data["LIVE"] = data.pop("live")
    return data


def _env_config_file() -> str | None:
    import os

    return os.environ.get(f"{ENV_PREFIX}_CONFIG") or None


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                return [part.strip() for part in text.strip("[]").split(",") if part.strip()]
        else:
            return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def _as_int(config: Config, key: str, problems: list[str], minimum: int = 0) -> None:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        problems.append(f"{key} must be an integer, got {value!r}")
        return
    try:
        number = int(value)
    except ValueError:
        problems.append(f"{key} must be an integer, got {value!r}")
        return
    if number < minimum:
        problems.append(f"{key} must be >= {minimum}, got {number}")
        return
    config[key] = number


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _is_http_url(value: str, allow_relative: bool = False) -> bool:
    if allow_relative and value.startswith("/"):
        return True
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def normalise_and_validate(config: Config, instance_path: str) -> None:
    """Coerce types, fill demo secrets, and raise ConfigError listing every problem."""
    problems: list[str] = []
    config["DEMO"] = _as_bool(config.get("DEMO"))

    for key, minimum in (
        ("DATABASE_TIMEOUT_SEC", 1),
        ("VIDEO_DURATION_SEC", 1),
        ("START_DELAY_SEC", 0),
        ("HEARTBEAT_SEC", 1),
        ("POSITION_SLACK_SEC", 0),
        ("TOKEN_LEEWAY_SEC", 0),
        ("TOKEN_DEFAULT_TTL_SEC", 1),
        ("WEBHOOK_TIMEOUT_SEC", 1),
        ("MAX_CONTENT_LENGTH", 256),
        ("OUTBOX_RECOVERY_SEC", 1),
        ("TRUSTED_PROXIES", 0),
        ("ADMIN_SNAPSHOT_MAX_AGE_SEC", 0),
        ("ADMIN_SCAN_BATCH_ROWS", 1000),
    ):
        _as_int(config, key, problems, minimum)

    duration = config.get("VIDEO_DURATION_SEC")
    if config.get("MAX_VIEWING_SEC") in (None, ""):
        if isinstance(duration, int):
            config["MAX_VIEWING_SEC"] = min(duration + 3600, MAX_TOKEN_AGE_SEC)
    else:
        _as_int(config, "MAX_VIEWING_SEC", problems, 60)
    _as_int(config, "ADMIN_TOKEN_TTL_SEC", problems, 60)
    for key in ("MAX_VIEWING_SEC", "ADMIN_TOKEN_TTL_SEC"):
        value = config.get(key)
        if isinstance(value, int) and value > MAX_TOKEN_AGE_SEC:
            problems.append(f"{key} must be at most {MAX_TOKEN_AGE_SEC} (24 hours), got {value}")
    if config.get("CTA_AT_SEC") in (None, ""):
        config["CTA_AT_SEC"] = duration
    else:
        _as_int(config, "CTA_AT_SEC", problems, 0)
        cta_at = config["CTA_AT_SEC"]
        if isinstance(duration, int) and isinstance(cta_at, int) and cta_at > duration:
            problems.append(
                f"CTA_AT_SEC ({cta_at}) is after the end of the video "
                f"(VIDEO_DURATION_SEC = {duration})"
            )

    prefix = str(config.get("TABLE_PREFIX") or "")
    if not _PREFIX_RE.match(prefix):
        problems.append(f"TABLE_PREFIX must be letters, digits and _ (got {prefix!r})")

    config["REF_META_KEYS"] = _as_list(config.get("REF_META_KEYS"))
    for key in config["REF_META_KEYS"]:
        if not _META_KEY_RE.match(key) or key.startswith(("autowebinar_", "livewebinar_")):
            problems.append(f"REF_META_KEYS holds an invalid meta key: {key!r}")

    config["WEBHOOK_URLS"] = _as_list(config.get("WEBHOOK_URLS"))
    for url in config["WEBHOOK_URLS"]:
        if not _is_http_url(url):
            problems.append(f"WEBHOOK_URLS holds a URL that is not http(s): {url!r}")

    video = config.get("VIDEO_URL")
    config["VIDEO_URL"] = _as_list(video) if video else []
    for url in config["VIDEO_URL"]:
        if not _is_http_url(url, allow_relative=True):
            problems.append(f"VIDEO_URL must be an http(s) URL or a path: {url!r}")

    captions, caption_problems = parse_captions(config.get("CAPTIONS"))
    config["CAPTIONS"] = captions
    problems.extend(caption_problems)

    for key in ("SITE_URL", "LIVE_WEBINARS_URL"):
        value = str(config.get(key) or "")
        config[key] = value.rstrip("/") if key == "SITE_URL" else value
        if value and not _is_http_url(value):
            problems.append(f"{key} must be an http(s) URL: {value!r}")

    cta = str(config.get("CTA_URL") or "")
    try:
        probe = cta.format(ref_id="r", user_id="1")
    except (KeyError, IndexError, ValueError):
        probe = ""
        problems.append("CTA_URL may only use the placeholders {ref_id} and {user_id}")
    if probe and not _is_http_url(probe):
        problems.append(f"CTA_URL must be an http(s) URL: {cta!r}")

    locale = str(config.get("LOCALE") or "ru")
    if locale not in SUPPORTED_LOCALES:
        problems.append(f"LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}, got {locale!r}")
    config["LOCALE"] = locale

    ancestors = str(config.get("FRAME_ANCESTORS") or "'self'")
    if any(ch in ancestors for ch in ";,\r\n"):
        problems.append("FRAME_ANCESTORS must be a space-separated CSP source list")
    config["FRAME_ANCESTORS"] = ancestors

    schedule = config.get("WEBHOOK_RETRY_SCHEDULE")
    if schedule not in (None, ""):
        try:
            config["WEBHOOK_RETRY_SCHEDULE"] = [float(x) for x in _as_list(schedule)]
            if not config["WEBHOOK_RETRY_SCHEDULE"] or min(config["WEBHOOK_RETRY_SCHEDULE"]) < 0:
                raise ValueError
        except ValueError:
            problems.append("WEBHOOK_RETRY_SCHEDULE must be a list of seconds >= 0")
    queue = config.get("QUEUE_URL")
    if queue and not str(queue).startswith(("redis://", "rediss://", "unix://")):
        problems.append("QUEUE_URL must be redis://... (or unset for the embedded SQLite queue)")

    snapshot_url = config.get("ADMIN_SNAPSHOT_URL")
    if snapshot_url and not str(snapshot_url).startswith(("redis://", "rediss://", "unix://")):
        problems.append("ADMIN_SNAPSHOT_URL must be redis://... (or unset for the instance folder)")
    try:
        pause = float(config["ADMIN_SCAN_PAUSE"])
        if not 0 <= pause <= 10:
            raise ValueError
        config["ADMIN_SCAN_PAUSE"] = pause
    except (TypeError, ValueError):
        problems.append("ADMIN_SCAN_PAUSE must be a number from 0 to 10 (pause per query time)")

    for key in sorted(k for k in config if k.endswith("_RATE_LIMIT")):
        try:
            parse_limits(str(config[key]))
        except ValueError as exc:
            problems.append(f"{key} is not a rate limit ({exc}); e.g. '30 per minute'")

    _validate_secrets(config, instance_path, problems)
    from autowebinar_wp.live.settings import normalise_live

    normalise_live(config, problems)
    if problems:
        raise ConfigError(problems)


def _validate_secrets(config: Config, instance_path: str, problems: list[str]) -> None:
    if config["DEMO"]:
        demo = _demo_secrets(instance_path)
        for key, value in demo.items():
            if not config.get(key):
                config[key] = value
    embed = config.get("EMBED_SECRET")
    if not embed:
        problems.append(
            "EMBED_SECRET is not set (set AUTOWEBINAR_EMBED_SECRET to the same value as the "
            "WordPress constant AUTOWEBINAR_EMBED_SECRET; at least 32 characters)"
        )
    elif len(str(embed)) < MIN_SECRET_LEN:
        problems.append(f"EMBED_SECRET must be at least {MIN_SECRET_LEN} characters long")
    if config["WEBHOOK_URLS"] and not config.get("WEBHOOK_SECRET"):
        problems.append("WEBHOOK_URLS is set but WEBHOOK_SECRET is not (format whsec_<base64>)")
    for key in ("WEBHOOK_SECRET", "CORE_WEBHOOK_SECRET"):
        secret = config.get(key)
        if secret and not _WHSEC_RE.match(str(secret)):
            problems.append(f"{key} must be a Standard Webhooks secret: whsec_<base64>")


def _demo_secrets(instance_path: str) -> dict[str, str]:
    """Demo mode: random secrets kept in the instance folder so links survive a restart."""
    import base64

    path = Path(instance_path) / "demo-secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text())
            if isinstance(loaded, dict) and all(isinstance(v, str) for v in loaded.values()):
                stored = loaded
        except ValueError:
            pass
    fresh: dict[str, Callable[[], str]] = {
        "EMBED_SECRET": lambda: secrets.token_urlsafe(48),
        "WEBHOOK_SECRET": lambda: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "CORE_WEBHOOK_SECRET": lambda: (
            "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()),
        "LIVE_LINK_SECRET": lambda: secrets.token_urlsafe(48),
    }
    if set(fresh) <= set(stored):
        return stored
    # A file from an older version lacks a newer secret: add it, keep the others.
    values = {key: stored.get(key) or make() for key, make in fresh.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values
