"""The WordPress baseline of bench/heartbeat.py (bench/wordpress.py) does what it claims.

Its heartbeat must really be the rule the service applies - the position only moves forward,
credited no further than the wall-clock time since the user was last seen, last_seen_at, the
progress when a milestone is crossed - written through update_user_meta(), behind WordPress's
own cookie and nonce checks, with cookies made as wp_set_auth_cookie() makes them. Otherwise the
"N x a WordPress plugin" in BENCHMARKS.md would compare against something else.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bench import wordpress as wpbench
from tests.wordpress.harness import WordPressSite, php_str

pytestmark = pytest.mark.wordpress

DURATION_SEC = 3600
SLACK_SEC = 2
KEYS = ("autowebinar_last_position_sec", "autowebinar_last_seen_at",
        "autowebinar_progress_percent", "autowebinar_completed")

# Records every user-meta write that went through the API (update_user_meta / add_user_meta).
RECORDER_PHP = """<?php
foreach ( array( 'updated_user_meta', 'added_user_meta' ) as $hook ) {
	add_action(
		$hook,
		function ( $meta_id, $user_id, $key ) use ( $hook ) {
			file_put_contents( %s, "$hook $user_id $key\\n", FILE_APPEND );
		},
		10,
		3
	);
}
"""


@dataclass
class Viewer:
    id: int
    cookie: str
    nonce: str
    client: httpx.Client
    writes: Path

    def beat(self, position: object, *, nonce: str | None = None,
             cookie: str | None = None) -> httpx.Response:
        data = {"action": wpbench.ACTION, "position_sec": str(position)}
        if (nonce if nonce is not None else self.nonce):
            data["_ajax_nonce"] = nonce if nonce is not None else self.nonce
        return self.client.post("/wp-admin/admin-ajax.php", data=data,
                                headers={"Cookie": cookie if cookie is not None else self.cookie})

    def recorded(self) -> list[str]:
        """The API writes since the last call, as "hook key"."""
        if not self.writes.exists():
            return []
        lines = self.writes.read_text().splitlines()
        self.writes.unlink()
        return [f"{hook} {key}" for hook, uid, key in (line.split() for line in lines)
                if int(uid) == self.id]


@pytest.fixture(scope="module")
def viewer(wp_site: WordPressSite) -> Iterator[Viewer]:
    """The bench's plugin in mu-plugins, and user `bench` logged in as the bench does it."""
    mu = wp_site.docroot / "wp-content" / "mu-plugins"
    writes = wp_site.root / "bench-meta-writes.log"
    plugin = wpbench.install_plugin(wp_site.docroot, DURATION_SEC, SLACK_SEC)
    recorder = mu / "zz-record-meta-writes.php"
    recorder.write_text(RECORDER_PHP % php_str(str(writes)))
    user = wp_site.users["bench"]
    try:
        sessions = wpbench.login_users(wp_site.root, wp_site.docroot, wp_site.port, [user.id])
        cookie, nonce = sessions[user.id]
        yield Viewer(user.id, cookie, nonce, wp_site.client(), writes)
    finally:
        plugin.unlink()
        recorder.unlink()
    log = wp_site.new_debug_log(0)
    assert wpbench.PLUGIN_FILE not in log, "PHP logged problems in the bench's plugin:\n" + log


def utc(seconds_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%d %H:%M:%S")


def given(site: WordPressSite, viewer: Viewer, position: int, seen_ago: int,
          progress: int = 0) -> None:
    site.write_meta_as_sidecar(viewer.id, {
        "autowebinar_last_position_sec": str(position),
        "autowebinar_last_seen_at": utc(seen_ago),
        "autowebinar_progress_percent": str(progress),
        "autowebinar_completed": "0",
    })
    viewer.recorded()


def stored(site: WordPressSite, viewer: Viewer) -> dict[str, str]:
    rows = site.sql("SELECT meta_key, meta_value FROM wp_usermeta WHERE user_id = :u "
                    "AND meta_key LIKE 'autowebinar!_%' ESCAPE '!'", {"u": viewer.id})
    return dict(rows)


def forged(cookie_header: str) -> str:
    """The same cookies with the last character of each HMAC changed."""
    parts = []
    for part in cookie_header.split("; "):
        name, value = part.split("=", 1)
        parts.append(f"{name}={value[:-1]}{'1' if value[-1] == '0' else '0'}")
    return "; ".join(parts)


def test_an_honest_heartbeat_writes_position_and_last_seen_through_update_user_meta(
    wp_site: WordPressSite, viewer: Viewer
) -> None:
    given(wp_site, viewer, position=100, seen_ago=30)
    before = time.time()
    response = viewer.beat(125)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "data": {
        "position_sec": 125, "progress_percent": 0, "clamped": False}}
    state = stored(wp_site, viewer)
    assert state["autowebinar_last_position_sec"] == "125"
    seen = datetime.strptime(state["autowebinar_last_seen_at"], "%Y-%m-%d %H:%M:%S")
    assert int(before) <= seen.replace(tzinfo=UTC).timestamp() <= time.time()
    assert state["autowebinar_progress_percent"] == "0"
    assert viewer.recorded() == ["updated_user_meta autowebinar_last_position_sec",
                                 "updated_user_meta autowebinar_last_seen_at"]


