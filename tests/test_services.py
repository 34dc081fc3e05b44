"""services.py: one services object per app, one clock reading per request."""

from __future__ import annotations

from autowebinar_wp.services import EXTENSION, Services, services

JOIN, HB = "/api/v1/session/join", "/api/v1/session/heartbeat"


def test_one_typed_services_object_replaces_the_flat_keys(harness) -> None:
    found = harness.app.extensions[EXTENSION]
    assert isinstance(found, Services) and services(harness.app) is found
    assert not [k for k in harness.app.extensions if k.startswith("autowebinar.")]


def test_a_request_reads_the_clock_once_and_every_part_agrees(harness) -> None:
    uid = harness.backend.new_user()
    harness.post(JOIN, uid)
    harness.clock.advance(10)
    reads = []

    def counting():
        reads.append(harness.clock())
        return reads[-1]

    harness.services.clock = counting
    response = harness.post(HB, uid, json={"position_sec": 10})
    assert response.status_code == 200
    # token check, rate limiter (and its Retry-After header), session rules: one reading
    assert len(reads) == 1
    assert int(response.headers["X-RateLimit-Reset"]) >= int(reads[0].timestamp())


def test_the_outbox_and_the_limiter_follow_a_replaced_clock(harness) -> None:
    svc = harness.services
    harness.clock.advance(3600)
    with harness.app.app_context():
        assert svc.outbox.clock() == harness.clock().timestamp()
        assert svc.limiter.hit("1 per minute", "k").reset_at > harness.clock().timestamp()
