"""The viewer: GET /embed (the player page) and the JSON session API.

Each API request: parse -> auth (token -> Viewer) -> one transaction under the user's lock
(one SELECT, decide, at most one UPDATE + one INSERT) -> events after commit -> respond.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _

from autowebinar_wp import failpoints, runtime, tokens
from autowebinar_wp.codec import MAX_POSITION_SEC
from autowebinar_wp.db import get_store
from autowebinar_wp.errors import (
    AutowebinarError,
    BadRequest,
    InvalidPosition,
    TokenExpired,
    Unauthorized,
)
from autowebinar_wp.events import ref_id
from autowebinar_wp.session import Action, Cta, Heartbeat, Join, Leave, Outcome, decide
from autowebinar_wp.store import Loaded

bp = Blueprint("viewer", __name__)


# ---- auth ----------------------------------------------------------------------------------


def verify_token(token: str | None) -> tokens.Viewer:
    config = current_app.config
    return tokens.verify(
        config["EMBED_SECRET"], token or "", config["TOKEN_LEEWAY_SEC"],
        now=runtime.now().timestamp(),
    )


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def current_viewer(allow_body_token: bool = False) -> tokens.Viewer:
    """The token's viewer, verified once per request (the rate limiter asks too)."""
    cached: tokens.Viewer | None = g.get("viewer")
    if cached is not None:
        return cached
    token = bearer_token()
    if token is None and allow_body_token:
        body = json_body(required=False)
        candidate = body.get("token") if body else request.form.get("token")
        token = candidate if isinstance(candidate, str) else None
    g.viewer = verify_token(token)
    return g.viewer  # type: ignore[no-any-return]


def rate_limit_key() -> str:
    try:
        return f"user:{current_viewer().user_id}"
    except AutowebinarError:
        return f"anon:{request.remote_addr}"


# ---- input ---------------------------------------------------------------------------------


