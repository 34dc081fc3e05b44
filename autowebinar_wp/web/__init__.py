"""HTTP layer: one blueprint per audience, one error handler for the contract's JSON errors."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from flask_babel import Babel
from limits.errors import ConfigurationError as LimitsConfigurationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from autowebinar_wp import ratelimit
from autowebinar_wp.errors import AutowebinarError, ConfigError, RateLimited

log = logging.getLogger(__name__)

# Werkzeug's names for a few statuses, mapped to our stable codes.
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
               413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited"}


def error_response(code: str, message: str, status: int) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def log_events(user_id: int, events: Sequence[Any], ref: dict[str, str]) -> None:
    """The default event sink until the dispatcher is configured: a structured log line."""
    from autowebinar_wp.events import event_id

    for event in events:
        log.info("event", extra={"event": event.name, "user_id": user_id,
                                 "event_id": event_id(event.session_id, event.name,
                                                      event.milestone)})


def limit_per_user(view: Callable[..., Any], limiter: ratelimit.PerKeyLimiter,
                   key: Callable[[], str]) -> Callable[..., Any]:
    """HEARTBEAT_RATE_LIMIT per user around one view: 429 `rate_limited` beyond it."""

    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        verdict = limiter.hit(current_app.config["HEARTBEAT_RATE_LIMIT"], key())
        g.rate_limit = verdict
        if not verdict.allowed:
            raise RateLimited()
        return view(*args, **kwargs)

    return limited


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # The embed URL carries a token: never send it onwards in a Referer.
    headers.setdefault("Referrer-Policy", "no-referrer")
    verdict: ratelimit.Verdict | None = g.get("rate_limit")
    if verdict is not None:  # the usual X-RateLimit-* headers on the limited view
        headers["X-RateLimit-Limit"] = str(verdict.limit)
        headers["X-RateLimit-Remaining"] = str(verdict.remaining)
        headers["X-RateLimit-Reset"] = str(verdict.reset_at)
        headers["Retry-After"] = str(max(0, verdict.reset_at - int(time.time())))
    if response.mimetype == "text/html":
        ancestors = current_app.config["FRAME_ANCESTORS"]
        media = " ".join(sorted({"'self'", *current_app.config["VIDEO_ORIGINS"]}))
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"media-src {media} blob:; connect-src 'self'; font-src 'self'; "
            f"base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}",
        )
    if request.path.startswith(("/api/", "/embed", "/admin")):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def register(app: Flask) -> None:
    from urllib.parse import urlsplit

    from autowebinar_wp.web import admin, core, health, viewer

    app.config["VIDEO_ORIGINS"] = sorted(
        {f"{p.scheme}://{p.netloc}" for p in map(urlsplit, app.config["VIDEO_URL"]) if p.netloc}
    )
    app.extensions.setdefault("autowebinar.emit", log_events)
    Babel(app, locale_selector=lambda: current_app.config["LOCALE"],
          default_domain="messages")
    try:
        ratelimit.parse_limits(app.config["HEARTBEAT_RATE_LIMIT"])
    except ValueError as exc:
        raise ConfigError([f"HEARTBEAT_RATE_LIMIT is not a rate limit: {exc}"]) from exc
    try:
        limiter = ratelimit.PerKeyLimiter(app.config["RATELIMIT_STORAGE_URI"])
    except (ValueError, LimitsConfigurationError) as exc:
        raise ConfigError([f"RATELIMIT_STORAGE_URI: {exc}"]) from exc
    app.register_blueprint(health.bp)
    app.register_blueprint(viewer.bp)
    app.register_blueprint(core.bp)
    app.register_blueprint(admin.bp)
    if app.config["DEMO"]:
        from autowebinar_wp.web import demo

        app.register_blueprint(demo.bp)
    # The per-user heartbeat limit: a script cannot flood the database through one token.
    app.view_functions["viewer.heartbeat"] = limit_per_user(
        app.view_functions["viewer.heartbeat"], limiter, viewer.rate_limit_key
    )
    app.after_request(security_headers)

    @app.errorhandler(AutowebinarError)
    def _app_error(exc: AutowebinarError) -> Response:
        if exc.status >= 500:
            log.error("request failed", extra={"code": exc.code, "path": request.path})
        return error_response(exc.code, exc.message, exc.status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = _HTTP_CODES.get(status) or (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if status == 429:
            message = "Too many requests; slow down."
        return error_response(code, message, status)

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError) -> Response:
        # The database is unreachable or gone away: a 503 the player retries, not a 500.
        log.error("database unavailable", extra={"path": request.path,
                                                 "error": type(exc.orig).__name__})
        return error_response("database_unavailable",
                              "The database is not answering; try again shortly.", 503)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error", extra={"path": request.path})
        return error_response("internal_error", "Internal error.", 500)
