"""Core events in: POST /api/v1/core/events, signed per Standard Webhooks.

Idempotent by state, not by an event log: registering or logging in creates the session
only if the user has none; a referral context is acknowledged and never stored (Core owns it).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from standardwebhooks import Webhook

from autowebinar_wp.errors import BadRequest, CoreEventsDisabled, Unauthorized
from autowebinar_wp.services import services
from autowebinar_wp.session import Create
from autowebinar_wp.viewing import apply

bp = Blueprint("core", __name__)
log = logging.getLogger(__name__)

CREATES_SESSION = ("core_user_registered", "core_user_login")
ACKNOWLEDGED = ("core_ref_context_resolved",)
_EVENT_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def verified_body() -> Any:
    secret = current_app.config.get("CORE_WEBHOOK_SECRET")
    if not secret:
        raise CoreEventsDisabled()
    data = request.get_data(cache=True)
    try:
        # Checks the HMAC over id.timestamp.body and a 5-minute timestamp tolerance.
        Webhook(secret).verify(data, dict(request.headers), json_parse=False)
    except Exception as exc:  # noqa: BLE001 - the library raises several types for bad headers
        raise Unauthorized("The webhook signature is not valid.") from exc
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise BadRequest("The body is not valid JSON.") from exc


def _validate(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    problems = []
    event = body.get("event")
    if not isinstance(event, str) or not event:
        problems.append("event must be a non-empty string")
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
        problems.append("event_id must be a string of up to 128 safe characters")
    user_id = body.get("user_id")
    if isinstance(user_id, str) and user_id.isdigit():
        user_id = int(user_id)
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 < user_id < 2**63:
        problems.append("user_id must be a positive integer")
    ref = body.get("ref_id")
    if ref is not None and not isinstance(ref, str | int):
        problems.append("ref_id must be a string or null")
    stamp = body.get("timestamp")
    try:
        if not isinstance(stamp, str):
            raise ValueError
        datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        problems.append("timestamp must be an ISO 8601 string")
    if problems:
        raise BadRequest("Invalid core event: " + "; ".join(problems))
    return {**body, "user_id": user_id}


@bp.post("/api/v1/core/events")
def core_events() -> tuple[Response, int]:
    body = verified_body()
    if isinstance(body, dict) and body.get("event") not in CREATES_SESSION + ACKNOWLEDGED:
        # Unknown events are accepted and ignored, so Core can add events without breaking us.
        return jsonify({"status": "ignored"}), 202
    event = _validate(body)
    name, user_id = event["event"], event["user_id"]
    if name in ACKNOWLEDGED:
        return jsonify({"status": "acknowledged"}), 200
    svc = services()
    outcome = apply(svc, user_id, Create(svc.new_id())).outcome
    status = "created" if outcome.events else "exists"
    log.info("core event", extra={"event": name, "event_id": event["event_id"],
                                  "user_id": user_id, "status": status})
    return jsonify({"status": status, "session_id": outcome.state.session_id}), 200
