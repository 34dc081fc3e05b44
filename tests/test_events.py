"""Outgoing events: payloads, signing, delivery, retries, queues, replay."""

from __future__ import annotations

import random
import uuid

import pytest
from click.testing import CliRunner

from autowebinar_wp.events import payload, ref_id
from autowebinar_wp.outbox import DEFAULT_RETRY_SCHEDULE, backoff, classify, safe_url
from autowebinar_wp.replay import derive
from autowebinar_wp.services import services
from autowebinar_wp.session import ProgressReached, SessionConfig
from tests.support import T0, clear_config_env, session_event_id
from tests.webhook_receiver import SECRET as RECEIVER_SECRET
from tests.webhook_receiver import consuming, running_receiver

JOIN, HB, CTA = "/api/v1/session/join", "/api/v1/session/heartbeat", "/api/v1/cta"
FAST = [0, 0, 0, 0]


# ---- pure parts ------------------------------------------------------------------------------


def test_event_ids_are_deterministic_uuid5() -> None:
    sid = "0b7f4c1e-6a0e-4b8e-9a55-8c3f1f1f2a10"
    first = session_event_id(sid, "autowebinar_progress", 50)
    assert first == session_event_id(sid, "autowebinar_progress", 50)
    assert first != session_event_id(sid, "autowebinar_progress", 75)
    assert first != session_event_id("another-session", "autowebinar_progress", 50)
    assert uuid.UUID(first).version == 5


def test_payload_is_the_spec_minimum_plus_progress_alias() -> None:
    body = payload(ProgressReached("s", T0, 50), 7, "partner-1")
    assert body == {
        "event": "autowebinar_progress",
        "event_id": session_event_id("s", "autowebinar_progress", 50),
        "user_id": 7, "ref_id": "partner-1", "timestamp": "2026-11-26T12:00:00Z",
        "progress": 50, "name": "autowebinar_view_50",
    }


@pytest.mark.parametrize(
    ("ref", "expected"),
    [({"invited_by": "9", "wh_ref": "w", "ref": "r"}, "9"),
     ({"invited_by": "", "wh_ref": "w", "ref": "r"}, "w"),
     ({"invited_by": " ", "ref": "r"}, "r"),
     ({}, None)],
)
def test_ref_id_is_the_first_non_empty_key(ref, expected) -> None:
    assert ref_id(ref, ["invited_by", "wh_ref", "ref"]) == expected


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "done"), (204, "done"), (400, "failed"), (401, "failed"), (404, "failed"),
     (410, "failed"), (408, "retry"), (429, "retry"), (500, "retry"), (503, "retry"),
     (None, "retry"), (301, "failed")],
)
def test_status_classification(status, outcome) -> None:
    assert classify(status) == outcome


def test_backoff_follows_the_schedule_with_jitter() -> None:
    rng = random.Random(1)
    for attempt, base in enumerate(DEFAULT_RETRY_SCHEDULE):
        delays = [backoff(DEFAULT_RETRY_SCHEDULE, attempt, rng) for _ in range(50)]
        assert all(base * 0.8 <= d <= base * 1.2 for d in delays)
        if base:
            assert len(set(delays)) > 1  # jittered
    assert sum(DEFAULT_RETRY_SCHEDULE) / 3600 > 27  # retried over more than a day


def test_logged_urls_lose_credentials_and_query() -> None:
    assert safe_url("https://user:pw@hooks.example:8443/in?token=abc") == \
        "https://hooks.example:8443/in"


def test_derive_matches_what_a_session_emitted() -> None:
    from autowebinar_wp.session import Cta, Heartbeat, Join, decide
    from autowebinar_wp.state import State

    config = SessionConfig(duration_sec=100, cta_at_sec=60)
    state, emitted = State(), []
    from datetime import timedelta

    now, anchor = T0, None
    for action in [Join("sid"), *[Heartbeat(t) for t in range(10, 101, 10)], Cta()]:
        if isinstance(action, Heartbeat):
            action = Heartbeat(action.position_sec, anchor)
        out = decide(state, action, now, config)
        state, now, anchor = out.state, now + timedelta(seconds=10), out.anchor or anchor
        emitted += out.events
    ids = [payload(e, 1, None)["event_id"] for e in emitted]
    assert [payload(e, 1, None)["event_id"] for e in derive(state, config)] == ids


# ---- delivery through a real queue and a real receiver -------------------------------------


def webhook_harness(make_harness, receiver, **overrides):
    config = {"WEBHOOK_URLS": [receiver.url], "WEBHOOK_SECRET": receiver.secret,
              "WEBHOOK_RETRY_SCHEDULE": FAST, "WEBHOOK_TIMEOUT_SEC": 2, **overrides}
    return make_harness(**config)


def view_everything(harness, uid: int) -> None:
    harness.post(JOIN, uid)
    for t in range(10, 101, 10):
        harness.clock.advance(10)
        harness.post(HB, uid, json={"position_sec": t})
    assert harness.post(CTA, uid).status_code == 200
    assert harness.post(CTA, uid).status_code == 200  # a second click: no second event


