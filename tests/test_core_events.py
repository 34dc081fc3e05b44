"""Core events in: Standard Webhooks verification, validation, idempotency by state."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from autowebinar_wp.state import META_KEYS

CORE_SECRET = "whsec_" + base64.b64encode(b"core-secret-for-tests-32-bytes!!").decode()
PATH = "/api/v1/core/events"


def signed(body: bytes | str, secret: str = CORE_SECRET, at: float | None = None,
           msg_id: str | None = None) -> dict[str, str]:
    data = body.decode() if isinstance(body, bytes) else body
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    stamp = datetime.fromtimestamp(int(at or time.time()), UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, stamp, data),
        "content-type": "application/json",
    }


def event(name: str, user_id, **extra) -> str:
    body = {"event": name, "event_id": f"core-{uuid.uuid4().hex[:12]}", "user_id": user_id,
            "ref_id": "partner-7", "timestamp": "2026-11-26T11:59:00Z", **extra}
    return json.dumps(body)


@pytest.fixture
def core(make_harness):
    return make_harness(CORE_WEBHOOK_SECRET=CORE_SECRET)


def send(core, body: str, headers: dict[str, str]):
    return core.client.post(PATH, data=body, headers=headers)


@pytest.mark.parametrize("name", ["core_user_registered", "core_user_login"])
def test_registration_or_login_creates_the_session_once(core, name) -> None:
    uid = core.backend.new_user()
    body = event(name, uid)
    first = send(core, body, signed(body))
    assert first.status_code == 200 and first.get_json()["status"] == "created"
    meta = core.backend.meta(uid)
    assert meta[META_KEYS["session_id"]] == first.get_json()["session_id"]
    assert meta[META_KEYS["started_at"]] == "2026-11-26 12:00:00"
    assert META_KEYS["last_seen_at"] not in meta  # Core's event is not viewer activity
    rows = core.backend.rows(uid)
    # the same delivery again, and a later login: nothing changes
    again = send(core, body, signed(body))
    login = event("core_user_login", uid)
    later = send(core, login, signed(login))
    assert again.get_json()["status"] == "exists" and later.get_json()["status"] == "exists"
    assert core.backend.rows(uid) == rows
    assert [e[1] for e in core.events] == ["autowebinar_session_created"]


def test_user_id_may_come_as_a_numeric_string(core) -> None:
    uid = core.backend.new_user()
    body = event("core_user_registered", str(uid))
    assert send(core, body, signed(body)).status_code == 200
    assert META_KEYS["session_id"] in core.backend.meta(uid)


def test_ref_context_is_acknowledged_and_never_stored(core) -> None:
    uid = core.backend.new_user()
    body = event("core_ref_context_resolved", uid)
    response = send(core, body, signed(body))
    assert response.status_code == 200 and response.get_json() == {"status": "acknowledged"}
    assert core.backend.rows(uid) == []


def test_unknown_events_are_accepted_and_ignored(core) -> None:
    uid = core.backend.new_user()
    body = event("core_user_deleted", uid)
    response = send(core, body, signed(body))
    assert response.status_code == 202 and response.get_json() == {"status": "ignored"}
    assert core.backend.rows(uid) == []


def _cases(uid: int) -> list[tuple[str, str, dict[str, str], int]]:
    good = event("core_user_registered", uid)
    tampered = good.replace(f'"user_id": {uid}', f'"user_id": {uid + 1}')
    return [
        ("tampered body", tampered, signed(good), 401),
        ("wrong secret", good,
         signed(good, "whsec_" + base64.b64encode(b"x" * 32).decode()), 401),
        ("too old", good, signed(good, at=time.time() - 600), 401),
        ("from the future", good, signed(good, at=time.time() + 600), 401),
        ("no signature", good, {"content-type": "application/json"}, 401),
        ("garbage signature", good, {**signed(good), "webhook-signature": "nonsense"}, 401),
        ("bad timestamp", good, {**signed(good), "webhook-timestamp": "yesterday"}, 401),
        ("not json", "hello", signed("hello"), 400),
        ("array", "[1, 2]", signed("[1, 2]"), 400),
        ("nested too deep", "[" * 5000 + "]" * 5000, None, 400),
        ("missing user_id", json.dumps({"event": "core_user_login", "event_id": "e1",
                                        "ref_id": None, "timestamp": "2026-11-26T12:00:00Z"}),
         None, 400),
        ("user_id not a number", event("core_user_login", "abc"), None, 400),
        ("user_id negative", event("core_user_login", -5), None, 400),
        ("user_id boolean", event("core_user_login", True), None, 400),
        ("user_id float", event("core_user_login", 1.5), None, 400),
        ("event_id missing", json.dumps({"event": "core_user_login", "user_id": uid,
                                         "ref_id": None, "timestamp": "2026-11-26T12:00:00Z"}),
         None, 400),
        ("bad timestamp field", event("core_user_login", uid, timestamp="soon"), None, 400),
        ("ref_id a list", event("core_user_login", uid, ref_id=["a"]), None, 400),
    ]


def test_bad_deliveries_get_the_right_status_and_write_nothing(core) -> None:
    uid = core.backend.new_user()
    before = core.backend.checksum()
    for name, body, headers, status in _cases(uid):
        response = send(core, body, headers if headers is not None else signed(body))
        assert response.status_code == status, name
        assert "error" in response.get_json(), name
    assert core.backend.rows(uid) == [] and core.backend.rows(uid + 1) == []
    assert core.backend.checksum() == before
    assert core.events == []


def test_core_events_are_refused_when_not_configured(make_harness) -> None:
    harness = make_harness()
    body = event("core_user_registered", 1)
    response = harness.client.post(PATH, data=body, headers=signed(body))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "core_events_not_configured"
