"""HTTP layer: one blueprint per audience, one error handler for the contract's JSON errors."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from autowebinar_wp.errors import AutowebinarError

log = logging.getLogger(__name__)


def error_response(code: str, message: str, status: int) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def register(app: Flask) -> None:
    from autowebinar_wp.web import health

    app.register_blueprint(health.bp)

    @app.errorhandler(AutowebinarError)
    def _app_error(exc: AutowebinarError) -> Response:
        if exc.status >= 500:
            log.error("request failed", extra={"code": exc.code, "path": request.path})
        return error_response(exc.code, exc.message, exc.status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(code, exc.description or exc.name, exc.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error", extra={"path": request.path})
        return error_response("internal_error", "Internal error.", 500)
