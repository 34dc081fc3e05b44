"""Races on one user: 32 mixed requests (join, heartbeat, leave, CTA) at once, through two
`serve` processes (two granian workers each) sharing one database and one queue.

Twice: on a fresh user (the joins race to create the session, the rest race with them),
then with anchors, crossing a milestone. Afterwards there is one row per key, one session
id, one cta_clicked_at, and each event was sent exactly once (one per id).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from autowebinar_wp import tokens
from autowebinar_wp.events import event_id
from autowebinar_wp.replay import derive
from autowebinar_wp.session import SessionConfig
from autowebinar_wp.state import META_KEYS
from tests import processes
from tests.reliability import figures
from tests.reliability.crowd import LOAD_LIMITS, is_json_error
from tests.reliability.integrity import assert_well_formed
from tests.support import SECRET
from tests.webhook_receiver import running_receiver

pytestmark = [pytest.mark.reliability, pytest.mark.mysql, pytest.mark.slow]

REQUESTS = 32
KINDS = ("join", "heartbeat", "leave", "cta")
DURATION_SEC = 4  # 25 % at 1 s: the second burst crosses a milestone
PATHS = {"join": "session/join", "heartbeat": "session/heartbeat", "leave": "session/leave",
         "cta": "cta"}
# What each kind may answer in a race (never a 5xx): before the session exists a heartbeat
# is 409 no_session, a leave saves nothing (204), a CTA is 409; without an anchor 400.
ALLOWED = {"join": {200}, "heartbeat": {200, 400, 409}, "leave": {204, 400},
           "cta": {200, 409}}


def burst(bases: list[str], user_id: int, anchors: list[tuple[str, float, float]]
          ) -> list[tuple[str, int, dict[str, Any] | None]]:
    """32 requests released together; (kind, status, JSON body) for each."""
    token = tokens.mint(SECRET, user_id)
    gate = threading.Barrier(REQUESTS)
    results: list[tuple[str, int, dict[str, Any] | None]] = []

    def one(i: int) -> None:
        kind, base = KINDS[i % 4], bases[(i // 4) % 2]
        body: dict[str, Any] = {}
        if kind in ("heartbeat", "leave"):
            if anchors:
                anchor, position, received = anchors[i % len(anchors)]
                body = {"position_sec": round(position + time.monotonic() - received, 3),
                        "anchor": anchor}
            else:
                body = {"position_sec": 0}
        with httpx.Client(timeout=10) as http:
            gate.wait(10)
            response = http.post(f"{base}/api/v1/{PATHS[kind]}", json=body,
                                 headers={"Authorization": f"Bearer {token}"})
        data = response.json() if response.content else None
        if response.status_code >= 400:
            assert is_json_error(response), response.text
        results.append((kind, response.status_code, data))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == REQUESTS
    return results


def test_mixed_requests_for_one_user_through_two_servers(mysql_backend, tmp_path) -> None:
    uid = mysql_backend.new_user()
    before = mysql_backend.checksum()
    with running_receiver() as receiver:
        env = processes.environment(
            mysql_backend.url, tmp_path / "instance",  # one instance: one shared queue
            AUTOWEBINAR_WEBHOOK_URLS=receiver.url, AUTOWEBINAR_WEBHOOK_SECRET=receiver.secret,
            AUTOWEBINAR_VIDEO_DURATION_SEC=str(DURATION_SEC), AUTOWEBINAR_CTA_AT_SEC="0",
            **LOAD_LIMITS)
        with processes.server(env, "--workers", "2") as one, \
                processes.server(env, "--workers", "2") as two:
            bases = [one.base, two.base]
            first = burst(bases, uid, [])
            anchors = [(d["anchor"], float(d["position_sec"]), time.monotonic())
                       for kind, status, d in first if kind == "join" and d]
            time.sleep(1.2)
            second = burst(bases, uid, anchors)
            state = mysql_backend.store.read(uid).state
            expected = {event_id(e): e.name
                        for e in derive(state, SessionConfig(DURATION_SEC, cta_at_sec=0))}
            receiver.wait_for(len(expected), timeout=20)
            time.sleep(1.5)  # any second copy would arrive by now
        sent = Counter(e[2] for e in receiver.events())
    statuses = Counter(f"{kind}:{status}" for kind, status, _ in first + second)
    rows = mysql_backend.rows(uid)
    sessions = {d["session_id"] for kind, status, d in first + second
                if kind == "join" and status == 200 and d}
    figures.record("races", requests=2 * REQUESTS, statuses=dict(statuses),
                   events=len(sent), copies_per_event=sorted(set(sent.values())))
    wrong = [(k, s) for k, s, _ in first + second if s not in ALLOWED[k]]
    assert not wrong, wrong
    assert len(sessions) == 1 and state.session_id in sessions
    keys = Counter(key for key, _value in rows)
    assert all(count == 1 for count in keys.values()), keys
    assert keys[META_KEYS["cta_clicked_at"]] == 1
    assert state.progress_percent >= 25  # the second burst crossed a milestone
    assert set(sent) == set(expected), (sorted(expected.values()), sent)
    assert all(count == 1 for count in sent.values()), sent
    assert_well_formed(mysql_backend.engine, [uid])
    assert mysql_backend.checksum() == before
