"""The admin dashboard: GET /admin (HTML), its JSON API, the CSV export.

Every endpoint but the page takes an admin token as `Authorization: Bearer` (401 without a
valid one, 403 for a viewer's); admin tokens are never refreshed. The page itself carries
no token: the WordPress plugin opens `/admin#token=…`, the fragment never reaches a server
or a log, and the page's script keeps the token in memory and clears the fragment.

The aggregates (funnel, retention, the order of the table) come from a snapshot
(snapshots.py); the rows of a page and the export are read fresh. This module shapes
reports into JSON and CSV; the SQL is in reports.py.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from autowebinar_wp import reports
from autowebinar_wp.codec import DATETIME_FORMAT
from autowebinar_wp.errors import InvalidParameter
from autowebinar_wp.services import services
from autowebinar_wp.snapshots import Served, SnapshotPending
from autowebinar_wp.web.auth import require_admin

bp = Blueprint("admin", __name__)

DEFAULT_PER_PAGE = 50
MAX_PAGE = 10**7
DEFAULT_BUCKET_SEC = 60
EXPORT_BATCH_USERS = 1000  # users per export query


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


# ---- shaping -----------------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def freshness(served: Served) -> dict[str, Any]:
    return {"computed_at": served.snapshot.computed_at.isoformat(timespec="seconds"),
            "stale": served.stale, "refreshing": served.refreshing}


def funnel_json(funnel: reports.Funnel) -> dict[str, Any]:
    return {**dict(funnel.stages()), "rates": funnel.rates()}


def row_json(row: reports.ProgressRow) -> dict[str, Any]:
    return {
        "user_id": row.user_id,
        "session_id": row.session_id,
        "started_at": iso(row.started_at),
        "last_seen_at": iso(row.last_seen_at),
        "joined": row.joined,
        "position_sec": row.position_sec,
        "progress_percent": row.progress_percent,
        "completed": row.completed,
        "cta_clicked_at": iso(row.cta_clicked_at),
    }


def retention_json(served: Served, histogram: reports.Ints, bucket_sec: int,
                   cta_at_sec: int) -> dict[str, Any]:
    points = reports.retention_points(histogram, bucket_sec, also=(cta_at_sec,))
    joined = points[0][1]
    return {
        **freshness(served),
        "bucket_sec": bucket_sec,
        "duration_sec": served.snapshot.duration_sec,
        "cta_at_sec": cta_at_sec,
        "joined": joined,
        "points": [{"t": t, "viewers": viewers,
                    "percent": round(100 * viewers / joined, 1) if joined else None}
                   for t, viewers in points],
    }


CSV_HEADER = ["user_id", "session_id", "started_at_utc", "last_seen_at_utc", "joined",
              "position_sec", "progress_percent", "completed", "cta_clicked_at_utc"]


def csv_text(value: str) -> str:
    """Hand-edited text must not become a spreadsheet formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def row_csv(row: reports.ProgressRow) -> list[str | int]:
    def wp(moment: datetime | None) -> str:
        return moment.strftime(DATETIME_FORMAT) if moment else ""

    return [row.user_id, csv_text(row.session_id or ""), wp(row.started_at),
            wp(row.last_seen_at), int(row.joined), row.position_sec, row.progress_percent,
            int(row.completed), wp(row.cta_clicked_at)]


def csv_lines(rows: list[reports.ProgressRow], header: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_HEADER)
    writer.writerows(row_csv(row) for row in rows)
    return buffer.getvalue()


# ---- JSON API --------------------------------------------------------------------------------


def served() -> Served:
    svc = services()
    return svc.snapshots.current(svc.now())


@bp.get("/api/v1/admin/funnel")
def funnel() -> Response:
    require_admin()
    snapshot = served()
    return jsonify({**funnel_json(snapshot.snapshot.funnel), **freshness(snapshot)})


@bp.get("/api/v1/admin/retention")
def retention() -> Response:
    require_admin()
    duration = services().session.duration_sec
    bucket = int_arg("bucket_sec", min(DEFAULT_BUCKET_SEC, duration), 1, duration)
    snapshot = served()
    histogram = services().snapshots.retention(snapshot.snapshot)
    return jsonify(retention_json(snapshot, histogram, bucket, services().session.cta_at))


