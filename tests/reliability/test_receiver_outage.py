"""The webhook receiver is down while viewers cross every milestone and click the CTA; it
comes back, and the queue consumer is killed with -9 in the middle of a delivery.

Every event that the committed usermeta state implies (replay.derive: the same rule the
outbox's crash recovery uses) is delivered at least once with a valid Standard Webhooks
signature; duplicates are counted, not forbidden (at-least-once, as Stripe and Svix promise).
The retry schedule is shortened through WEBHOOK_RETRY_SCHEDULE; `serve` restarts the killed
consumer, and the restarted consumer recovers the delivery the dead one held.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest

from autowebinar_wp.events import event_id
from autowebinar_wp.replay import derive
from autowebinar_wp.session import SessionConfig
from tests import processes
from tests.reliability import figures
from tests.reliability.crowd import LOAD_LIMITS, Crowd, Viewer
from tests.support import free_port
from tests.webhook_receiver import SECRET as RECEIVER_SECRET
from tests.webhook_receiver import running_receiver

pytestmark = [pytest.mark.reliability, pytest.mark.mysql, pytest.mark.slow]

VIEWERS = 8
DURATION_SEC, CTA_AT_SEC = 8, 4
# Up to ~40 s of retries, every 2 s: the outage and the consumer's restart fit in it.
RETRIES = ",".join(["0", "1", "1", "1"] + ["2"] * 18)


def test_receiver_down_then_consumer_killed_mid_delivery(mysql_backend, tmp_path) -> None:
    port = free_port()  # nothing listens here until the receiver comes back
    env = processes.environment(
        mysql_backend.url, tmp_path / "instance",
        AUTOWEBINAR_WEBHOOK_URLS=f"http://127.0.0.1:{port}/hooks",
        AUTOWEBINAR_WEBHOOK_SECRET=RECEIVER_SECRET,
        AUTOWEBINAR_WEBHOOK_RETRY_SCHEDULE=RETRIES,
        AUTOWEBINAR_WEBHOOK_TIMEOUT_SEC="2",
        AUTOWEBINAR_OUTBOX_RECOVERY_SEC="1",
        AUTOWEBINAR_VIDEO_DURATION_SEC=str(DURATION_SEC),
        AUTOWEBINAR_CTA_AT_SEC=str(CTA_AT_SEC),
        **LOAD_LIMITS,
    )
    users = [mysql_backend.new_user() for _ in range(VIEWERS)]
    with processes.server(env, "--workers", "2") as served:
        crowd = Crowd([served.base], users)
        crowd.join_all()
        clicked: set[int] = set()

        def watch(viewer: Viewer) -> None:  # a player: heartbeats, and the CTA once visible
            response = crowd.heartbeat(viewer)
            if (viewer.user_id not in clicked and response is not None
                    and response.status_code == 200 and response.json()["cta_visible"]):
                assert crowd.post(viewer, "cta").status_code == 200  # type: ignore[union-attr]
                clicked.add(viewer.user_id)

        crowd.run(DURATION_SEC + 2, 0.5, threads=4, each=watch)
        for viewer in crowd.viewers:
            crowd.post(viewer, "leave", {"position_sec": viewer.position()})
        crowd.close()
        assert all(s.status in (200, 204) for s in crowd.log), crowd.statuses()
        assert clicked == set(users)

        expected: dict[str, str] = {}  # event id -> name, from the committed state
        for uid in users:
            for event in derive(mysql_backend.store.read(uid).state,
                                SessionConfig(DURATION_SEC, cta_at_sec=CTA_AT_SEC)):
                expected[event_id(event)] = event.name
        assert len(expected) == VIEWERS * 8  # created, join, 4 milestones, completed, cta

        consumers = served.consumers()
        assert len(consumers) == 1, consumers
        with running_receiver(port=port, stall_first=3.0, stall_status=503) as receiver:
            up_at = time.monotonic()
            assert receiver.arrived.wait(15), "no delivery reached the receiver"
            os.kill(consumers[0], signal.SIGKILL)  # while the receiver holds a delivery
            killed_at = time.monotonic()
            restarted = processes.wait_until(
                lambda: bool(served.consumers()) and served.consumers() != consumers, 15)

            def all_delivered() -> bool:
                return set(expected) <= {e[2] for e in receiver.events()}

            took = processes.wait_until(all_delivered, 60, step=0.2)
            time.sleep(1)  # late duplicates, if any, arrive now
            events = receiver.events()
            rejected = receiver.rejected
            deliveries = list(receiver.deliveries)
            stalled = receiver.stalled_id
    delivered = Counter(e[2] for e in events)
    figures.record(
        "receiver_outage", viewers=VIEWERS, events_expected=len(expected),
        events_delivered=len(set(delivered) & set(expected)),
        deliveries=len(events), duplicates=len(events) - len(delivered),
        bad_signatures=rejected,
        consumer_restarted_sec=None if restarted is None else round(restarted, 2),
        all_delivered_after_receiver_up_sec=(None if took is None
                                             else round(killed_at - up_at + took, 1)),
    )
    assert restarted is not None, "serve did not restart the killed consumer"
    missing = set(expected) - set(delivered)
    assert not missing, f"{len(missing)} events never delivered: {sorted(missing)[:5]}"
    assert set(delivered) <= set(expected), "an event no committed change implies"
    assert rejected == 0
    assert all(d["webhook-id"] == d["payload"]["event_id"] for d in deliveries)
    assert stalled in delivered, "the delivery cut off by the kill was never completed"
