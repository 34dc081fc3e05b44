"""HTTP layer: one blueprint per audience, one error handler for the contract's JSON errors."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, jsonify, request
from flask_babel import Babel
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from autowebinar_wp import ratelimit
from autowebinar_wp.errors import AutowebinarError, PayloadTooLarge
from autowebinar_wp.services import services

log = logging.getLogger(__name__)

# Werkzeug's names for a few statuses, mapped to our stable codes.
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
               413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited"}


def error_response(code: str, message: str, status: int) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


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
        headers["Retry-After"] = str(max(0, verdict.reset_at - int(services().timestamp())))
    if response.mimetype == "text/html":
        ancestors = current_app.config["FRAME_ANCESTORS"]
        media, connect = current_app.config["MEDIA_CSP"]
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"media-src {media}; connect-src {connect}; font-src 'self'; "
            f"base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}",
        )
    if request.path.startswith(("/api/", "/embed", "/admin")):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def refuse_large_bodies() -> None:
    """413 for a declared body over MAX_CONTENT_LENGTH on every route, before it is read.

    Werkzeug enforces the limit only where a view reads the body; a view that ignores its
    body (join, CTA) would otherwise answer 200 to 2 MB.
    """
    length = request.content_length
    if length is not None and length > current_app.config["MAX_CONTENT_LENGTH"]:
        raise PayloadTooLarge()


def register(app: Flask) -> None:
    from autowebinar_wp import media
    from autowebinar_wp.web import admin, core, health, live, live_admin, viewer

    # Videos and caption files may live on a CDN: the player page may load them (media-src),
    # and hls.js fetches HLS playlists and segments (connect-src). Workers stay 'self'.
    app.config["MEDIA_CSP"] = media.content_security(
        app.config["VIDEO_URL"], [c.url for c in app.config["CAPTIONS"] or []])
    Babel(app, locale_selector=lambda: current_app.config["LOCALE"],
          default_domain="messages")
    app.register_blueprint(health.bp)
    app.register_blueprint(viewer.bp)
    app.register_blueprint(core.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(live.bp)
    app.register_blueprint(live_admin.bp)
    if app.config["DEMO"]:
        from autowebinar_wp.web import demo

        app.register_blueprint(demo.bp)
    app.before_request(refuse_large_bodies)
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
