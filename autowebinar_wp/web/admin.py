"""The admin dashboard: GET /admin (HTML), the funnel and progress JSON API, the CSV export.

Admin tokens only (role=admin, verified exactly as the viewer's): no token or a bad one is
401, a viewer token 403. The JSON API takes `Authorization: Bearer`; the HTML page and the
CSV link take `?token=`, because the WordPress plugin embeds `/admin?token=` in an iframe
and a download link cannot set headers. The page keeps the token in memory only (the
script removes it from the address bar; Referrer-Policy: no-referrer keeps it out of
Referers). Every query is read-only and runs outside any lock.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from autowebinar_wp import admin, tokens
from autowebinar_wp.errors import Forbidden, InvalidParameter, NotAdmin, TokenExpired, Unauthorized
from autowebinar_wp.services import services
from autowebinar_wp.web.auth import require_admin, verify_token, with_token

bp = Blueprint("admin", __name__)

DEFAULT_PER_PAGE = 50
MAX_PAGE = 10**7


def admin_from_query(token: str | None) -> tokens.Viewer:
    """The dashboard page and the CSV link still carry `?token=` (until the fragment move)."""
    viewer = verify_token(token)
    if viewer.role != "admin":
        raise NotAdmin()
    return viewer


# ---- query parameters ------------------------------------------------------------------------


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise InvalidParameter(f"{name} must be a whole number from {low} to {high}.")
    value = int(raw)
    if not low <= value <= high:
        raise InvalidParameter(f"{name} must be a whole number from {low} to {high}.")
    return value


def choice_arg(name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise InvalidParameter(f"{name} must be one of: {', '.join(allowed)}.")
    return raw


# ---- JSON API --------------------------------------------------------------------------------


@bp.get("/api/v1/admin/funnel")
def funnel() -> Response:
    viewer = require_admin()
    svc = services()
    with svc.engine.connect() as conn:
        result = admin.funnel(conn, svc.store.table)
    return with_token({**result.to_dict(), "generated_at": generated_at()}, viewer)


@bp.get("/api/v1/admin/progress")
def progress() -> Response:
    viewer = require_admin()
    page = int_arg("page", 1, 1, MAX_PAGE)
    per_page = int_arg("per_page", DEFAULT_PER_PAGE, 1, admin.MAX_PER_PAGE)
    sort = choice_arg("sort", admin.DEFAULT_SORT, tuple(admin.SORTS))
    order = choice_arg("order", "desc", ("asc", "desc"))
    svc = services()
    with svc.engine.connect() as conn:
        result = admin.progress_page(conn, svc.store.table, page=page, per_page=per_page,
                                     sort=sort, descending=order == "desc")
    return with_token({**result.to_json(), "generated_at": generated_at()}, viewer)


def generated_at() -> str:
    return services().now().isoformat(timespec="seconds")


# ---- CSV export ------------------------------------------------------------------------------


def csv_lines(rows: list[admin.ProgressRow], header: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(admin.CSV_HEADER)
    writer.writerows(row.to_csv() for row in rows)
    return buffer.getvalue()


@bp.get("/admin/export.csv")
def export_csv() -> Response:
    admin_from_query(request.args.get("token"))
    svc = services()
    engine, table, size = svc.engine, svc.store.table, admin.EXPORT_BATCH
    # The first batch runs before the response starts, so an unreachable database is a
    # clean 503 rather than a truncated download.
    with engine.connect() as conn:
        first = admin.export_batch(conn, table, 0, size)

    def generate() -> Iterator[str]:
        rows = first
        yield csv_lines(rows, header=True)
        while len(rows) == size:
            # One short connection per batch: a slow download holds no pooled connection.
            with engine.connect() as conn:
                rows = admin.export_batch(conn, table, rows[-1].user_id, size)
            yield csv_lines(rows)

    stamp = services().now().strftime("%Y%m%d-%H%M%S")
    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="autowebinar-progress-{stamp}.csv"'
    )
    return response


# ---- the dashboard page ----------------------------------------------------------------------


@bp.get("/admin")
def dashboard() -> tuple[str, int] | str:
    token = request.args.get("token", "")
    try:
        admin_from_query(token)
    except TokenExpired:
        return render_template("admin.html", error="expired"), 401
    except Unauthorized:
        return render_template("admin.html", error="invalid"), 401
    except Forbidden:
        return render_template("admin.html", error="forbidden"), 403
    return render_template("admin.html", error=None, dashboard=dashboard_config(token))


def dashboard_config(token: str) -> dict[str, Any]:
    config = current_app.config
    site = config["SITE_URL"]
    return {
        "token": token,
        "api": {
            "funnel": url_for("admin.funnel"),
            "progress": url_for("admin.progress"),
            "export": url_for("admin.export_csv"),
        },
        "userEditUrl": f"{site}/wp-admin/user-edit.php?user_id=" if site else "",
        "perPage": DEFAULT_PER_PAGE,
        "perPageChoices": [25, 50, 100, 200],
        "locale": config["LOCALE"],
        "i18n": {
            "sessions": _("Sessions"),
            "joined": _("Joined"),
            "reached": _("Reached %(percent)s%%", percent="{percent}"),
            "completed": _("Watched to the end"),
            "ctaClicks": _("CTA clicks"),
            "ofSessions": _("%(rate)s of sessions", rate="{rate}"),
            "joinedPerSession": _("Joined / sessions"),
            "completedPerJoined": _("Completed / joined"),
            "ctaPerJoined": _("CTA clicks / joined"),
            "ctaPerSession": _("CTA clicks / sessions"),
            "yes": _("Yes"),
            "no": _("No"),
            "never": _("not yet"),
            "notJoined": _("waiting room"),
            "pageOf": _("Page %(page)s of %(pages)s", page="{page}", pages="{pages}"),
            "usersTotal": _("Users with a session: %(total)s", total="{total}"),
            "empty": _("No sessions yet."),
            "expired": _("The dashboard link has expired. Reload the page to continue."),
            "failed": _("Could not load the data. Try again in a moment."),
            "updated": _("Updated %(time)s", time="{time}"),
            "timeZone": _("Times are in your browser's time zone (%(zone)s).", zone="{zone}"),
            "editUser": _("Open user %(id)s in WordPress", id="{id}"),
        },
    }
