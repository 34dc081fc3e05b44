"""The viewer: GET /embed (the player page) and the JSON session API.

Each API request: auth (token -> Viewer) and its rate limit -> parse -> viewing.apply (the
user's state read, decided, written; events after commit) -> respond.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from autowebinar_wp import anchors, media, tokens
from autowebinar_wp.codec import MAX_POSITION_SEC
from autowebinar_wp.errors import InvalidPlayerError, InvalidPosition, TokenExpired, Unauthorized
from autowebinar_wp.events import ref_id
from autowebinar_wp.services import services
from autowebinar_wp.session import Anchor, Cta, Heartbeat, Join, Leave
from autowebinar_wp.viewing import advance, apply
from autowebinar_wp.web.auth import (
    current_viewer,
    json_body,
    rate_limited,
    verify_token,
    with_token,
)

bp = Blueprint("viewer", __name__)
log = logging.getLogger(__name__)


# ---- input ---------------------------------------------------------------------------------


def anchor_from(body: dict[str, Any], viewer: tokens.Viewer) -> Anchor | None:
    """The viewing's anchor the client echoed, verified (401 forged, 403 not this user's).

    None when absent: the session rules answer 409 before a join, 400 after it.
    """
    value = body.get("anchor")
    if value is None or value == "":
        return None
    svc = services()
    return anchors.verify(current_app.config["EMBED_SECRET"], value, viewer.user_id,
                          svc.timestamp())


def signed(viewer: tokens.Viewer, anchor: Anchor | None) -> dict[str, str]:
    """{"anchor": …} for the response when the viewing has one."""
    if anchor is None:
        return {}
    config = current_app.config
    return {"anchor": anchors.sign(config["EMBED_SECRET"], viewer.user_id, anchor,
                                   config["MAX_VIEWING_SEC"])}


def position_from(body: dict[str, Any]) -> float:
    value = body.get("position_sec")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPosition()
    number = float(value)
    if not math.isfinite(number) or number < 0 or number > MAX_POSITION_SEC:
        raise InvalidPosition()
    return number


# ---- endpoints -------------------------------------------------------------------------------


@bp.post("/api/v1/session/join")
@rate_limited("join")
def join() -> Response:
    svc = services()
    viewer = current_viewer()
    outcome = apply(svc, viewer.user_id, Join(svc.new_id())).outcome
    state, config = outcome.state, svc.session
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
        "server_time": svc.now().isoformat(timespec="seconds"),
        **signed(viewer, outcome.anchor),
    }, viewer)


@bp.post("/api/v1/session/heartbeat")
@rate_limited("heartbeat")
def heartbeat() -> Response:
    svc = services()
    viewer = current_viewer()
    body = json_body()
    action = Heartbeat(position_from(body), anchor_from(body, viewer))
    done = advance(svc, viewer.user_id, action)
    return with_token({
        "position_sec": done.position_sec,
        "progress_percent": done.progress_percent,
        "completed": done.completed,
        "cta_visible": done.cta_visible,
        "clamped": done.clamped,
        **signed(viewer, done.anchor),
    }, viewer)


@bp.post("/api/v1/session/leave")
@rate_limited("leave", body_token=True)
def leave() -> tuple[str, int]:
    viewer = current_viewer(allow_body_token=True)
    body = json_body(required=False)
    if not body and request.form:
        body = dict(request.form)
        try:  # a form-encoded beacon carries the number as a string
            body["position_sec"] = float(body.get("position_sec", ""))
        except ValueError as exc:
            raise InvalidPosition() from exc
    advance(services(), viewer.user_id, Leave(position_from(body), anchor_from(body, viewer)))
    return "", 204


@bp.post("/api/v1/cta")
@rate_limited("cta")
def cta() -> Response:
    viewer = current_viewer()
    loaded = apply(services(), viewer.user_id, Cta()).loaded
    ref = ref_id(loaded.ref, current_app.config["REF_META_KEYS"]) or ""
    url = current_app.config["CTA_URL"].format(
        ref_id=quote(ref, safe=""), user_id=viewer.user_id
    )
    return jsonify({"redirect_url": url})


PLAYER_ERROR_KINDS = ("video", "playlist", "captions", "unsupported")
_DETAIL_RE = re.compile(r"^[A-Za-z0-9_.:\- ]{0,80}$")


@bp.post("/api/v1/player/error")
@rate_limited("player_error")
def player_error() -> tuple[str, int]:
    """The player could not play the video or a caption file: one log line, nothing stored.

    A browser cannot write the service's log, and the site owner needs to know that the CDN
    lost a file or a playlist is broken. The report only names what failed; which file that
    is comes from the configuration (without its query string), never from the request.
    """
    viewer = current_viewer()
    body = json_body()
    kind, detail, lang = body.get("kind"), body.get("detail", ""), body.get("lang")
    captions = {c.lang: c for c in page_media()["captions"]}
    if (kind not in PLAYER_ERROR_KINDS or not isinstance(detail, str)
            or not _DETAIL_RE.match(detail)
            or (lang is not None and (kind != "captions" or lang not in captions))
            or (kind == "captions" and lang is None)):
        raise InvalidPlayerError()
    if kind == "captions":
        sources = [captions[lang].url]
    else:
        sources = current_app.config["VIDEO_URL"] or ["(the demo video)"]
    log.warning("player error", extra={
        "user_id": viewer.user_id, "kind": kind, "detail": detail, "lang": lang,
        "source": ", ".join(urlsplit(url)._replace(query="", fragment="").geturl()
                            for url in sources),
    })
    return "", 204


# ---- the player page ---------------------------------------------------------------------------


def page_media() -> dict[str, Any]:
    """The sources, captions and player settings for the page (the demo's by default)."""
    from flask import url_for

    config = current_app.config
    demo = not config["VIDEO_URL"]
    urls = config["VIDEO_URL"] or [
        url_for("static", filename="demo/demo.webm"),
        url_for("static", filename="demo/demo.mp4"),
    ]
    captions: list[media.Caption] | None = config["CAPTIONS"]
    if captions is None:
        captions = [
            media.Caption(lang, media.language_name(lang),
                          url_for("static", filename=f"demo/demo.{lang}.vtt"))
            for lang in ("ru", "en")
        ] if demo else []
    all_sources = media.sources(urls)
    hls = next((s for s in all_sources if s.is_hls), None)
    return {
        # With an HLS source the script picks native HLS or hls.js, then these as a fallback.
        "sources": [s for s in all_sources if not s.is_hls],
        "hls": hls.src if hls else None,
        "captions": captions,
        "captions_cors": media.needs_cors(captions),
        "player": {
            "hls": hls.src if hls else None,
            "hlsJs": url_for("static", filename="vendor/hls.js/hls.light.min.js"),
            "hlsWorker": url_for("static", filename="vendor/hls.js/hls.worker.js"),
            "fallback": [{"src": s.src, "type": s.type} for s in all_sources
                         if hls and not s.is_hls],
            "captions": [{"lang": c.lang, "label": c.label} for c in captions],
            "captionsDefault": media.default_caption(captions, config["LOCALE"]),
        },
    }


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
    media_page = page_media()
    player = {
        "token": token,
        "api": {
            "join": "/api/v1/session/join",
            "heartbeat": "/api/v1/session/heartbeat",
            "leave": "/api/v1/session/leave",
            "cta": "/api/v1/cta",
            "error": "/api/v1/player/error",
        },
        "media": media_page["player"],
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
            "volume": _("%(percent)s%%", percent="{percent}"),
            "captionLanguage": _("Caption language: %(language)s", language="{language}"),
            "videoFailed": _("The video cannot be loaded right now. Your place is kept: "
                             "reload the page in a few minutes."),
            "playlistFailed": _("The video stream is damaged and cannot be played. Your place "
                                "is kept; please let the site know."),
            "unsupported": _("This browser cannot play this video. Please open the page in "
                             "another browser."),
            "captionsFailed": _("Captions could not be loaded; the video plays without them."),
            "fullscreen": _("Full screen"),
            "exitFullscreen": _("Exit full screen"),
        },
    }
    return render_template(
        "embed.html",
        player=player,
        viewer=viewer,
        sources=media_page["sources"],
        hls=media_page["hls"],
        captions=media_page["captions"],
        captions_cors=media_page["captions_cors"],
        title=config["TITLE"],
        live_url=config["LIVE_WEBINARS_URL"],
        site_url=config["SITE_URL"],
    )
