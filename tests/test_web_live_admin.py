"""The live admin API and CSV (web/live_admin.py): admin Bearer only, per-slot figures."""

from __future__ import annotations

import csv
import io

import pytest

from autowebinar_wp.live import links
from tests.live.support import LINK_SECRET, live_config
from tests.support import T0

REPORT, CSV = "/api/v1/admin/live", "/admin/live/registrations.csv"


@pytest.fixture
def live(make_harness):
    return make_harness(**live_config(T0))


def bearer(h, uid, role="admin"):
    return {"Authorization": f"Bearer {h.token(uid, role)}"}


def test_admin_only(live) -> None:
    uid = live.backend.new_user()
    assert live.client.get(REPORT).status_code == 401
    assert live.client.get(REPORT, headers=bearer(live, uid, "viewer")).status_code == 403
    assert live.client.get(f"{CSV}?token={live.token(uid, 'admin')}").status_code == 401
    assert live.client.get(CSV, headers=bearer(live, uid, "viewer")).status_code == 403


def test_per_slot_figures_and_signal_counts(live) -> None:
    a, b = live.backend.new_user(), live.backend.new_user()
    live.post("/api/v1/live/register", a, json={"slot_id": "on-air"})
    live.post("/api/v1/live/join", a)
    live.post("/api/v1/live/register", b, json={"slot_id": "on-air"})
    live.post("/api/v1/live/register", b, json={"slot_id": "soon"})  # switched
    now = live.clock().timestamp()
    live.client.get(f"/l/o/{links.mint(LINK_SECRET, a, 'r1', slot_id='soon', now=now)}")
    live.client.get(f"/l/o/{links.mint(LINK_SECRET, a, 'r1', slot_id='soon', now=now)}")
    click = links.mint(LINK_SECRET, b, "r1", slot_id="soon", now=now,
                       url="https://site.example/")
    live.client.get(f"/l/c/{click}")
    live.client.get(f"/l/o/{links.mint(LINK_SECRET, b, 'digest', now=now)}")

    body = live.client.get(REPORT, headers=bearer(live, a)).get_json()
    assert body["computed_at"] == "2026-11-26T12:00:00Z" and body["enabled"] is True
    rows = {r["slot_id"]: r for r in body["slots"]}
    on_air, soon = rows["on-air"], rows["soon"]
    assert (on_air["status"], soon["status"]) == ("live", "upcoming")
    assert on_air["registered"] >= 1 and on_air["joined"] >= 1
    assert on_air["signals"]["live_registered"] >= 2  # b's first choice is still counted
    assert on_air["signals"]["live_joined"] >= 1
    assert soon["signals"]["live_notification_opened"] >= 1
    assert soon["signals"]["live_link_clicked"] >= 1
    assert body["signals_without_slot"]["live_notification_opened"] >= 1
    assert "past" not in rows or rows["past"]["status"] == "ended"
    starts = [r["starts_at"] for r in body["slots"] if r["starts_at"]]
    assert starts == sorted(starts)


def test_csv_of_registrations(live) -> None:
    uid = live.backend.new_user()
    live.post("/api/v1/live/register", uid, json={"slot_id": "tomorrow"})
    response = live.client.get(CSV, headers=bearer(live, uid))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["user_id", "slot_id", "slot_starts_at_utc", "registered_at_utc",
                       "joined_at_utc"]
    assert [str(uid), "tomorrow", "2026-11-27 12:00:00", "2026-11-26 12:00:00", ""] in rows
    one = live.client.get(f"{CSV}?slot_id=tomorrow", headers=bearer(live, uid))
    assert all(r[1] == "tomorrow" for r in csv.reader(io.StringIO(one.get_data(as_text=True)))
               if r[0] != "user_id")
    bad = live.client.get(f"{CSV}?slot_id=../x", headers=bearer(live, uid))
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_parameter"
