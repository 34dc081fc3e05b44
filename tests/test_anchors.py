"""anchors.py and the viewer API's anchor handling: forged, expired, foreign, replayed."""

from __future__ import annotations

import hashlib

import pytest

from autowebinar_wp import anchors
from autowebinar_wp.errors import AnchorMismatch, InvalidAnchor
from autowebinar_wp.session import Anchor
from tests.support import SECRET

HB, JOIN, LEAVE = "/api/v1/session/heartbeat", "/api/v1/session/join", "/api/v1/session/leave"
A = Anchor("11111111-1111-4111-8111-111111111111", 12_345, 1_800_000_000_000)
NOW = 1_800_000_000.0


def test_round_trip_keeps_milliseconds() -> None:
    value = anchors.sign(SECRET, 7, A, ttl_sec=3600)
    assert anchors.verify(SECRET, value, 7, NOW) == A


@pytest.mark.parametrize("value", [None, "", 42, "x" * 2000, "not.a.jwt"])
def test_malformed_values_are_invalid(value) -> None:
    with pytest.raises(InvalidAnchor):
        anchors.verify(SECRET, value, 7, NOW)


def test_another_secret_an_embed_token_tampering_and_expiry_are_refused() -> None:
    import itsdangerous

    from autowebinar_wp import tokens

    with pytest.raises(InvalidAnchor):  # signed with another key
        anchors.verify(SECRET, anchors.sign("another-secret-0123456789abcdef01", 7, A, 60), 7, NOW)
    with pytest.raises(InvalidAnchor):  # an embed token is not an anchor
        anchors.verify(SECRET, tokens.mint(SECRET, 7, now=NOW), 7, NOW)
    # signed with the right secret but for another use (no salt / another salt)
    claims = [7, A.session_id, 0, 0, int(NOW) + 60]
    for other in (itsdangerous.URLSafeSerializer(SECRET).dumps(claims),
                  itsdangerous.Signer(SECRET, salt="autowebinar-wp/other",
                                      digest_method=hashlib.sha256).sign(
                      anchors.seal(SECRET, claims).rsplit(".", 1)[0]).decode()):
        with pytest.raises(InvalidAnchor):
            anchors.verify(SECRET, other, 7, NOW)
    for bad in ([7, A.session_id, -5, A.at_ms, int(NOW) + 60],  # a negative position
                [7, A.session_id, 1.5, A.at_ms, int(NOW) + 60],  # not whole milliseconds
                [7, 42, 0, A.at_ms, int(NOW) + 60],  # no session id
                {"p": 1}, [7, A.session_id, 0]):  # not the shape
        with pytest.raises(InvalidAnchor):
            anchors.verify(SECRET, anchors.seal(SECRET, bad), 7, NOW)
    broken = anchors._signer(SECRET).sign(b"not-base64-json!").decode()
    with pytest.raises(InvalidAnchor):  # signed, but not sealed JSON
        anchors.verify(SECRET, broken, 7, NOW)
    value = anchors.sign(SECRET, 7, A, 60)
    with pytest.raises(InvalidAnchor):  # one character changed
        anchors.verify(SECRET, value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1], 7, NOW)
    with pytest.raises(InvalidAnchor):  # expired
        anchors.verify(SECRET, anchors.sign(SECRET, 7, A, ttl_sec=10), 7, A.at_ms / 1000 + 11)
    future = Anchor(A.session_id, 0, int((NOW + 3600) * 1000))
    with pytest.raises(InvalidAnchor):  # issued an hour from now
        anchors.verify(SECRET, anchors.sign(SECRET, 7, future, 7200), 7, NOW)


def test_an_anchor_of_another_user_is_forbidden() -> None:
    with pytest.raises(AnchorMismatch):
        anchors.verify(SECRET, anchors.sign(SECRET, 7, A, 3600), 8, NOW)


# ---- through the API: 401/403 with the JSON error, nothing written --------------------------


def test_bad_anchors_get_4xx_and_write_nothing(harness) -> None:
    uid, other = harness.backend.new_user(), harness.backend.new_user()
    mine = harness.post(JOIN, uid).get_json()["anchor"]
    theirs = harness.post(JOIN, other).get_json()["anchor"]
    harness.clock.advance(10)
    before = harness.backend.meta(uid)
    cases = [
        (theirs, 403, "anchor_mismatch"),
        (mine[:-3] + "abc", 401, "invalid_anchor"),
        ("garbage", 401, "invalid_anchor"),
        (17, 401, "invalid_anchor"),
    ]
    for value, status, code in cases:
        for path in (HB, LEAVE):
            response = harness.post(path, uid, json={"position_sec": 10, "anchor": value})
            assert response.status_code == status, (value, path)
            assert response.get_json()["error"]["code"] == code
    assert harness.backend.meta(uid) == before


def test_a_joined_viewer_must_echo_the_anchor(harness) -> None:
    uid = harness.backend.new_user()
    harness.post(JOIN, uid)
    harness.anchors.clear()  # a client that drops it
    response = harness.post(HB, uid, json={"position_sec": 1})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "anchor_required"


def test_an_anchor_of_an_earlier_session_of_the_same_user_is_refused(harness) -> None:
    uid = harness.backend.new_user()
    old = anchors.sign(SECRET, uid, Anchor("00000000-dead-4bee-8f00-000000000000", 0,
                                           int(harness.clock().timestamp() * 1000)), 3600)
    harness.post(JOIN, uid)
    response = harness.post(HB, uid, json={"position_sec": 1, "anchor": old})
    assert response.status_code == 403


def test_replaying_an_old_anchor_gains_nothing(harness) -> None:
    uid = harness.backend.new_user()
    first = harness.post(JOIN, uid).get_json()["anchor"]
    for t in range(10, 61, 10):
        harness.clock.advance(10)
        harness.post(HB, uid, json={"position_sec": t})
    # the anchor from the join, 60 s later: wall-clock time since then, not one second more
    replay = harness.post(HB, uid, json={"position_sec": 500, "anchor": first}).get_json()
    assert replay["position_sec"] == 60 and replay["clamped"] is True
