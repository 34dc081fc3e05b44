"""LIVE_* settings through the app's configuration loader (TOML, environment, validation)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Config

from autowebinar_wp.config import load_config, normalise_and_validate
from autowebinar_wp.errors import ConfigError
from autowebinar_wp.live.settings import schedule_of
from tests.support import clear_config_env

SECRET = "embed-secret-0123456789abcdef0123456789"
TOML = """
EMBED_SECRET = "embed-secret-0123456789abcdef0123456789"
LIVE_LINK_SECRET = "link-secret-0123456789abcdef0123456789ab"

[live]
title = "Weekly live webinar"
timezone = "Europe/Moscow"
duration_min = 90
join_url = "https://www.youtube.com/embed/live_stream?channel=UC123"
embed = true
open_before_min = 10
recording_url = "https://www.example.com/webinar/"

[[live.slots]]
id = "2026-12-10"
starts_at = 2026-12-10T19:00:00

[[live.schedules]]
rrule = "FREQ=WEEKLY;BYDAY=TU,TH"
at = "19:00"
"""


def load(tmp_path: Path, text: str, **env: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    config = Config(str(tmp_path))
    load_config(config, str(path))
    normalise_and_validate(config, str(tmp_path))
    return config


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_config_env(monkeypatch)


def test_the_design_example_loads(tmp_path: Path) -> None:
    config = load(tmp_path, TOML)
    schedule = schedule_of(config)
    assert config["LIVE_ENABLED"] is True
    assert config["LIVE_SLOTS_SHOWN"] == 6
    assert schedule.timezone == "Europe/Moscow"
    assert schedule.embed and schedule.recording_url == "https://www.example.com/webinar/"
    assert schedule.find("2026-12-10") is not None
    assert len(schedule.recurring) == 1


def test_disabled_by_default_without_slots(tmp_path: Path) -> None:
    config = load(tmp_path, f'EMBED_SECRET = "{SECRET}"\n')
    assert config["LIVE_ENABLED"] is False
    assert config["LIVE_LINK_SECRET"] is None


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOWEBINAR_LIVE_ENABLED", "false")
    monkeypatch.setenv("AUTOWEBINAR_LIVE_SLOTS_SHOWN", "3")
    monkeypatch.setenv("AUTOWEBINAR_LIVE__timezone", "Europe/Berlin")
    config = load(tmp_path, TOML)
    assert config["LIVE_ENABLED"] is False
    assert config["LIVE_SLOTS_SHOWN"] == 3
    assert schedule_of(config).timezone == "Europe/Berlin"


def test_one_error_lists_live_and_other_problems_together(tmp_path: Path) -> None:
    bad = (TOML.replace('"Europe/Moscow"', '"Mars/Olympus"')
           .replace("FREQ=WEEKLY;BYDAY=TU,TH", "FREQ=SOMETIMES")
           .replace('LIVE_LINK_SECRET = "link-secret-0123456789abcdef0123456789ab"',
                    'LIVE_LINK_SECRET = "short"\nLIVE_SLOTS_SHOWN = 0\nLIVE_ENABLED = "maybe"'
                    '\nLOCALE = "de"')
           + '\n[[live.slots]]\nid = "2026-12-10"\nstarts_at = "2026-12-11T19:00:00"\n')
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, bad)
    text = caught.value.message
    for expected in ("LOCALE must be one of ru, en",
                     "live.timezone: unknown IANA time zone 'Mars/Olympus'",
                     "live.schedules[0].rrule: FREQ must be",
                     "live.slots[1].id: duplicate id '2026-12-10' (also live.slots[0])",
                     "LIVE_LINK_SECRET must be at least 32 characters long",
                     "LIVE_SLOTS_SHOWN must be a whole number from 1 to 50, got 0",
                     "LIVE_ENABLED must be true or false, got 'maybe'"):
        assert expected in text, text
    assert text.startswith("Invalid configuration:\n  - ")


def test_the_link_secret_is_not_the_embed_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LIVE_LINK_SECRET must differ from EMBED_SECRET"):
        load(tmp_path, f'EMBED_SECRET = "{SECRET}"\nLIVE_LINK_SECRET = "{SECRET}"\n')


def test_demo_mode_makes_a_link_secret_and_keeps_it(tmp_path: Path) -> None:
    first = load(tmp_path, "DEMO = true\n")
    again = load(tmp_path, "DEMO = true\n")
    assert first["LIVE_LINK_SECRET"] and first["LIVE_LINK_SECRET"] == again["LIVE_LINK_SECRET"]
    assert first["LIVE_LINK_SECRET"] != first["EMBED_SECRET"]


def test_referral_keys_may_not_be_live_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REF_META_KEYS holds an invalid meta key"):
        load(tmp_path, f'EMBED_SECRET = "{SECRET}"\nREF_META_KEYS = "livewebinar_slot_id"\n')
