"""The live module's actions through the real outbox: every signal reaches a verifying
receiver with the documented payload, crash recovery re-derives registrations from state,
and tracking-link signals are sent once across processes (live/service.py, live/ledger.py)."""

from __future__ import annotations

from datetime import timedelta

from autowebinar_wp.live import links, service
from autowebinar_wp.live.events import Joined, LinkClicked, NotificationOpened, Registered
from autowebinar_wp.live.state import META_KEYS
from tests.live.support import LINK_SECRET, live_config
from tests.support import T0
from tests.webhook_receiver import consuming, running_receiver

REGISTER, JOIN = "/api/v1/live/register", "/api/v1/live/join"
K = META_KEYS


def webhook_live(make_harness, receiver, **overrides):
    return make_harness(**live_config(T0), WEBHOOK_URLS=[receiver.url],
                        WEBHOOK_SECRET=receiver.secret, WEBHOOK_RETRY_SCHEDULE=[0, 0, 0, 0],
                        WEBHOOK_TIMEOUT_SEC=2, **overrides)


def test_a_receiver_verifies_every_signal(make_harness) -> None:
    with running_receiver() as receiver:
        h = webhook_live(make_harness, receiver)
        uid = h.backend.new_user(where=lambda u: u % 5 == 0)  # Core gave them invited_by
        ref = str(uid // 5)
        soon, tomorrow = (h.services.live.schedule.find(i) for i in ("soon", "tomorrow"))
        assert h.post(REGISTER, uid, json={"slot_id": "soon"}).status_code == 200
        h.clock.advance(60)
        assert h.post(REGISTER, uid, json={"slot_id": "tomorrow"}).status_code == 200
        h.clock.current = tomorrow.opens_at + timedelta(seconds=5)
        assert h.post(JOIN, uid).get_json()["status"] == "open"
        opened = links.mint(LINK_SECRET, uid, "reminder-1h", slot_id="tomorrow",
                            now=h.clock().timestamp())
        target = "https://site.example/webinars/live/?from=email"
        clicked = links.mint(LINK_SECRET, uid, "reminder-1h", url=target,
                             slot_id="tomorrow", now=h.clock().timestamp())
        assert h.client.get(f"/l/o/{opened}").status_code == 200
        assert h.client.get(f"/l/o/{opened}").status_code == 200  # a proxy's second fetch
        assert h.client.get(f"/l/c/{clicked}").status_code == 302
        outbox = h.services.outbox
        assert outbox.pending() == 5  # durable, nothing sent on the request path
        with consuming(outbox):
            receiver.wait_for(5)
        assert receiver.rejected == 0 and outbox.pending() == 0

        by_name: dict[str, list[dict]] = {}
        for delivery in receiver.deliveries:
            body = delivery["payload"]
            assert delivery["webhook-id"] == body["event_id"]  # receivers deduplicate on it
            by_name.setdefault(body["event"], []).append(body)
        first, second = sorted(by_name["live_registered"], key=lambda b: b["timestamp"])
        assert first == {
            "event": "live_registered",
            "event_id": Registered("soon", T0, soon.starts_at).event_id(uid),
            "user_id": uid, "ref_id": ref, "timestamp": "2026-11-26T12:00:00Z",
            "slot_id": "soon", "slot_starts_at": "2026-11-26T12:30:00Z",
            "registered_at": "2026-11-26T12:00:00Z", "previous_slot_id": None,
        }
        assert (second["slot_id"], second["previous_slot_id"], second["registered_at"]) == (
            "tomorrow", "soon", "2026-11-26T12:01:00Z")
        (joined,) = by_name["live_joined"]
        assert joined == {"event": "live_joined",
                          "event_id": Joined("tomorrow", T0).event_id(uid),
                          "user_id": uid, "ref_id": ref, "slot_id": "tomorrow",
                          "timestamp": "2026-11-27T11:50:05Z"}
        (pixel,) = by_name["live_notification_opened"]
        assert pixel == {"event": "live_notification_opened",
                         "event_id": NotificationOpened("tomorrow", T0, "reminder-1h")
                         .event_id(uid),
                         "user_id": uid, "ref_id": ref, "slot_id": "tomorrow",
                         "timestamp": "2026-11-27T11:50:05Z", "notification": "reminder-1h"}
        (click,) = by_name["live_link_clicked"]
        assert click == {"event": "live_link_clicked",
                         "event_id": LinkClicked("tomorrow", T0, "reminder-1h", target)
                         .event_id(uid),
                         "user_id": uid, "ref_id": ref, "slot_id": "tomorrow",
                         "timestamp": "2026-11-27T11:50:05Z", "notification": "reminder-1h",
                         "url": target}


def test_a_registration_whose_process_died_after_commit_is_recovered(make_harness,
                                                                     monkeypatch) -> None:
    with running_receiver() as receiver:
        h = webhook_live(make_harness, receiver, OUTBOX_RECOVERY_SEC=1)
        outbox = h.services.outbox
        uid = h.backend.new_user()
        # The process "dies" between the usermeta COMMIT and the enqueue.
        monkeypatch.setattr(outbox, "commit", lambda intent: None)
        assert h.post(REGISTER, uid, json={"slot_id": "soon"}).status_code == 200
        # ...and another intent whose COMMIT never happened (a rolled-back registration).
        ghost = h.services.live.payloads([Registered("tomorrow", T0, T0)], uid, {})
        outbox.prepare(uid, ghost, service.KIND)
        monkeypatch.undo()
        assert outbox.pending() == 0
        h.clock.advance(5)
        with h.app.app_context():
            counts = outbox.sweep()
        assert (counts["intents"], counts["recovered_events"], counts["dropped_events"]) == (
            2, 1, 1)
        with consuming(outbox):
            receiver.wait_for(1)
        ((name, _p, event_id),) = receiver.events()
        assert name == "live_registered"
        assert event_id == Registered("soon", T0, T0).event_id(uid)
