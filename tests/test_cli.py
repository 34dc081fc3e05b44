"""The CLI: token, stats (funnel and retention curve), demo's links; clear errors."""

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


# ---- `stats` ------------------------------------------------------------------------------------


@pytest.fixture
def populated(backend):
    from tests.admin_population import PREFIX, Populated, create_table, drop_table, population

    create_table(backend, PREFIX)
    data = Populated(backend)
    data.insert(population())
    yield data
    drop_table(backend, PREFIX)


def run_stats(monkeypatch, backend, tmp_path, *args, **env):
    from tests.admin_population import PREFIX

    clear_config_env(monkeypatch)
    monkeypatch.setenv("AUTOWEBINAR_EMBED_SECRET", SECRET)
    monkeypatch.setenv("AUTOWEBINAR_TABLE_PREFIX", PREFIX)
    monkeypatch.setenv("AUTOWEBINAR_LOG_LEVEL", "CRITICAL")
    monkeypatch.setenv("AUTOWEBINAR_VIDEO_DURATION_SEC", "100")
    monkeypatch.setenv("AUTOWEBINAR_CTA_AT_SEC", "60")
    if backend is not None and backend.name == "mysql":
        monkeypatch.setenv("AUTOWEBINAR_DATABASE_URL", backend.url)
        monkeypatch.setenv("AUTOWEBINAR_INSTANCE_PATH", str(tmp_path / "cli-instance"))
    elif backend is not None:
        monkeypatch.setenv("AUTOWEBINAR_INSTANCE_PATH", backend.instance_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return CliRunner().invoke(main, ["stats", *args])


def test_stats_prints_the_funnel_and_the_retention_curve(populated, monkeypatch,
                                                         tmp_path) -> None:
    import re

    from tests.admin_population import TABLE, expected_funnel, expected_retention

    expected = expected_funnel(populated.rows)
    result = run_stats(monkeypatch, populated.backend, tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"AutoWebinar funnel ({TABLE}, as of ")
    for label, key in (("Sessions", "sessions"), ("Joined", "joined"),
                       ("Reached 50%", "reached_50"), ("CTA clicks", "cta_clicks")):
        row = next(line for line in lines if line.strip().startswith(label + " "))
        assert f"{expected[key]:,}" in row.split()
    assert re.search(r"joined / sessions\s+\d+\.\d%", result.output)
    # the curve: a row every 5 s (at most 20 rows for 100 s) and at the end; the CTA marked
    curve = [line.split() for line in lines if "█" in line or "·" * 5 in line]
    points = expected_retention(populated.rows, 5)
    assert len(curve) == len(points) == 21
    for cells, (t, viewers) in zip(curve, points, strict=True):
        assert cells[0] == f"{t // 60}:{t % 60:02d}" and cells[3] == f"{viewers:,}"
    assert [cells[0] for cells in curve if cells[4:] == ["◀", "CTA"]] == ["1:00"]


def test_stats_as_json_with_a_bucket(populated, monkeypatch, tmp_path) -> None:
    import json

    from tests.admin_population import TABLE, expected_funnel, expected_retention

    result = run_stats(monkeypatch, populated.backend, tmp_path, "--json", "--bucket-sec",
                       "30", "--refresh")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    expected = expected_funnel(populated.rows)
    assert {k: data[k] for k in expected} == expected
    assert data["table"] == TABLE and "joined_per_session" in data["rates"]
    assert data["retention"]["points"] == [{"t": t, "viewers": v}
                                           for t, v in expected_retention(populated.rows, 30)]
    assert (data["retention"]["cta_at_sec"], data["retention"]["duration_sec"]) == (60, 100)


def test_stats_fails_cleanly(monkeypatch, tmp_path) -> None:
    instance = str(tmp_path / "instance")
    result = run_stats(monkeypatch, None, tmp_path, AUTOWEBINAR_INSTANCE_PATH=instance,
                       AUTOWEBINAR_DATABASE_URL="mysql+pymysql://nobody@127.0.0.1:1/none")
    assert result.exit_code == 1
    assert "database error" in result.output and "Traceback" not in result.output
    result = run_stats(monkeypatch, None, tmp_path, AUTOWEBINAR_INSTANCE_PATH=instance,
                       AUTOWEBINAR_EMBED_SECRET="short")
    assert result.exit_code == 2
    assert "EMBED_SECRET" in result.output and "Traceback" not in result.output
    result = run_stats(monkeypatch, None, tmp_path, "--bucket-sec", "101",
                       AUTOWEBINAR_INSTANCE_PATH=instance)
    assert result.exit_code == 2 and "--bucket-sec" in result.output


def test_demo_prints_the_page_to_open_and_no_token(env, monkeypatch) -> None:
    import os
    from unittest import mock

    from autowebinar_wp import cli

    monkeypatch.setattr(cli, "_serve_with_consumer", lambda *args, **kwargs: None)
    with mock.patch.dict(os.environ):  # demo sets its defaults in the environment
        result = CliRunner().invoke(main, ["demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/demo" in result.output
    assert "eyJ" not in result.output and "token=" not in result.output


# ---- serve's webhook consumer is restarted when it crashes ----------------------------------


@pytest.fixture
def sleeper(monkeypatch):
    """ConsumerSupervisor spawning a stand-in consumer (a sleeping Python), checked often."""
    import subprocess
    import sys

    from autowebinar_wp import cli

    monkeypatch.setattr(cli, "spawn_consumer", lambda _config: subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"]))
    monkeypatch.setattr(cli.ConsumerSupervisor, "CHECK_SEC", 0.05)
    monkeypatch.setattr(cli.ConsumerSupervisor, "FIRST_DELAY_SEC", 0.1)
    supervisor = cli.ConsumerSupervisor(None)
    yield supervisor
    supervisor.stop()


def _wait(predicate, timeout: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_killed_consumer_is_restarted(sleeper) -> None:
    import signal

    first = sleeper.process
    first.send_signal(signal.SIGKILL)
    assert _wait(lambda: sleeper.restarts == 1 and sleeper.process is not first)
    assert sleeper.process.poll() is None
    second = sleeper.process
    second.send_signal(signal.SIGKILL)  # crashing again at once: it waits longer (backoff)
    assert _wait(lambda: sleeper.restarts == 2)


def test_a_consumer_stopped_on_purpose_is_not_restarted(sleeper) -> None:
    import time

    first = sleeper.process
    first.terminate()
    first.wait(5)
    time.sleep(0.5)  # several checks and more than the restart delay
    assert sleeper.restarts == 0 and sleeper.process is first