def json_body(required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object; BadRequest for anything else."""
    if "json_body" in g:
        return g.json_body  # type: ignore[no-any-return]
    data = request.get_data(cache=True)
    if not data:
        body: dict[str, Any] = {}
    else:
        parsed = request.get_json(force=True, silent=True, cache=True)
        if not isinstance(parsed, dict):
            if required or request.mimetype == "application/json":
                raise BadRequest("The body must be a JSON object.")
            parsed = {}
        body = parsed
    g.json_body = body
    return body


def position_from(body: dict[str, Any]) -> float:
    value = body.get("position_sec")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPosition()
    number = float(value)
    if not math.isfinite(number) or number < 0 or number > MAX_POSITION_SEC:
        raise InvalidPosition()
    return number


# ---- the transaction -------------------------------------------------------------------------


def apply_action(user_id: int, action: Action) -> tuple[Loaded, Outcome]:
    """One lock, one read, decide, one write; events journaled before COMMIT, sent after."""
    store = get_store()
    outbox = current_app.extensions["autowebinar.outbox"]
    with store.transaction(user_id) as conn:
        loaded = store.load(conn, user_id)
        outcome = decide(loaded.state, action, runtime.now(), runtime.session_config())
        store.save(conn, loaded, outcome.state)
        intent = outbox.prepare(user_id, outcome.events, loaded.ref)
    failpoints.hit("after_commit")
    outbox.commit(intent)
    if outcome.events:
        current_app.extensions["autowebinar.emit"](user_id, outcome.events, loaded.ref)
    return loaded, outcome



def refreshed_token(viewer: tokens.Viewer) -> str | None:
    """A fresh token once half of the current one's life has passed (long videos)."""
    ttl = current_app.config["TOKEN_DEFAULT_TTL_SEC"]
    now = runtime.now().timestamp()
    if viewer.expires_at - now > ttl / 2:
        return None
    return tokens.mint(current_app.config["EMBED_SECRET"], viewer.user_id, viewer.role, ttl, now)


def with_token(data: dict[str, Any], viewer: tokens.Viewer) -> Response:
    token = refreshed_token(viewer)
    if token:
        data["token"] = token
    return jsonify(data)


# ---- endpoints -------------------------------------------------------------------------------


@bp.post("/api/v1/session/join")
def join() -> Response:
    viewer = current_viewer()
    _loaded, outcome = apply_action(viewer.user_id, Join(runtime.new_id()))
    state, config = outcome.state, runtime.session_config()
    return with_token({
        "session_id": state.session_id,
        "position_sec": outcome.position_sec,
        "duration_sec": config.duration_sec,
        "progress_percent": state.progress_percent,
        "completed": state.completed,
        "cta_visible": outcome.cta_visible(config) and outcome.starts_in_sec == 0,
        "cta_clicked": state.cta_clicked_at is not None,
        "starts_in_sec": outcome.starts_in_sec,
        "resumed": outcome.resumed,
        "server_time": runtime.now().isoformat(timespec="seconds"),
    }, viewer)


@bp.post("/api/v1/session/heartbeat")
def heartbeat() -> Response:
    viewer = current_viewer()
    position = position_from(json_body())
    _loaded, outcome = apply_action(viewer.user_id, Heartbeat(position))
    state = outcome.state
    return with_token({
        "position_sec": outcome.position_sec,
        "progress_percent": state.progress_percent,
        "completed": state.completed,
        "cta_visible": outcome.cta_visible(runtime.session_config()),
        "clamped": outcome.clamped,
    }, viewer)


@bp.post("/api/v1/session/leave")
def leave() -> tuple[str, int]:
    viewer = current_viewer(allow_body_token=True)
    body = json_body(required=False)
    if not body and request.form:
        body = dict(request.form)
        try:  # a form-encoded beacon carries the number as a string
            body["position_sec"] = float(body.get("position_sec", ""))
        except ValueError as exc:
            raise InvalidPosition() from exc
    apply_action(viewer.user_id, Leave(position_from(body)))
    return "", 204


@bp.post("/api/v1/cta")
def cta() -> Response:
    viewer = current_viewer()
    loaded, _outcome = apply_action(viewer.user_id, Cta())
    ref = ref_id(loaded.ref, current_app.config["REF_META_KEYS"]) or ""
    url = current_app.config["CTA_URL"].format(
        ref_id=quote(ref, safe=""), user_id=viewer.user_id
    )
    return jsonify({"redirect_url": url})


# ---- the player page ---------------------------------------------------------------------------


def video_sources() -> list[dict[str, str]]:
    from flask import url_for

    urls = current_app.config["VIDEO_URL"] or [
        url_for("static", filename="demo/demo.webm"),
        url_for("static", filename="demo/demo.mp4"),
    ]
    types = {"webm": "video/webm", "mp4": "video/mp4", "m3u8": "application/vnd.apple.mpegurl",
             "ogv": "video/ogg"}
    sources = []
    for url in urls:
        ext = url.split("?")[0].rsplit(".", 1)[-1].lower()
        sources.append({"src": url, "type": types.get(ext, "")})
    return sources


@bp.get("/embed")
def embed() -> tuple[str, int] | str:
    token = request.args.get("token", "")
    try:
        viewer = verify_token(token)
    except TokenExpired:
        return render_template("error.html", reason="expired"), 401
    except Unauthorized:
        return render_template("error.html", reason="invalid"), 401
    config = current_app.config
    player = {
        "token": token,
        "api": {
            "join": "/api/v1/session/join",
            "heartbeat": "/api/v1/session/heartbeat",
            "leave": "/api/v1/session/leave",
            "cta": "/api/v1/cta",
        },
        "heartbeatSec": config["HEARTBEAT_SEC"],
        "durationSec": config["VIDEO_DURATION_SEC"],
        "i18n": {
            "resume": _("Continuing from %(time)s", time="{time}"),
            "startsIn": _("The recording starts in %(time)s", time="{time}"),
            "expired": _("Your session has expired. Reload the page to continue watching."),
            "offline": _("Connection lost. Your place is kept; we will retry."),
            "play": _("Play"),
            "pause": _("Pause"),
            "mute": _("Mute"),
            "unmute": _("Unmute"),
            "tapToUnmute": _("Tap to turn the sound on"),
            "ctaBlocked": _("Your browser blocked the new tab. Use this link:"),
        },
    }
    return render_template(
        "embed.html",
        player=player,
        viewer=viewer,
        sources=video_sources(),
        title=config["TITLE"],
        live_url=config["LIVE_WEBINARS_URL"],
        site_url=config["SITE_URL"],
    )
