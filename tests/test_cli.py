"""The CLI's token command and its clear errors."""

import jwt
import pytest
from click.testing import CliRunner

from autowebinar_wp.cli import main
from tests.support import clear_config_env

SECRET = "cli-secret-0123456789abcdef0123456789abcdef"


@pytest.fixture
def env(monkeypatch, tmp_path):
    clear_config_env(monkeypatch)
    monkeypatch.setenv("AUTOWEBINAR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("AUTOWEBINAR_EMBED_SECRET", SECRET)
    return monkeypatch


@pytest.mark.parametrize(("args", "role", "ttl"), [([], "viewer", 600),
                                                    (["--admin", "--ttl", "60"], "admin", 60)])
def test_token_mints_a_verifiable_token(env, args, role, ttl) -> None:
    result = CliRunner().invoke(main, ["token", "--user-id", "42", *args])
    assert result.exit_code == 0, result.output
    claims = jwt.decode(result.output.strip(), SECRET, algorithms=["HS256"],
                        audience="autowebinar")
    assert claims["sub"] == "42" and claims["role"] == role
    assert claims["exp"] - claims["iat"] == ttl


@pytest.mark.parametrize("args", [["--user-id", "0"], ["--user-id", "x"], [],
                                  ["--user-id", "1", "--ttl", "999999"]])
def test_token_rejects_bad_arguments(env, args) -> None:
    result = CliRunner().invoke(main, ["token", *args])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_token_without_a_secret_is_a_clear_error(env) -> None:
    env.delenv("AUTOWEBINAR_EMBED_SECRET")
    result = CliRunner().invoke(main, ["token", "--user-id", "1"])
    assert result.exit_code == 2
    assert "EMBED_SECRET is not set" in result.output


# ---- live-link and the live events in replay-events ----------------------------------------

LINK_KEY = "live-link-secret-for-the-cli-0123456789abc"
LIVE_TOML = """
[live]
timezone = "Europe/Berlin"
join_url = "https://stream.example/embed/live"

[[live.slots]]
id = "launch"
starts_at = "2031-03-01T19:00:00"
"""


@pytest.fixture
def live_env(env, tmp_path):
    config = tmp_path / "live.toml"
    config.write_text(LIVE_TOML)
    env.setenv("AUTOWEBINAR_CONFIG", str(config))
    env.setenv("AUTOWEBINAR_LIVE_LINK_SECRET", LINK_KEY)
    return env


def test_live_link_mints_click_and_open_links(live_env) -> None:
    from autowebinar_wp.live import links

    result = CliRunner().invoke(main, [
        "live-link", "--user-id", "42", "--notification", "reminder-24h", "--slot", "launch",
        "--url", "https://site.example/webinars/?utm_source=crm",
        "--base-url", "https://webinars.example.com/"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("https://webinars.example.com/l/c/")
    link = links.verify(LINK_KEY, url.rsplit("/", 1)[1], now=jwt.decode(
        url.rsplit("/", 1)[1], options={"verify_signature": False})["iat"], click=True)
    assert (link.user_id, link.notification, link.slot_id, link.url) == (
        42, "reminder-24h", "launch", "https://site.example/webinars/?utm_source=crm")
    claims = jwt.decode(url.rsplit("/", 1)[1], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 30 * 86400 and claims["aud"] == "autowebinar-live"

    pixel = CliRunner().invoke(main, ["live-link", "--user-id", "42", "--notification", "d",
                                      "--ttl-days", "2"])
    assert pixel.exit_code == 0 and pixel.output.startswith("/l/o/")


@pytest.mark.parametrize(("args", "message"), [
    (["--slot", "nope"], "no slot with the id 'nope'"),
    (["--url", "javascript:alert(1)"], "url must be an absolute http(s) URL"),
    (["--notification", "has spaces"], "notification must be 1-64 characters"),
])
def test_live_link_refuses_bad_input(live_env, args, message) -> None:
    base = {"--user-id": "42", "--notification": "n"}
    for flag in list(base):
        if flag in args:
            del base[flag]
    argv = ["live-link", *[x for kv in base.items() for x in kv], *args]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_live_link_needs_the_link_secret(live_env) -> None:
    live_env.delenv("AUTOWEBINAR_LIVE_LINK_SECRET")
    result = CliRunner().invoke(main, ["live-link", "--user-id", "1", "--notification", "n"])
    assert result.exit_code == 2 and "LIVE_LINK_SECRET is not set" in result.output


def test_replay_events_includes_the_live_registrations(live_env, tmp_path) -> None:
    from datetime import UTC, datetime

    from autowebinar_wp import create_app, tokens
    from autowebinar_wp.services import services

    app = create_app(None, instance_path=str(tmp_path / "instance"))
    moment = datetime(2031, 2, 20, 9, 0, tzinfo=UTC)
    services(app).clock = lambda: moment
    client = app.test_client()
    for uid in (7, 8):
        token = tokens.mint(SECRET, uid, now=moment.timestamp())
        response = client.post("/api/v1/live/register", json={"slot_id": "launch"},
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    services(app).engine.dispose()
    result = CliRunner().invoke(main, ["replay-events", "--since", "2031-02-20", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would enqueue 2 events" in result.output and "live_registered" in result.output
    later = CliRunner().invoke(main, ["replay-events", "--since", "2031-02-21", "--dry-run"])
    assert "would enqueue 0 events" in later.output
