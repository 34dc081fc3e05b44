"""Rate limits (`*_RATE_LIMIT`) counted in `RATELIMIT_STORAGE_URI`.

Fixed windows from the `limits` library (the limit syntax and the storages Flask-Limiter
uses: `memory://`, `redis://...`), applied by the `@rate_limited` decorator on each view
(web/auth.py). Flask-Limiter did the same through a before_request hook on every request,
a decorator, and an after_request hook; on the heartbeat path that machinery cost more CPU
than the limit itself (BENCHMARKS.md), so it is not used any more.

`memory://` maps to `SweptMemoryStorage` below. limits' own MemoryStorage expires keys from a
`threading.Timer` that it re-arms 10 ms after each hit: under a steady trickle of heartbeats
that is a new OS thread for most requests, and each timer walks every key (one per viewer)
while holding the GIL - measured, the single largest cost of a heartbeat. This storage keeps
the same counters in one dict and sweeps expired keys inline, at most once a second, under
one lock. Like any memory storage it counts per process: with several server workers a
viewer's budget is per worker (use redis:// to share it). It tells time with the app's clock
(services.py), the one the rest of the request uses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string

SCHEME = "autowebinar-memory"
SWEEP_INTERVAL_SEC = 1.0


class SweptMemoryStorage(Storage):
    """Fixed-window counters in a dict, expired inline (no timer thread)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 clock: Callable[[], float] = time.time,
                 **options: float | str | bool) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[str, list[float]] = {}  # key -> [count, expires_at (epoch)]
        self._next_sweep = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            entry = self._counters.get(key)
            if entry is None or entry[1] <= now:
                entry = self._counters[key] = [0, now + expiry]
            entry[0] += amount
            return int(entry[0])

    def get(self, key: str) -> int:
        entry = self._counters.get(key)
        if entry is None or entry[1] <= self._clock():
            return 0
        return int(entry[0])

    def get_expiry(self, key: str) -> float:
        entry = self._counters.get(key)
        now = self._clock()
        return entry[1] if entry is not None and entry[1] > now else now

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count = len(self._counters)
            self._counters.clear()
        return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._counters.pop(key, None)

    def _sweep(self, now: float) -> None:
        """Drop expired windows; called with the lock held."""
        expired = [k for k, (_count, expires) in self._counters.items() if expires <= now]
        for key in expired:
            del self._counters[key]
        self._next_sweep = now + SWEEP_INTERVAL_SEC


def storage_uri(configured: str) -> str:
    """Our storage for the in-process default; anything else (redis://...) as configured."""
    if configured.strip() in ("memory://", "memory:///"):
        return f"{SCHEME}://"
    return configured


@lru_cache(maxsize=32)
def parse_limits(text: str) -> tuple[RateLimitItem, ...]:
    """"30 per minute", "1/second; 30/minute", ... (limits' notation, as Flask-Limiter's)."""
    return tuple(parse_many(text))


@dataclass(frozen=True, slots=True)
class Verdict:
    """One counted request: allowed or not, and the tightest limit's state (for headers)."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # epoch seconds when the window ends


class PerKeyLimiter:
    """Fixed-window limits per key (a WordPress user) in one limits storage."""

    def __init__(self, configured_storage_uri: str,
                 clock: Callable[[], float] = time.time) -> None:
        uri = storage_uri(configured_storage_uri)
        options: dict[str, Any] = {"clock": clock} if uri.startswith(SCHEME) else {}
        storage = storage_from_string(uri, **options)
        if not isinstance(storage, Storage):
            raise ValueError("RATELIMIT_STORAGE_URI must name a synchronous storage")
        self.storage: Storage = storage
        self._clock = clock

    def hit(self, limits_text: str, key: str) -> Verdict:
        """Count one request against every limit; the first one exceeded refuses it."""
        verdict: Verdict | None = None
        for item in parse_limits(limits_text):
            window_key = item.key_for(key)
            count = self.storage.incr(window_key, item.get_expiry())
            current = Verdict(count <= item.amount, item.amount, max(0, item.amount - count),
                              int(self.storage.get_expiry(window_key)))
            if not current.allowed:
                return current
            if verdict is None or current.remaining < verdict.remaining:
                verdict = current
        return verdict or Verdict(True, 0, 0, int(self._clock()))
