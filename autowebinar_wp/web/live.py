"""Live webinars over HTTP (DESIGN §7): the two pages, the JSON API, calendars, tracking links.

* `GET /live?token=` and `GET /live/room?token=`: pages the `[autowebinar_live]` shortcode
  frames; the viewer token is verified like the player's, and the script keeps it in memory.
* `GET /api/v1/live/slots`, `POST /api/v1/live/register`, `POST /api/v1/live/join`: Bearer,
  rate-limited per user; live/service.py does the work.
* `GET /live/slot/<id>.ics`: public (a schedule is no secret, and a download link cannot
  carry a header); `/l/o/<jwt>` and `/l/c/<jwt>`: the CRM's tracking links.

Everything answers 404 `live_disabled` while LIVE_ENABLED is off.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as WerkzeugResponse

from autowebinar_wp.errors import (
    BadRequest,
    LinkExpired,
    LinkInvalid,
    LiveDisabled,
    TokenExpired,
    Unauthorized,
    UnknownSlot,
)
from autowebinar_wp.events import iso
from autowebinar_wp.live import ics, links, service
from autowebinar_wp.live.schedule import Schedule, Slot
from autowebinar_wp.live.service import Live
from autowebinar_wp.live.state import LiveState
from autowebinar_wp.services import Services, services
from autowebinar_wp.web.auth import (
    count_invalid_token,
    current_viewer,
    json_body,
    rate_limited,
    verify_token,
    with_token,
)

bp = Blueprint("live", __name__)
log = logging.getLogger(__name__)

# A transparent 1x1 GIF (42 bytes), the usual open pixel.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def enabled_live() -> Live:
    live = services().live
    live.require_enabled()
    return live


# ---- JSON shapes ----------------------------------------------------------------------------


def slot_title(slot: Slot) -> str:
    return slot.title or _("Webinar")


def slot_json(slot: Slot, now: datetime, registered_id: str | None) -> dict[str, Any]:
    return {
        "id": slot.id,
        "title": slot_title(slot),
        "starts_at": iso(slot.starts_at),
        "ends_at": iso(slot.ends_at),
        "opens_at": iso(slot.opens_at),
        "timezone": slot.timezone,
        "status": slot.status(now),
        "registered": slot.id == registered_id,
        "ics_url": url_for("live.calendar_file", slot_id=slot.id),
        "google_calendar_url": ics.google_calendar_url(
            slot, url=_room_url(), description=_calendar_text(slot)),
    }


def seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, int((moment - now).total_seconds() + 0.999))


def registration_json(state: LiveState, schedule: Schedule,
                      now: datetime) -> dict[str, Any] | None:
    if state.slot_id is None:
        return None
    slot = schedule.find(state.slot_id)
    return {
        "slot_id": state.slot_id,
        "slot_starts_at": iso(state.slot_starts_at) if state.slot_starts_at else None,
        "registered_at": iso(state.registered_at) if state.registered_at else None,
        "joined_at": iso(state.joined_at) if state.joined_at else None,
        # "unavailable": the site removed or moved this slot in its configuration
        "status": slot.status(now) if slot else "unavailable",
        "slot": slot_json(slot, now, state.slot_id) if slot else None,
        "opens_in_sec": seconds_until(slot.opens_at, now) if slot else None,
        "starts_in_sec": seconds_until(slot.starts_at, now) if slot else None,
        "ends_in_sec": seconds_until(slot.ends_at, now) if slot else None,
    }


def overview(svc: Services, state: LiveState) -> dict[str, Any]:
    """GET /api/v1/live/slots: the upcoming slots and the viewer's registration."""
    live, now = svc.live, svc.now()
    upcoming = live.schedule.upcoming(now, live.slots_shown)
    return {
        "server_time": iso(now),
        "timezone": live.schedule.timezone,
        "slots": [slot_json(s, now, state.slot_id) for s in upcoming],
        "registration": registration_json(state, live.schedule, now),
    }


def _room_url() -> str:
    return services().live.schedule.room_url