def expected_events(harness, uid: int) -> list[tuple[str, int | None, str]]:
    sid = harness.backend.meta(uid)["autowebinar_session_id"]
    names = [("autowebinar_session_created", None), ("autowebinar_join", None)]
    names += [("autowebinar_progress", m) for m in (25, 50, 75, 100)]
    names += [("autowebinar_completed", None), ("autowebinar_cta_click", None)]
    return [(n, m, session_event_id(sid, n, m)) for n, m in names]


def test_a_full_viewing_session_delivers_exactly_the_expected_events(make_harness) -> None:
    with running_receiver() as receiver:
        harness = webhook_harness(make_harness, receiver)
        uid = harness.backend.new_user(where=lambda u: u % 5 == 0)  # has invited_by
        view_everything(harness, uid)
        outbox = services(harness.app).outbox
        assert outbox.pending() == 8  # queued durably, nothing sent on the request path
        with consuming(outbox):
            receiver.wait_for(8)
        assert sorted(receiver.events()) == sorted(expected_events(harness, uid))
        assert receiver.rejected == 0
        for delivery in receiver.deliveries:
            body = delivery["payload"]
            assert delivery["webhook-id"] == body["event_id"]
            assert body["user_id"] == uid and body["ref_id"] == str(uid // 5)
            assert body["timestamp"].endswith("Z")
        assert outbox.pending() == 0


@pytest.mark.parametrize(
    ("script", "attempts", "delivered", "left"),
    [([500], 2, True, 0),  # 500 then 200: retried and delivered
     ([429, 503], 3, True, 0),  # 429 is retried
     ([400], 1, False, 0),  # permanent: not retried
     ([410], 1, False, 0),
     ([500, 500, 500, 500, 500], 4, False, 0)],  # gives up after the schedule
)
def test_retries_by_status(make_harness, script, attempts, delivered, left) -> None:
    with running_receiver(script={"autowebinar_session_created": script}) as receiver:
        harness = webhook_harness(make_harness, receiver)
        uid = harness.backend.new_user()
        harness.post(JOIN, uid)
        outbox = services(harness.app).outbox
        created = session_event_id(harness.backend.meta(uid)["autowebinar_session_id"],
                           "autowebinar_session_created")
        with consuming(outbox):
            receiver.wait_for(1)  # the join event
            import time

            deadline = time.monotonic() + 15
            while outbox.pending() > left and time.monotonic() < deadline:
                time.sleep(0.05)
        assert receiver.attempts.get(created) == attempts
        assert (created in {e[2] for e in receiver.events()}) is delivered
        assert outbox.pending() == left


def test_timeouts_and_refused_connections_are_retried(make_harness) -> None:
    with running_receiver(stall_first=3.0) as receiver:
        # room for several timed-out attempts on a loaded machine
        harness = webhook_harness(make_harness, receiver, WEBHOOK_TIMEOUT_SEC=1,
                                  WEBHOOK_RETRY_SCHEDULE=[0] + [0.2] * 9)
        uid = harness.backend.new_user()
        harness.post(JOIN, uid)
        outbox = services(harness.app).outbox
        with consuming(outbox, workers=1):
            receiver.wait_for(2, timeout=20)
            import time

            deadline = time.monotonic() + 20
            while outbox.pending() and time.monotonic() < deadline:
                time.sleep(0.05)
        # the timed-out attempt was retried; nothing is left queued
        assert max(receiver.attempts.values()) >= 2
        assert outbox.pending() == 0
    # nobody listening at all: the delivery stays queued for a retry
    harness2 = make_harness(WEBHOOK_URLS=["http://127.0.0.1:9/none"],
                            WEBHOOK_SECRET=RECEIVER_SECRET, WEBHOOK_RETRY_SCHEDULE=[0, 3600])
    uid = harness2.backend.new_user()
    harness2.post(JOIN, uid)
    outbox = services(harness2.app).outbox
    task = outbox.huey.dequeue()
    outbox.huey.execute(task)
    assert outbox.pending() == 2  # both events, one retry scheduled


def test_logs_carry_no_secrets_tokens_or_bodies(make_harness) -> None:
    import io
    import logging

    from autowebinar_wp.logs import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("autowebinar_wp").addHandler(handler)
    try:
        with running_receiver(script={"autowebinar_join": [500]}) as receiver:
            harness = webhook_harness(make_harness, receiver)
            uid = harness.backend.new_user()
            token = harness.token(uid)
            harness.post(JOIN, token=token)
            with consuming(services(harness.app).outbox):
                receiver.wait_for(2)
    finally:
        logging.getLogger("autowebinar_wp").removeHandler(handler)
    err = stream.getvalue()
    assert "webhook delivery attempt" in err
    for secret in (token, receiver.secret, "do-not-log", '"ref_id"'):
        assert secret not in err


@pytest.mark.redis
def test_redis_queue_two_consumers_lose_nothing(make_harness) -> None:
    import redis

    url = "redis://127.0.0.1:6379/7"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is required for this test: {exc}")
    client.flushdb()
    try:
        with running_receiver() as receiver:
            first = webhook_harness(make_harness, receiver, QUEUE_URL=url)
            second = webhook_harness(make_harness, receiver, QUEUE_URL=url)
            users = [first.backend.new_user() for _ in range(6)]
            for uid in users:
                view_everything(first, uid)
            expected = {e for uid in users for e in expected_events(first, uid)}
            with consuming(services(first.app).outbox), \
                    consuming(services(second.app).outbox):
                receiver.wait_for(len(expected), timeout=30)
            assert set(receiver.events()) == expected
            assert services(first.app).outbox.pending() == 0
    finally:
        client.flushdb()
        client.close()


# ---- replay ----------------------------------------------------------------------------------


def test_replay_re_emits_exactly_the_derivable_events(make_harness, monkeypatch) -> None:
    from autowebinar_wp.cli import main

    with running_receiver() as receiver:
        harness = webhook_harness(make_harness, receiver)
        # a day of our own, so users of other tests in a shared database are not "seen since"
        from datetime import UTC, datetime

        harness.clock.current = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
        outbox = services(harness.app).outbox
        full, partial, idle = (harness.backend.new_user() for _ in range(3))
        view_everything(harness, full)
        harness.post(JOIN, partial)
        harness.clock.advance(30)
        harness.post(HB, partial, json={"position_sec": 30})
        with consuming(outbox):
            receiver.wait_for(8 + 3)
        original = set(receiver.events())
        receiver.deliveries.clear()

        clear_config_env(monkeypatch)
        env = {
            "AUTOWEBINAR_DATABASE_URL": harness.app.config["DATABASE_URL"] or "",
            "AUTOWEBINAR_INSTANCE_PATH": harness.app.instance_path,
            "AUTOWEBINAR_EMBED_SECRET": harness.app.config["EMBED_SECRET"],
            "AUTOWEBINAR_WEBHOOK_URLS": receiver.url,
            "AUTOWEBINAR_WEBHOOK_SECRET": receiver.secret,
            "AUTOWEBINAR_WEBHOOK_RETRY_SCHEDULE": "0,0",
            "AUTOWEBINAR_VIDEO_DURATION_SEC": "100",
            "AUTOWEBINAR_CTA_AT_SEC": "60",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        dry = CliRunner().invoke(main, ["replay-events", "--since", "2031-03-01", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "would enqueue 11 events" in dry.output
        assert outbox.pending() == 0
        bad = CliRunner().invoke(main, ["replay-events", "--since", "last tuesday"])
        assert bad.exit_code == 2 and "ISO 8601" in bad.output
        result = CliRunner().invoke(main, ["replay-events", "--since", "2031-03-01T00:00:00Z"])
        assert result.exit_code == 0, result.output
        assert "enqueued 11 events" in result.output
        with consuming(outbox):
            receiver.wait_for(11)
        assert set(receiver.events()) == original  # same names, same ids
        later = CliRunner().invoke(main, ["replay-events", "--since", "2031-03-02", "--dry-run"])
        assert "0 users" in later.output


def test_a_sweep_after_the_recovery_delay_recovers_what_a_dead_consumer_held(make_harness):
    """What `autowebinar-wp worker` schedules at start-up (cli.run_consumer): a consumer
    killed mid-post left its delivery leased and its other tasks dequeued; one sweep
    `recovery_delay()` later re-enqueues both, none earlier."""
    from autowebinar_wp.outbox import DELIVERY

    harness = make_harness(WEBHOOK_URLS=["http://127.0.0.1:9/none"],
                           WEBHOOK_SECRET=RECEIVER_SECRET, OUTBOX_RECOVERY_SEC=1,
                           WEBHOOK_TIMEOUT_SEC=2)
    harness.post(JOIN, harness.backend.new_user())
    outbox = services(harness.app).outbox
    keys = outbox._keys(DELIVERY)
    assert len(keys) == 2
    while outbox.huey.dequeue() is not None:  # the dead consumer had taken every task ...
        pass
    record = outbox._get(keys[0])
    record["lease"] = outbox.clock() + outbox.lease_sec  # ... and was posting this one
    outbox._put(keys[0], record)
    assert outbox.sweep()["redelivered"] == 0
    harness.clock.advance(outbox.lease_sec - 0.5)
    assert outbox.sweep()["redelivered"] == 1  # the one that was never started ...
    assert outbox._get(keys[0])["lease"] > 0  # ... not the leased one yet
    harness.clock.advance(outbox.recovery_delay() - outbox.lease_sec + 0.5)
    assert outbox.sweep()["redelivered"] >= 1
    assert outbox._get(keys[0])["lease"] == 0  # re-enqueued once its lease ran out
