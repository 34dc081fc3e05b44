"""web/auth.py: bearer tokens, admins, the per-user limit on every viewer view, bad tokens."""

from __future__ import annotations

import pytest

from autowebinar_wp.web.auth import is_rate_limited

JOIN, HB, LEAVE, CTA = ("/api/v1/session/join", "/api/v1/session/heartbeat",
                        "/api/v1/session/leave", "/api/v1/cta")


def test_every_viewer_endpoint_is_rate_limited_at_its_view(harness) -> None:
    views = harness.app.view_functions
    for endpoint in ("viewer.join", "viewer.heartbeat", "viewer.leave", "viewer.cta"):
        assert is_rate_limited(views[endpoint]), endpoint
    assert not is_rate_limited(views["viewer.embed"])  # the page: its token is checked only


@pytest.mark.parametrize(("path", "setting", "body"), [
    (JOIN, "JOIN_RATE_LIMIT", None),
    (LEAVE, "LEAVE_RATE_LIMIT", {"position_sec": 0}),
    (CTA, "CTA_RATE_LIMIT", None),
])
def test_each_viewer_endpoint_has_its_own_per_user_budget(make_harness, path, setting,
                                                          body) -> None:
    harness = make_harness(**{setting: "2 per minute"})
    uid, other = harness.backend.new_user(), harness.backend.new_user()
    statuses = [harness.post(path, uid, json=body).status_code for _ in range(3)]
    assert statuses[2] == 429 and 429 not in statuses[:2]
    refused = harness.post(path, uid, json=body)
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert harness.post(path, other, json=body).status_code != 429  # per user
    harness.clock.advance(61)
    assert harness.post(path, uid, json=body).status_code != 429  # a new window


def test_a_refused_request_writes_nothing(make_harness) -> None:
    harness = make_harness(JOIN_RATE_LIMIT="1 per minute")
    uid = harness.backend.new_user()
    assert harness.post(JOIN, uid).status_code == 200
    before = harness.backend.meta(uid)
    harness.clock.advance(5)
    assert harness.post(JOIN, uid).status_code == 429
    assert harness.backend.meta(uid) == before


def test_invalid_tokens_are_limited_per_client_address(make_harness) -> None:
    harness = make_harness(INVALID_TOKEN_RATE_LIMIT="3 per minute")
    bad = {"Authorization": "Bearer not-a-token"}
    statuses = [harness.client.post(HB, headers=bad, json={"position_sec": 1}).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    # the embed page and the admin API count against the same budget
    assert harness.client.get("/embed?token=nope").status_code == 429
    other = harness.client.post(HB, headers=bad, json={"position_sec": 1},
                                environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 401  # another address has its own budget
    uid = harness.backend.new_user()
    assert harness.post(JOIN, uid).status_code == 200  # valid tokens are never refused by it


def test_admin_endpoints_take_bearer_only_and_need_the_admin_role(harness) -> None:
    uid = harness.backend.new_user()
    path = "/api/v1/admin/funnel"
    assert harness.client.get(path).status_code == 401
    assert harness.client.get(f"{path}?token={harness.token(uid, 'admin')}").status_code == 401
    viewer = {"Authorization": f"Bearer {harness.token(uid)}"}
    assert harness.client.get(path, headers=viewer).get_json()["error"]["code"] == "forbidden"
    admin = {"Authorization": f"Bearer {harness.token(uid, 'admin')}"}
    assert harness.client.get(path, headers=admin).status_code == 200


def test_behind_a_trusted_proxy_the_limit_is_per_forwarded_address(make_harness) -> None:
    harness = make_harness(INVALID_TOKEN_RATE_LIMIT="2 per minute", TRUSTED_PROXIES=1)
    bad = {"Authorization": "Bearer not-a-token"}

    def from_(address: str) -> int:
        return harness.client.post(HB, headers={**bad, "X-Forwarded-For": address},
                                   json={"position_sec": 1}).status_code

    assert [from_("203.0.113.7") for _ in range(3)] == [401, 401, 429]
    assert from_("203.0.113.8") == 401  # another client behind the same proxy