def _calendar_text(slot: Slot) -> str:
    minutes = int(slot.open_before.total_seconds() // 60)
    return str(_("A scheduled webinar. The room opens %(minutes)s minutes before the start.",
             minutes=minutes))


# ---- the JSON API ---------------------------------------------------------------------------


@bp.get("/api/v1/live/slots")
@rate_limited("live_slots")
def slots() -> Response:
    live = enabled_live()
    viewer = current_viewer()
    return with_token(overview(services(), live.store.read(viewer.user_id).state), viewer)


@bp.post("/api/v1/live/register")
@rate_limited("live_register")
def register() -> Response:
    enabled_live()
    viewer = current_viewer()
    slot_id = json_body().get("slot_id")
    if not isinstance(slot_id, str) or not slot_id:
        raise BadRequest("slot_id must be a slot id (a string).")
    svc = services()
    outcome = service.register(svc, viewer.user_id, slot_id)
    return with_token({
        "registration": registration_json(outcome.state, svc.live.schedule, svc.now()),
        "changed": bool(outcome.events),
    }, viewer)


@bp.post("/api/v1/live/join")
@rate_limited("live_join")
def join() -> Response:
    enabled_live()
    viewer = current_viewer()
    svc = services()
    outcome = service.join(svc, viewer.user_id)
    now, slot = svc.now(), outcome.slot
    return with_token({
        "status": outcome.status,
        "join_url": slot.join_url if outcome.room_open else None,
        "embed": slot.embed,
        "slot": slot_json(slot, now, slot.id),
        "opens_in_sec": seconds_until(slot.opens_at, now),
        "starts_in_sec": seconds_until(slot.starts_at, now),
        "ends_in_sec": seconds_until(slot.ends_at, now),
        "joined_at": iso(outcome.state.joined_at) if outcome.state.joined_at else None,
        "server_time": iso(now),
    }, viewer)


# ---- calendar file --------------------------------------------------------------------------


@bp.get("/live/slot/<slot_id>.ics")
def calendar_file(slot_id: str) -> Response:
    live = enabled_live()
    slot = live.schedule.find(slot_id)
    if slot is None:
        raise UnknownSlot()
    config = current_app.config
    domain = urlsplit(config["SITE_URL"]).hostname or request.host.split(":")[0]
    body = ics.calendar(slot, domain=domain, now=services().now(), url=live.schedule.room_url,
                        description=_calendar_text(slot))
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="webinar-{slot.id}.ics"'
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# ---- pages ----------------------------------------------------------------------------------


def page_error(reason: str, status: int) -> tuple[str, int]:
    return render_template("live_message.html", reason=reason,
                           site_url=current_app.config["SITE_URL"]), status


def _page(template: str, view: str) -> tuple[str, int] | Response:
    try:
        live = enabled_live()
    except LiveDisabled:
        return page_error("disabled", 404)
    token = request.args.get("token", "")
    try:
        viewer = verify_token(token)
    except TokenExpired:
        return page_error("expired", 401)
    except Unauthorized:
        return page_error("invalid", 401)
    svc = services()
    config = current_app.config
    data = overview(svc, live.store.read(viewer.user_id).state)
    title = live.schedule.title or _("Webinars")
    page = {
        "view": view,
        "title": title,
        "token": token,
        "locale": config["LOCALE"],
        "api": {"slots": url_for("live.slots"), "register": url_for("live.register"),
                "join": url_for("live.join"), "list": url_for("live.list_page"),
                "room": url_for("live.room_page")},
        "data": data,
        "recordingUrl": live.schedule.recording_url,
        "siteUrl": config["SITE_URL"],
        "i18n": ui_strings(),
    }
    html = render_template(template, page=page, title=title,
                           recording_url=live.schedule.recording_url,
                           site_url=config["SITE_URL"])
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    frames = " ".join(live.schedule.embed_origins()) or "'none'"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; frame-src {frames}; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {config['FRAME_ANCESTORS']}"
    )
    return response


@bp.get("/live")
def list_page() -> tuple[str, int] | Response:
    return _page("live.html", "list")


@bp.get("/live/room")
def room_page() -> tuple[str, int] | Response:
    return _page("live_room.html", "room")


