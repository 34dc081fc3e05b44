"""The honest clock through the HTTP API, on MariaDB, with two service processes.

Real time, real servers: requests alternate between two `autowebinar-wp serve` processes, so
the anchor has to survive the trip between them. One cheater and one honest viewer (who also
sends stale and duplicated reports) run for a few seconds at HEARTBEAT_SEC = 2.
"""

from __future__ import annotations

import time

import httpx
import pytest

from autowebinar_wp import tokens
from autowebinar_wp.state import META_KEYS
from tests import processes
from tests.support import SECRET

pytestmark = [pytest.mark.mysql, pytest.mark.slow]

RUN_SEC = 6.0


def test_two_processes_neither_outrun_nor_lose_honest_seconds(mysql_backend, tmp_path) -> None:
    env = processes.environment(
        mysql_backend.url, tmp_path / "instance",
        AUTOWEBINAR_VIDEO_DURATION_SEC="600", AUTOWEBINAR_HEARTBEAT_SEC="2",
        AUTOWEBINAR_HEARTBEAT_RATE_LIMIT="100000 per minute",
    )
    cheater, honest = mysql_backend.new_user(), mysql_backend.new_user()
    with processes.serving(env, "--workers", "1") as one, \
            processes.serving(env, "--workers", "1") as two, httpx.Client(timeout=10) as http:
        servers = [one, two]

        def post(i: int, user: int, path: str, body: dict) -> httpx.Response:
            headers = {"Authorization": f"Bearer {tokens.mint(SECRET, user)}"}
            return http.post(f"{servers[i % 2]}/api/v1/session/{path}", headers=headers,
                             json=body)

        # the cheater: every 0.2 s claims "stored + 2.4 s", alternating servers, sometimes
        # replaying the first anchor it was given
        sent_join = time.monotonic()
        joined = post(0, cheater, "join", {}).json()
        first_anchor = anchor = joined["anchor"]
        # the honest viewer starts playing once its join response arrives
        h_joined = post(1, honest, "join", {}).json()
        h_start, h_anchor, h_first = time.monotonic(), h_joined["anchor"], h_joined["anchor"]
        stored, i = 0, 0
        next_honest = h_start + 2
        while time.monotonic() - sent_join < RUN_SEC:
            i += 1
            use = first_anchor if i % 5 == 0 else anchor
            body = post(i, cheater, "heartbeat", {"position_sec": stored + 2.4,
                                                  "anchor": use}).json()
            anchor, stored = body["anchor"], body["position_sec"]
            assert stored <= time.monotonic() - sent_join, "ahead of wall-clock time"
            if time.monotonic() >= next_honest:  # the honest player's heartbeat, and noise
                position = time.monotonic() - h_start
                reply = post(i, honest, "heartbeat", {"position_sec": position,
                                                      "anchor": h_anchor})
                assert reply.status_code == 200 and reply.json()["clamped"] is False
                post(i + 1, honest, "heartbeat", {"position_sec": position,
                                                  "anchor": h_anchor})  # duplicated
                post(i, honest, "heartbeat", {"position_sec": 1, "anchor": h_first})  # stale
                h_anchor = reply.json()["anchor"]
                next_honest += 2
            time.sleep(0.2)
        position = time.monotonic() - h_start
        left = post(0, honest, "leave", {"position_sec": position, "anchor": h_anchor})
        assert left.status_code == 204
    elapsed = time.monotonic() - sent_join
    assert stored <= elapsed  # not even the one slack DESIGN §4 would allow
    assert stored >= RUN_SEC - 2  # the cheater still got real time, not less
    # the honest viewer's leave is credited in full (whole seconds, less the request's trip)
    saved = int(mysql_backend.meta(honest)[META_KEYS["last_position_sec"]])
    assert saved >= int(position - 0.5)