def test_a_report_beyond_wall_clock_time_is_credited_only_up_to_it(
    wp_site: WordPressSite, viewer: Viewer
) -> None:
    given(wp_site, viewer, position=100, seen_ago=30)
    data = viewer.beat(1000).json()["data"]
    assert data["clamped"] is True
    assert 130 <= data["position_sec"] <= 132  # 30 s (and the seconds the request took)
    assert stored(wp_site, viewer)["autowebinar_last_position_sec"] == str(data["position_sec"])


def test_the_position_never_moves_back_but_last_seen_does(
    wp_site: WordPressSite, viewer: Viewer
) -> None:
    given(wp_site, viewer, position=100, seen_ago=30)
    data = viewer.beat(40).json()["data"]
    assert data == {"position_sec": 100, "progress_percent": 0, "clamped": False}
    state = stored(wp_site, viewer)
    assert state["autowebinar_last_position_sec"] == "100"
    assert state["autowebinar_last_seen_at"] >= utc(2)
    # update_user_meta() changed no row for the position, so WordPress reports no update.
    assert viewer.recorded() == ["updated_user_meta autowebinar_last_seen_at"]


def test_crossing_a_milestone_writes_the_progress_and_the_end_completes(
    wp_site: WordPressSite, viewer: Viewer
) -> None:
    given(wp_site, viewer, position=890, seen_ago=30)  # 25 % of 3600 s is 900
    assert viewer.beat(905).json()["data"]["progress_percent"] == 25
    assert stored(wp_site, viewer)["autowebinar_progress_percent"] == "25"
    assert "updated_user_meta autowebinar_progress_percent" in viewer.recorded()

    given(wp_site, viewer, position=3590, seen_ago=30, progress=75)
    data = viewer.beat(3700).json()["data"]
    assert data["position_sec"] == DURATION_SEC
    assert data["progress_percent"] == 100
    state = stored(wp_site, viewer)
    assert (state["autowebinar_progress_percent"], state["autowebinar_completed"]) == ("100", "1")
    assert viewer.recorded()[-2:] == ["updated_user_meta autowebinar_progress_percent",
                                      "updated_user_meta autowebinar_completed"]


def test_refusals_write_nothing(wp_site: WordPressSite, viewer: Viewer) -> None:
    given(wp_site, viewer, position=100, seen_ago=30)
    before = stored(wp_site, viewer)
    other = wpbench.login_users(wp_site.root, wp_site.docroot, wp_site.port,
                                [wp_site.users["fresh"].id])[wp_site.users["fresh"].id]
    cases = [
        (viewer.beat(120, nonce=""), 403, "-1"),  # check_ajax_referer: no nonce
        (viewer.beat(120, nonce="0123456789"), 403, "-1"),  # a wrong one
        (viewer.beat(120, nonce=other[1]), 403, "-1"),  # another user's nonce
        (viewer.beat(120, cookie=""), 400, "0"),  # not logged in: no wp_ajax_ handler runs
        (viewer.beat(120, cookie=forged(viewer.cookie)), 400, "0"),  # a wrong HMAC
    ]
    for response, status, body in cases:
        assert (response.status_code, response.text) == (status, body)
    for bad in ("-5", "abc", ""):
        response = viewer.beat(bad)
        assert response.status_code == 400
        assert response.json() == {"success": False, "data": {"code": "bad_request"}}
    assert stored(wp_site, viewer) == before
    assert viewer.recorded() == []
