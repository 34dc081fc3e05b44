"""Per-slot registrations and entries, and the export batches (live/report.py)."""

from __future__ import annotations

from autowebinar_wp.live import report
from autowebinar_wp.live.state import META_KEYS
from tests.live.support import live_config
from tests.support import T0

K = META_KEYS


def test_counts_by_slot_follow_current_state(make_harness) -> None:
    h = make_harness(**live_config(T0))
    a, b, c, d = (h.backend.new_user() for _ in range(4))
    table = h.services.live.store.table
    with h.services.engine.connect() as conn:
        base = report.registrations_by_slot(conn, table)
    for uid, slot in ((a, "on-air"), (b, "on-air"), (c, "soon"), (d, "soon")):
        assert h.post("/api/v1/live/register", uid, json={"slot_id": slot}).status_code == 200
    h.post("/api/v1/live/join", a)  # on air: a entered the room
    h.post("/api/v1/live/register", d, json={"slot_id": "tomorrow"})  # d switched
    with h.services.engine.connect() as conn:
        got = report.registrations_by_slot(conn, table)

    def delta(slot: str) -> tuple[int, int]:
        now, was = got.get(slot, (0, 0)), base.get(slot, (0, 0))
        return now[0] - was[0], now[1] - was[1]

    assert delta("on-air") == (2, 1)
    assert delta("soon") == (1, 0)
    assert delta("tomorrow") == (1, 0)


def test_export_batches_walk_every_registration_once(make_harness) -> None:
    h = make_harness(**live_config(T0))
    users = [h.backend.new_user() for _ in range(5)]
    for uid in users:
        h.post("/api/v1/live/register", uid, json={"slot_id": "tomorrow"})
    table = h.services.live.store.table
    seen: list[int] = []
    after = 0
    with h.services.engine.connect() as conn:
        while True:
            rows = report.export_batch(conn, table, after, 2, slot_id="tomorrow")
            if not rows:
                break
            seen += [r.user_id for r in rows]
            after = rows[-1].user_id
        first = report.export_batch(conn, table, users[0] - 1, 1, slot_id="tomorrow")[0]
    assert set(users) <= set(seen) and len(seen) == len(set(seen))
    assert first.to_csv() == [users[0], "tomorrow", "2026-11-27 12:00:00",
                              "2026-11-26 12:00:00", ""]