@bp.get("/api/v1/admin/progress")
def progress() -> Response:
    require_admin()
    page = int_arg("page", 1, 1, MAX_PAGE)
    per_page = int_arg("per_page", DEFAULT_PER_PAGE, 1, reports.MAX_PER_PAGE)
    sort = choice_arg("sort", reports.DEFAULT_SORT, reports.SORTS)
    order = choice_arg("order", "desc", ("asc", "desc"))
    svc = services()
    for attempt in (1, 2):  # a rebuild may prune the order just read: read the new one
        snapshot = served()
        try:
            ids = svc.snapshots.page_ids(snapshot.snapshot, sort, order == "desc",
                                         (page - 1) * per_page, per_page)
            break
        except SnapshotPending:
            if attempt == 2:
                raise
    with svc.engine.connect() as conn:
        rows = reports.progress_rows(conn, svc.store.table, ids)
    total = snapshot.snapshot.members
    return jsonify({
        "rows": [row_json(row) for row in rows], "total": total, "page": page,
        "per_page": per_page, "pages": max(1, -(-total // per_page)), "sort": sort,
        "order": order, **freshness(snapshot),
    })


@bp.post("/api/v1/admin/refresh")
def refresh() -> tuple[Response, int]:
    """Rebuild the snapshot in the background (or join the rebuild under way): 202."""
    require_admin()
    snapshots = services().snapshots
    started = snapshots.refresh()
    current = snapshots.read()
    return jsonify({
        "refreshing": True, "started": started,
        "computed_at": current.computed_at.isoformat(timespec="seconds") if current else None,
    }), 202


# ---- CSV export ------------------------------------------------------------------------------


@bp.get("/admin/export.csv")
def export_csv() -> Response:
    require_admin()
    svc = services()
    batches = reports.export_batches(svc.engine, svc.store.table, EXPORT_BATCH_USERS)
    # The first batch is read before the response starts, so an unreachable database is a
    # clean 503 rather than a truncated download.
    first = next(batches, [])

    def generate() -> Iterator[str]:
        yield csv_lines(first, header=True)
        for rows in batches:  # one short connection per batch: a slow client holds none
            yield csv_lines(rows)

    stamp = svc.now().strftime("%Y%m%d-%H%M%S")
    response = Response(generate(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="autowebinar-progress-{stamp}.csv"'
    )
    return response


# ---- the dashboard page ----------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One more panel of the dashboard: a template to include and a script that calls
    `window.awAdmin.addSection(load)` (admin.js) to fetch and draw it with the page's token."""

    template: str
    script: str  # under static/


SECTIONS: list[Section] = []


def add_section(section: Section) -> None:
    if section not in SECTIONS:
        SECTIONS.append(section)


@bp.get("/admin")
def dashboard() -> str:
    """The page; its token arrives in the URL fragment, which only the browser sees."""
    return render_template("admin.html", dashboard=dashboard_config(), sections=SECTIONS)


def dashboard_config() -> dict[str, Any]:
    config = current_app.config
    site = config["SITE_URL"]
    return {
        "api": {
            "funnel": url_for("admin.funnel"),
            "retention": url_for("admin.retention"),
            "progress": url_for("admin.progress"),
            "refresh": url_for("admin.refresh"),
            "export": url_for("admin.export_csv"),
        },
        "userEditUrl": f"{site}/wp-admin/user-edit.php?user_id=" if site else "",
        "perPage": DEFAULT_PER_PAGE,
        "perPageChoices": [25, 50, 100, 200],
        "bucketSec": min(DEFAULT_BUCKET_SEC, services().session.duration_sec),
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
            "failed": _("Could not load the data. Try again in a moment."),
            "asOf": _("As of %(time)s", time="{time}"),
            "staleNote": _("updating in the background…"),
            "refreshing": _("Updating…"),
            "timeZone": _("Times are in your browser's time zone (%(zone)s).", zone="{zone}"),
            "editUser": _("Open user %(id)s in WordPress", id="{id}"),
            "downloading": _("Preparing the file…"),
            "noToken": _("This dashboard link is not valid. Open the AutoWebinar page in "
                         "the WordPress admin."),
            "expired": _("This dashboard link has expired. Reload the page in WordPress to "
                         "get a fresh one."),
            "forbidden": _("This link does not open the dashboard: only site administrators "
                           "can see viewing progress."),
            "retentionSummary": _("%(joined)s viewers joined; %(end)s (%(percent)s) stayed to "
                                  "the end.", joined="{joined}", end="{end}",
                                  percent="{percent}"),
            "cta": _("CTA"),
            "ctaAt": _("Call to action at %(time)s", time="{time}"),
            "minute": _("Minute of the recording"),
            "noJoined": _("Nobody has joined yet, so there is no curve to draw."),
        },
    }