def ui_strings() -> dict[str, str]:
    """What the pages' script shows, translated here ({name} placeholders filled in JS)."""
    return {
        "register": _("Register"),
        "registered": _("You are registered"),
        "switch": _("Choose this time instead"),
        "changeTime": _("Choose another time"),
        "keepTime": _("Keep my time"),
        "yourTime": _("Your time (%(zone)s): %(time)s", zone="{zone}", time="{time}"),
        "sameZone": _("This is also your time zone."),
        "zoneLabel": _("Time zone: %(zone)s", zone="{zone}"),
        "schedule": _("Schedule"),
        "endedBadge": _("Ended"),
        "roomOpen": _("Room open"),
        "live": _("LIVE"),
        "startsIn": _("Starts in %(time)s", time="{time}"),
        "opensIn": _("The room opens in %(time)s, %(minutes)s minutes before the start.",
                     time="{time}", minutes="{minutes}"),
        "broadcastStartsIn": _("The broadcast starts in %(time)s.", time="{time}"),
        "endsIn": _("Scheduled to end in %(time)s.", time="{time}"),
        "days": _("%(days)s d %(time)s", days="{days}", time="{time}"),
        "goToRoom": _("Go to the webinar room"),
        "openStream": _("Open the broadcast"),
        "openStreamNote": _("The broadcast opens on the streaming service in a new tab."),
        "addIcs": _("Add to calendar (.ics)"),
        "addGoogle": _("Google Calendar"),
        "yourWebinar": _("Your webinar"),
        "noSlots": _("No webinars are scheduled at the moment. Please check back later."),
        "unavailable": _("The time you chose is no longer on the schedule. Please choose "
                         "another time."),
        "ended": _("This webinar has ended."),
        "registerFailed": _("Could not register. Please try again."),
        "slotEnded": _("This time has just ended. Please choose another one."),
        "expired": _("Your session has expired. Reload the page to continue."),
        "offline": _("Connection lost. We will retry."),
        "nextSlot": _("The next webinar: %(time)s", time="{time}"),
        "registerFor": _("Register for %(time)s", time="{time}"),
        "registeredFor": _("You are registered for %(time)s.", time="{time}"),
        "noNextSlot": _("No further webinars are scheduled yet."),
    }


# ---- tracking links -------------------------------------------------------------------------


def _verified_link(svc: Services, token: str, *, click: bool) -> links.Link:
    try:
        return links.verify(svc.live.link_secret, token, now=svc.timestamp(),
                            leeway_sec=int(current_app.config["TOKEN_LEEWAY_SEC"]), click=click)
    except LinkInvalid:
        count_invalid_token()
        raise


def _signal(svc: Services, link: links.Link, *, clicked: bool) -> None:
    """Send the event unless this user's links are over their rate limit; never fail the
    request for it (the reader's click matters more than our signal)."""
    verdict = svc.limiter.hit(current_app.config["LIVE_LINK_RATE_LIMIT"],
                              f"live_link:user:{link.user_id}")
    if not verdict.allowed:
        return
    try:
        service.signal(svc, link, clicked=clicked)
    except SQLAlchemyError as exc:
        log.warning("live signal not recorded: database unavailable",
                    extra={"error": type(getattr(exc, "orig", exc)).__name__})


def _link_page(exc: LinkInvalid | LinkExpired) -> tuple[str, int]:
    return page_error("link-expired" if isinstance(exc, LinkExpired) else "link-invalid",
                      exc.status)


@bp.get("/l/o/<token>")
def opened(token: str) -> Response | tuple[str, int]:
    svc = services()
    try:
        svc.live.require_enabled()
        link = _verified_link(svc, token, click=False)
    except LiveDisabled:
        return page_error("disabled", 404)
    except (LinkInvalid, LinkExpired) as exc:
        return _link_page(exc)
    _signal(svc, link, clicked=False)
    response = Response(PIXEL, mimetype="image/gif")
    response.headers["Cache-Control"] = "no-store, max-age=0"
    return response


@bp.get("/l/c/<token>")
def clicked(token: str) -> WerkzeugResponse | tuple[str, int]:
    svc = services()
    try:
        svc.live.require_enabled()
        link = _verified_link(svc, token, click=True)
    except LiveDisabled:
        return page_error("disabled", 404)
    except (LinkInvalid, LinkExpired) as exc:
        return _link_page(exc)
    _signal(svc, link, clicked=True)
    assert link.url is not None  # verify(click=True) requires the signed target
    response = redirect(link.url, 302)
    response.headers["Cache-Control"] = "no-store"
    return response
