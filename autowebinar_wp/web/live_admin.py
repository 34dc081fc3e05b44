"""The live module's admin API: per-slot figures and the registrations CSV (admin Bearer).

* `GET /api/v1/admin/live`: for each slot that is upcoming, has registrations or was the
  subject of a signal: `registered` and `joined` (current state, from usermeta: see
  live/report.py) and `signals`, the counts of each event sent for it (from the service's own
  instance store: see live/ledger.py for why it cannot come from usermeta).
* `GET /admin/live/registrations.csv[?slot_id=]`: one row per registered user.

Separate from web/admin.py on purpose: the AutoWebinar dashboard's code does not change
when the live module does.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request, stream_with_context

from autowebinar_wp.errors import InvalidParameter
from autowebinar_wp.events import iso
from autowebinar_wp.live import report
from autowebinar_wp.live.events import NAMES
from autowebinar_wp.live.schedule import SLOT_ID_RE
from autowebinar_wp.services import services
from autowebinar_wp.web.auth import require_admin, with_token

bp = Blueprint("live_admin", __name__)


def _signals(counter: Counter[str] | None) -> dict[str, int]:
    return {name: (counter or Counter())[name] for name in NAMES}


def live_report() -> dict[str, Any]:
    svc = services()
    live, now = svc.live, svc.now()
    with svc.engine.connect() as conn:
        by_slot = report.registrations_by_slot(conn, live.store.table)
    sent = live.ledger.counts()
    upcoming = {s.id: s for s in live.schedule.upcoming(now, live.slots_shown)}
    ids = set(by_slot) | {k for k in sent if k is not None} | set(upcoming)
    rows = []
    for slot_id in ids:
        slot = upcoming.get(slot_id) or live.schedule.find(slot_id)
        registered, joined = by_slot.get(slot_id, (0, 0))
        rows.append({
            "slot_id": slot_id,
            "title": slot.title if slot else None,
            "starts_at": iso(slot.starts_at) if slot else None,
            "status": slot.status(now) if slot else "unavailable",
            "registered": registered,
            "joined": joined,
            "signals": _signals(sent.get(slot_id)),
        })
    never = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (r["starts_at"] or iso(never), r["slot_id"]))
    totals: Counter[str] = Counter()
    for counter in sent.values():
        totals.update(counter)
    return {
        "computed_at": iso(now),
        "enabled": live.enabled,
        "timezone": live.schedule.timezone,
        "slots": rows,
        "totals": {"registered": sum(r["registered"] for r in rows),
                   "joined": sum(r["joined"] for r in rows),
                   "signals": _signals(totals)},
        "signals_without_slot": _signals(sent.get(None)),
    }


@bp.get("/api/v1/admin/live")
def overview() -> Response:
    viewer = require_admin()
    return with_token(live_report(), viewer)


def csv_text(rows: list[report.Registration], header: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(report.CSV_HEADER)
    writer.writerows(row.to_csv() for row in rows)
    return buffer.getvalue()


@bp.get("/admin/live/registrations.csv")
def registrations_csv() -> Response:
    require_admin()
    slot_id = request.args.get("slot_id") or None
    if slot_id is not None and not SLOT_ID_RE.match(slot_id):
        raise InvalidParameter("slot_id is not a slot id.")
    svc = services()
    engine, table, size = svc.engine, svc.live.store.table, report.EXPORT_BATCH
    # The first batch runs before the response starts: a database outage is a clean 503.
    with engine.connect() as conn:
        first = report.export_batch(conn, table, 0, size, slot_id)

    def generate() -> Iterator[str]:
        rows = first
        yield csv_text(rows, header=True)
        while len(rows) == size:
            with engine.connect() as conn:  # one short connection per batch
                rows = report.export_batch(conn, table, rows[-1].user_id, size, slot_id)
            yield csv_text(rows)

    stamp = svc.now().strftime("%Y%m%d-%H%M%S")
    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="live-registrations-{stamp}.csv"')
    return response
