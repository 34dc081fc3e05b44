"""Honest simulated viewers over real HTTP, for the fault and load tests.

A viewer joins, then heartbeats the position a real player would show: the position the
server gave it at join plus the wall-clock time since the join response arrived, which is
never ahead of the server's own clock (DESIGN §4). It echoes the signed anchor of the last
response, as the player does. Every request is recorded (when, which viewer, the status or
the transport error, and whether an error body was the contract's JSON), so a test can say
exactly what clients saw during a fault. Every loop is bounded by a deadline.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from autowebinar_wp import tokens
from autowebinar_wp.config import DEFAULTS
from tests.support import SECRET

TOKEN_TTL_SEC = 3600


@dataclass(frozen=True, slots=True)
class Sent:
    """One request as the client saw it."""

    at: float  # time.monotonic() when the answer (or the error) came
    user_id: int
    path: str
    status: int | None  # None: no HTTP answer (connection refused/reset, timeout)
    error: str = ""  # the transport error's type, or the JSON error code
    json_error: bool = True  # a non-2xx answer carried {"error": {"code", "message"}}
    elapsed: float = 0.0
    position: int | None = None  # the position a 200 to a join or heartbeat confirmed


def is_json_error(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return (isinstance(error, dict) and isinstance(error.get("code"), str)
            and isinstance(error.get("message"), str))


@dataclass
class Viewer:
    user_id: int
    base: str  # the server this viewer talks to (alternating bases: see Crowd.base_for)
    token: str = ""
    anchor: str | None = None
    played_from: float = 0.0  # the position the join gave
    joined_at: float = 0.0  # monotonic time the join response arrived
    confirmed: list[int] = field(default_factory=list)  # positions answered with 200
    due: float = 0.0

    def __post_init__(self) -> None:
        self.token = tokens.mint(SECRET, self.user_id, ttl_sec=TOKEN_TTL_SEC)

    def position(self) -> float:
        """What an honest player shows now (milliseconds, as a player reports)."""
        return round(self.played_from + time.monotonic() - self.joined_at, 3)

    @property
    def last_confirmed(self) -> int:
        return self.confirmed[-1] if self.confirmed else 0


class Crowd:
    """Many honest viewers; `run` drives them from a few client threads until a deadline."""

    def __init__(self, bases: Sequence[str], user_ids: Sequence[int], *,
                 timeout: float = 5.0) -> None:
        self.viewers = [Viewer(uid, bases[i % len(bases)]) for i, uid in enumerate(user_ids)]
        self.timeout = timeout
        self.log: list[Sent] = []  # list.append is atomic under the GIL
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[httpx.Client] = []

    # ---- one request ---------------------------------------------------------------------

    def client(self) -> httpx.Client:
        http: httpx.Client | None = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = httpx.Client(timeout=self.timeout)
            with self._lock:
                self._clients.append(http)
        return http

    def post(self, viewer: Viewer, path: str, body: dict[str, Any] | None = None,
             base: str | None = None) -> httpx.Response | None:
        """POST as the player does; records the outcome; updates the viewer on a 200."""
        payload = dict(body or {})
        if viewer.anchor and path != "join" and "anchor" not in payload:
            payload["anchor"] = viewer.anchor
        url = f"{base or viewer.base}/api/v1/{'cta' if path == 'cta' else 'session/' + path}"
        started = time.monotonic()
        try:
            response = self.client().post(url, json=payload,
                                          headers={"Authorization": f"Bearer {viewer.token}"})
        except httpx.HTTPError as exc:
            now = time.monotonic()
            self.log.append(Sent(now, viewer.user_id, path, None, type(exc).__name__, False,
                                 now - started))
            return None
        now = time.monotonic()
        ok = response.status_code < 300
        code = ""
        if not ok and is_json_error(response):
            code = response.json()["error"]["code"]
        position = None
        if response.status_code == 200 and path in ("join", "heartbeat"):
            data = response.json()
            position = int(data["position_sec"])
        self.log.append(Sent(now, viewer.user_id, path, response.status_code, code,
                             ok or bool(code), now - started, position))
        if position is not None:
            if data.get("anchor"):
                viewer.anchor = data["anchor"]
            if data.get("token"):
                viewer.token = data["token"]
            viewer.confirmed.append(position)
            if path == "join":
                viewer.played_from, viewer.joined_at = float(data["position_sec"]), now
        return response

    def join_all(self) -> None:
        for viewer in self.viewers:
            response = self.post(viewer, "join")
            assert response is not None and response.status_code == 200, (
                f"join failed: {response and response.status_code} {response and response.text}")

    def heartbeat(self, viewer: Viewer) -> httpx.Response | None:
        return self.post(viewer, "heartbeat", {"position_sec": viewer.position()})

    # ---- many viewers ----------------------------------------------------------------------

    def run(self, seconds: float, interval: float, threads: int = 8,
            stop: threading.Event | None = None,
            each: Callable[[Viewer], None] | None = None) -> None:
        """Heartbeat every viewer every `interval` s (staggered) for at most `seconds`."""
        deadline = time.monotonic() + seconds
        stop = stop or threading.Event()
        start = time.monotonic()
        for i, viewer in enumerate(self.viewers):
            viewer.due = start + interval * i / max(1, len(self.viewers))
        act = each or self.heartbeat

        def loop(mine: list[Viewer]) -> None:
            while not stop.is_set() and time.monotonic() < deadline:
                soonest = deadline
                for viewer in mine:
                    now = time.monotonic()
                    if now >= deadline or stop.is_set():
                        return
                    if viewer.due <= now:
                        act(viewer)
                        viewer.due = max(viewer.due + interval, time.monotonic())
                    soonest = min(soonest, viewer.due)
                time.sleep(max(0.0, min(0.05, soonest - time.monotonic())))

        workers = [threading.Thread(target=loop, args=(self.viewers[i::threads],), daemon=True)
                   for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(seconds + 30)

    def close(self) -> None:
        with self._lock:
            for http in self._clients:
                http.close()
            self._clients.clear()
            self._local = threading.local()

    # ---- what happened -----------------------------------------------------------------------

    def statuses(self, since: float = 0.0, until: float = float("inf")) -> Counter[Any]:
        return Counter(s.status if s.status is not None else s.error
                       for s in self.log if since <= s.at < until)

    def never_backwards(self) -> list[str]:
        return [f"user {v.user_id}: {v.confirmed}" for v in self.viewers
                if any(b < a for a, b in zip(v.confirmed, v.confirmed[1:], strict=False))]


# The per-user rate limits guard against one runaway player (tests/test_ratelimit.py tests
# them). Load tests compress time - a simulated viewer heartbeats every 1-2 s instead of
# HEARTBEAT_SEC = 10 - and come from one address, so the limits are raised for them.
# Every *_RATE_LIMIT key the service has (fuzzing goes further behind them, too).
LOAD_LIMITS = {f"AUTOWEBINAR_{key}": "100000 per minute"
               for key in DEFAULTS if key.endswith("_RATE_LIMIT")}
