"""Demo mode only: a stand-in for the WordPress page that embeds the player, and a stand-in
for the CRM that receives the signed webhooks.

The page mints a viewer token on each load, exactly as the WordPress shortcode does, so a
newcomer can reload, switch viewers and see every screen. The receiver verifies each
delivery with the standardwebhooks library, as a real receiver would, and the page lists
what arrived. Never registered outside demo mode.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from standardwebhooks import Webhook

from autowebinar_wp import tokens
from autowebinar_wp.services import services

bp = Blueprint("demo", __name__)
DEMO_USER_ID = 1
KEEP_EVENTS = 50
_write_lock = threading.Lock()


def _events_file() -> str:
    return os.path.join(current_app.instance_path, "demo-events.jsonl")


@bp.get("/")
@bp.get("/demo")
def page() -> Response:
    raw = request.args.get("user", str(DEMO_USER_ID))
    user_id = int(raw) if raw.isdigit() and 0 < int(raw) < 10**9 else DEMO_USER_ID
    secret = current_app.config["EMBED_SECRET"]
    now = services().timestamp()
    token = tokens.mint(secret, user_id, "viewer", current_app.config["TOKEN_DEFAULT_TTL_SEC"], now)
    admin = tokens.mint(secret, DEMO_USER_ID, "admin", current_app.config["ADMIN_TOKEN_TTL_SEC"],
                        now)
    admin_url = None
    if "admin.dashboard" in current_app.view_functions:
        admin_url = url_for("admin.dashboard") + "#token=" + admin
    response = Response(render_template(
        "demo.html", token=token, admin_url=admin_url, user_id=user_id, next_user=user_id + 1,
        title=current_app.config["TITLE"]))
    # This page frames the player (same origin), unlike every other page of the app.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return response


@bp.post("/demo/webhooks")
def receive() -> tuple[str, int]:
    """The demo's CRM: verify the Standard Webhooks signature, keep a short log."""
    secret = current_app.config.get("WEBHOOK_SECRET")
    try:
        body: Any = Webhook(secret or "").verify(request.get_data(), dict(request.headers))
    except Exception:  # noqa: BLE001 - any failure means "not signed by us"
        return "", 401
    entry = {"webhook_id": request.headers.get("webhook-id"), **body}
    with _write_lock:
        path = _events_file()
        lines = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                lines = handle.readlines()[-(KEEP_EVENTS - 1):]
        lines.append(json.dumps(entry, ensure_ascii=False) + "\n")
        with open(path, "w", encoding="utf-8") as handle:
            handle.writelines(lines)
    return "", 204


@bp.get("/demo/events")
def events() -> Response:
    path = _events_file()
    items = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            items = [json.loads(line) for line in handle if line.strip()]
    return jsonify({"events": list(reversed(items))})
