"""No coupling (DESIGN §7, the spec's "no run-time link between AutoWebinar and LIVE"):
the live module never reads or writes `autowebinar_*` keys, AutoWebinar never reads
`livewebinar_*` keys, and neither behaves differently because of the other's rows.

Proved on the wire of the database: every statement and every bound value each side sends
is recorded (SQLAlchemy's cursor events), on SQLite and on MariaDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from autowebinar_wp.live import links
from autowebinar_wp.live.state import META_KEYS
from autowebinar_wp.replay import replay_payloads as aw_replay
from autowebinar_wp.state import META_KEYS as AW_KEYS
from tests.live.support import LINK_SECRET, live_config
from tests.support import T0

JOIN, HB, LEAVE, CTA = ("/api/v1/session/join", "/api/v1/session/heartbeat",
                        "/api/v1/session/leave", "/api/v1/cta")


@contextmanager
def sql_log(engine: Any) -> Iterator[list[str]]:
    """Every statement with its parameters, as text."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_a: Any) -> None:
        sent.append(f"{statement} {parameters!r}")

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def bearer(h, uid: int, role: str = "viewer") -> dict[str, str]:
    return {"Authorization": f"Bearer {h.token(uid, role)}"}


def watch_autowebinar(h, uid: int) -> None:
    """Every AutoWebinar surface: the player page and API, the admin API and export."""
    assert h.client.get(f"/embed?token={h.token(uid)}").status_code == 200
    assert h.post(JOIN, uid).status_code == 200
    for t in range(10, 71, 10):
        h.clock.advance(10)
        assert h.post(HB, uid, json={"position_sec": t}).status_code == 200
    assert h.post(CTA, uid).status_code == 200
    assert h.post(LEAVE, uid, json={"position_sec": 70}).status_code == 204
    admin = bearer(h, uid, "admin")
    assert h.client.get("/api/v1/admin/funnel", headers=admin).status_code == 200
    assert h.client.get("/api/v1/admin/progress", headers=admin).status_code == 200
    assert h.client.get("/admin/export.csv", headers=admin).status_code == 200
    with h.services.engine.connect() as conn:
        list(aw_replay(conn, h.services.store.table, T0, h.services.session, ()))


def use_live(h, uid: int) -> None:
    """Every live surface: pages, API, calendar file, tracking links, admin report, CSV."""
    for path in ("/live", "/live/room"):
        assert h.client.get(f"{path}?token={h.token(uid)}").status_code == 200
    assert h.client.get("/api/v1/live/slots", headers=bearer(h, uid)).status_code == 200
    assert h.post("/api/v1/live/register", uid, json={"slot_id": "on-air"}).status_code == 200
    assert h.post("/api/v1/live/join", uid).status_code == 200
    assert h.post("/api/v1/live/register", uid, json={"slot_id": "soon"}).status_code == 200
    assert h.client.get("/live/slot/soon.ics").status_code == 200
    now = h.clock().timestamp()
    assert h.client.get(f"/l/o/{links.mint(LINK_SECRET, uid, 'n', now=now)}").status_code == 200
    click = links.mint(LINK_SECRET, uid, "n", url="https://site.example/", now=now)
    assert h.client.get(f"/l/c/{click}").status_code == 302
    admin = bearer(h, uid, "admin")
    assert h.client.get("/api/v1/admin/live", headers=admin).status_code == 200
    assert h.client.get("/admin/live/registrations.csv", headers=admin).status_code == 200


def test_the_live_module_never_touches_autowebinar_keys(make_harness) -> None:
    h = make_harness(**live_config(T0))
    uid = h.backend.new_user()
    watch_autowebinar(h, uid)  # the user has a full AutoWebinar state first
    before = h.backend.rows(uid)
    with sql_log(h.services.engine) as sent:
        use_live(h, uid)
    assert sent, "nothing was recorded"
    assert any("livewebinar_slot_id" in s for s in sent)  # the recording works
    assert [s for s in sent if "autowebinar_" in s] == []
    assert h.backend.rows(uid) == before


def test_autowebinar_never_reads_live_keys(make_harness) -> None:
    h = make_harness(**live_config(T0))
    uid = h.backend.new_user()
    use_live(h, uid)  # the user has live rows first
    before = h.backend.rows(uid, "livewebinar_")
    assert before
    with sql_log(h.services.engine) as sent:
        watch_autowebinar(h, uid)
    assert any(AW_KEYS["session_id"] in s for s in sent)
    assert [s for s in sent if "livewebinar_" in s] == []
    assert h.backend.rows(uid, "livewebinar_") == before


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """A response without what is per user or per moment by design (ids, signed values)."""
    return {k: v for k, v in body.items()
            if k not in ("session_id", "server_time", "token", "anchor")}


def test_neither_behaves_differently_because_of_the_other(make_harness) -> None:
    h = make_harness(**live_config(T0))
    plain, busy = h.backend.new_user(), h.backend.new_user()
    # `busy` has live rows (one of them garbage); `plain` has none.
    h.backend.insert_raw(busy, META_KEYS["slot_id"], "soon")
    h.backend.insert_raw(busy, META_KEYS["joined_at"], "garbage")
    assert comparable(h.post(JOIN, plain).get_json()) == comparable(h.post(JOIN, busy).get_json())
    h.clock.advance(10)
    assert comparable(h.post(HB, plain, json={"position_sec": 10}).get_json()) == \
        comparable(h.post(HB, busy, json={"position_sec": 10}).get_json())

    # AutoWebinar progress and a CTA click change nothing the live module says
    before = h.client.get("/api/v1/live/slots", headers=bearer(h, busy)).get_json()
    for t in range(20, 71, 10):
        h.clock.advance(10)
        h.post(HB, busy, json={"position_sec": t})
    assert h.post(CTA, busy).status_code == 200
    after = h.client.get("/api/v1/live/slots", headers=bearer(h, busy)).get_json()
    assert comparable(after)["registration"] == {
        **comparable(before)["registration"],
        **{k: after["registration"][k] for k in ("opens_in_sec", "starts_in_sec",
                                                 "ends_in_sec")}}
    assert [s["id"] for s in after["slots"]] == [s["id"] for s in before["slots"]]
