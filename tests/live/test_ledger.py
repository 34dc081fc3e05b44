"""The signal ledger (live/ledger.py): one marker per sent event id in the instance store,
first-time checks across processes, per-slot counts, and out of the outbox's way."""

from __future__ import annotations

from autowebinar_wp import create_app
from autowebinar_wp.live import links
from autowebinar_wp.live.ledger import SignalLedger, marker
from tests.live.support import LINK_SECRET, live_config
from tests.support import T0, attach

REGISTER = "/api/v1/live/register"


def test_markers_name_the_slot_and_the_event() -> None:
    body = {"event": "live_link_clicked", "event_id": "e-1", "slot_id": None}
    assert marker(body) == "lw:-:live_link_clicked:e-1"
    assert marker({**body, "slot_id": "s"}) == "lw:s:live_link_clicked:e-1"


def test_signals_are_counted_once_per_event_id_across_processes(make_harness) -> None:
    """Two apps on one instance store (two gunicorn workers): one pixel event, not two."""
    first = make_harness(**live_config(T0))
    config = dict(first.app.config)
    second = attach(create_app({k: config[k] for k in ("DATABASE_URL", "EMBED_SECRET",
                                                       "LIVE", "LIVE_LINK_SECRET", "LOCALE")},
                               instance_path=first.app.instance_path), first.backend)
    try:
        uid = first.backend.new_user()
        token = links.mint(LINK_SECRET, uid, "digest", now=T0.timestamp())
        assert first.client.get(f"/l/o/{token}").status_code == 200
        assert second.client.get(f"/l/o/{token}").status_code == 200
        assert [n for _u, n, _p in first.events + second.events] == [
            "live_notification_opened"]
        ledger: SignalLedger = second.services.live.ledger
        assert ledger.counts()[None]["live_notification_opened"] == 1
    finally:
        second.detach()
        second.services.engine.dispose()


def test_the_ledger_keeps_out_of_the_outboxs_way(make_harness) -> None:
    h = make_harness(**live_config(T0))
    uid = h.backend.new_user()
    h.post(REGISTER, uid, json={"slot_id": "soon"})
    h.client.get(f"/l/o/{links.mint(LINK_SECRET, uid, 'n1', now=T0.timestamp())}")
    storage = h.services.outbox.huey.storage
    assert not [k for k in storage.result_items() if str(k).startswith("lw:")]
    counts = h.services.live.ledger.counts()
    assert counts["soon"]["live_registered"] == 1
    assert counts[None]["live_notification_opened"] == 1
