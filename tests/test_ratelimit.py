"""The heartbeat limiter: the timer-free memory storage, fixed windows, headers, config."""

import pytest

from autowebinar_wp import create_app, ratelimit
from autowebinar_wp.errors import ConfigError
from tests.support import SECRET

HB, JOIN = "/api/v1/session/heartbeat", "/api/v1/session/join"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_memory_uri_maps_to_the_swept_storage_and_others_pass_through() -> None:
    assert ratelimit.storage_uri("memory://") == "autowebinar-memory://"
    assert ratelimit.storage_uri("redis://127.0.0.1:6379/3") == "redis://127.0.0.1:6379/3"
    limiter = ratelimit.PerKeyLimiter("memory://")
    assert isinstance(limiter.storage, ratelimit.SweptMemoryStorage)


def test_fixed_window_counts_then_resets(clock) -> None:
    storage = ratelimit.SweptMemoryStorage(clock=clock)
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get_expiry("k") == clock.now + 60
    clock.now += 60
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1


def test_expired_keys_are_swept_inline_without_a_thread(clock) -> None:
    import threading

    before = threading.active_count()
    storage = ratelimit.SweptMemoryStorage(clock=clock)
    for i in range(100):
        storage.incr(f"user:{i}", 60)
    assert threading.active_count() == before
    clock.now += 61
    storage.incr("fresh", 60)  # the first hit after the sweep interval sweeps
    assert list(storage._counters) == ["fresh"]
    storage.clear("fresh")
    assert storage.get("fresh") == 0
    storage.incr("a", 60)
    assert storage.reset() == 1 and storage.check()


def test_several_limits_refuse_at_the_first_exceeded(clock) -> None:
    limiter = ratelimit.PerKeyLimiter("memory://", clock=clock)
    verdicts = [limiter.hit("2/second; 3/minute", "user:1") for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[2].limit == 2
    clock.now += 1
    fourth, fifth = limiter.hit("2/second; 3/minute", "user:1"), limiter.hit(
        "2/second; 3/minute", "user:1")
    assert fourth.allowed and fourth.limit == 3 and fourth.remaining == 0
    assert not fifth.allowed and fifth.limit == 3
    assert limiter.hit("2/second; 3/minute", "user:2").allowed


def test_heartbeat_responses_carry_the_rate_limit_headers(make_harness) -> None:
    harness = make_harness(HEARTBEAT_RATE_LIMIT="2 per minute")
    uid = harness.backend.new_user()
    harness.post(JOIN, uid)
    first = harness.post(HB, uid, json={"position_sec": 0})
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert int(first.headers["Retry-After"]) <= 60
    harness.post(HB, uid, json={"position_sec": 0})
    refused = harness.post(HB, uid, json={"position_sec": 0})
    assert refused.status_code == 429 and refused.headers["X-RateLimit-Remaining"] == "0"
    # join has a limit of its own, counted separately
    assert harness.post(JOIN, uid).headers["X-RateLimit-Limit"] == "20"


@pytest.mark.parametrize(("key", "value"), [("HEARTBEAT_RATE_LIMIT", "often"),
                                            ("RATELIMIT_STORAGE_URI", "nosuch://x")])
def test_a_bad_limit_setting_fails_at_start_up(tmp_path, key, value) -> None:
    with pytest.raises(ConfigError, match=key):
        create_app({"EMBED_SECRET": SECRET, key: value}, instance_path=str(tmp_path))
