"""tokens.py: claims, auth_time, the viewing's age limit, admin lifetime; refreshes via the API."""

from __future__ import annotations

import jwt
import pytest

from autowebinar_wp import tokens
from autowebinar_wp.errors import TokenExpired, Unauthorized
from tests.support import SECRET

NOW = 1_800_000_000
POLICY = tokens.Policy(leeway_sec=10, max_viewing_sec=7200, admin_ttl_sec=3600)
HB, JOIN = "/api/v1/session/heartbeat", "/api/v1/session/join"


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_mint_sets_auth_time_and_verify_returns_it() -> None:
    first = tokens.mint(SECRET, 5, ttl_sec=600, now=NOW)
    assert claims_of(first)["auth_time"] == NOW
    later = tokens.mint(SECRET, 5, ttl_sec=600, now=NOW + 500, auth_time=NOW)
    viewer = tokens.verify(SECRET, later, now=NOW + 501, policy=POLICY)
    assert viewer.auth_time == NOW and viewer.expires_at == NOW + 1100


def test_a_token_without_auth_time_counts_from_its_iat() -> None:
    raw = jwt.encode({"sub": "5", "iat": NOW, "exp": NOW + 60, "aud": "autowebinar",
                      "role": "viewer"}, SECRET, algorithm="HS256")
    assert tokens.verify(SECRET, raw, now=NOW, policy=POLICY).auth_time == NOW


@pytest.mark.parametrize(("auth_time", "error"), [
    (NOW + 1, Unauthorized),  # authenticated after it was issued: forged
    ("yesterday", Unauthorized),
    (NOW - 7200 - 11, TokenExpired),  # the viewing is older than MAX_VIEWING_SEC
])
def test_bad_or_over_age_auth_time_is_refused(auth_time, error) -> None:
    raw = jwt.encode({"sub": "5", "iat": NOW, "exp": NOW + 60, "aud": "autowebinar",
                      "role": "viewer", "auth_time": auth_time}, SECRET, algorithm="HS256")
    with pytest.raises(error):
        tokens.verify(SECRET, raw, now=NOW, policy=POLICY)


def test_admin_tokens_live_at_most_the_admin_ttl() -> None:
    ok = tokens.mint(SECRET, 1, "admin", ttl_sec=3600, now=NOW)
    assert tokens.verify(SECRET, ok, now=NOW + 10, policy=POLICY).role == "admin"
    with pytest.raises(Unauthorized):
        tokens.verify(SECRET, tokens.mint(SECRET, 1, "admin", 3601, now=NOW), now=NOW,
                      policy=POLICY)
    # a refresh-like admin token (old auth_time) is refused as over age
    stretched = tokens.mint(SECRET, 1, "admin", 600, now=NOW + 4000, auth_time=NOW)
    with pytest.raises(TokenExpired):
        tokens.verify(SECRET, stretched, now=NOW + 4001, policy=POLICY)


# ---- refreshes through the API ----------------------------------------------------------------


def test_refreshes_keep_auth_time_and_stop_at_max_viewing(make_harness) -> None:
    # VIDEO_DURATION_SEC 100 -> MAX_VIEWING_SEC = 100 + 3600
    harness = make_harness(TOKEN_DEFAULT_TTL_SEC=600)
    uid = harness.backend.new_user()
    start = int(harness.clock().timestamp())
    token, refreshes = harness.token(uid), 0
    harness.post(JOIN, uid, token=token)
    for _ in range(200):  # ~6.7 simulated hours of a page left open, heartbeats on
        harness.clock.advance(120)
        response = harness.post(HB, uid, token=token, json={"position_sec": 0})
        if response.status_code != 200:
            break
        body = response.get_json()
        if "token" in body:
            refreshes += 1
            token = body["token"]
            claims = claims_of(token)
            assert claims["auth_time"] == start
            assert claims["exp"] <= start + 3700
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "token_expired"
    assert int(harness.clock().timestamp()) - start <= 3700 + 600 + 120
    assert 5 <= refreshes <= 12


def test_admin_tokens_are_never_refreshed(harness) -> None:
    token = harness.token(1, "admin", ttl=600)
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(5):
        harness.clock.advance(100)
        body = harness.client.get("/api/v1/admin/funnel", headers=headers).get_json()
        assert "token" not in body


def test_cli_refuses_an_admin_token_longer_than_the_admin_ttl(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from autowebinar_wp.cli import main
    from tests.support import clear_config_env

    clear_config_env(monkeypatch)
    monkeypatch.setenv("AUTOWEBINAR_EMBED_SECRET", SECRET)
    monkeypatch.setenv("AUTOWEBINAR_INSTANCE_PATH", str(tmp_path))
    refused = CliRunner().invoke(main, ["token", "--user-id", "1", "--admin", "--ttl", "7200"])
    assert refused.exit_code == 2 and "ADMIN_TOKEN_TTL_SEC" in refused.output
    minted = CliRunner().invoke(main, ["token", "--user-id", "1", "--admin"])
    claims = claims_of(minted.output.strip())
    assert claims["exp"] - claims["iat"] <= 3600
