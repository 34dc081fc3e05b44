"""GET /healthz: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from autowebinar_wp.services import services

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/api/v1/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 description of the JSON API (public: it holds no secrets)."""
    from importlib.resources import files

    spec = json.loads(files("autowebinar_wp").joinpath("openapi.json").read_text("utf-8"))
    return jsonify(spec)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        with services().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check: database unreachable", extra={"error": type(exc).__name__})
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    return jsonify({"status": "ok"}), 200
