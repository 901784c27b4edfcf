"""The token bucket of server/ratelimit.py, on a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paymentkit.server import errors, ratelimit
from paymentkit.server.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_rate_passes_then_the_next_is_429_with_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter(live_rate=100, test_rate=25, clock=clock)
    for _ in range(25):
        limiter.take("key_a", False)
    with pytest.raises(errors.RateLimited) as refused:
        limiter.take("key_a", False)
    assert refused.value.status == 429 and refused.value.code == "rate_limited"
    assert refused.value.retry_after == 1
    assert "25 requests per second in test mode" in refused.value.message
    for _ in range(100):  # live mode is its own bucket with its own rate
        limiter.take("key_a", True)
    with pytest.raises(errors.RateLimited):
        limiter.take("key_a", True)


def test_keys_have_their_own_buckets_and_tokens_come_back_with_time() -> None:
    clock = Clock()
    limiter = RateLimiter(test_rate=10, clock=clock)
    for _ in range(10):
        limiter.take("key_a", False)
    limiter.take("key_b", False)  # another key is not held back
    with pytest.raises(errors.RateLimited):
        limiter.take("key_a", False)
    clock.now += 0.1  # one token at 10/s
    limiter.take("key_a", False)
    with pytest.raises(errors.RateLimited):
        limiter.take("key_a", False)
    clock.now += 60  # refills to the burst, never beyond
    for _ in range(10):
        limiter.take("key_a", False)
    with pytest.raises(errors.RateLimited):
        limiter.take("key_a", False)


def test_retry_after_is_the_whole_seconds_until_a_token() -> None:
    clock = Clock()
    limiter = RateLimiter(test_rate=0.25, clock=clock)  # one request every 4 s
    limiter.take("k", False)
    with pytest.raises(errors.RateLimited) as refused:
        limiter.take("k", False)
    assert refused.value.retry_after == 4
    clock.now += 4
    limiter.take("k", False)


def test_a_rate_of_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(live_rate=0, test_rate=0, clock=Clock())
    for _ in range(10_000):
        limiter.take("k", True)
        limiter.take("k", False)


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_BUCKETS", 50)
    clock = Clock()
    limiter = RateLimiter(test_rate=5, clock=clock)
    for i in range(1000):
        limiter.take(f"key_{i}", False)
        clock.now += 0.01
    assert len(limiter._buckets) <= 50


@given(
    rate=st.integers(min_value=1, max_value=200),
    steps=st.lists(st.floats(min_value=0, max_value=2, allow_nan=False), max_size=300),
)
def test_never_more_than_burst_plus_rate_times_elapsed(rate: int, steps: list[float]) -> None:
    """Over any run, the requests let through never exceed the burst plus what the elapsed time
    refills; and a request is refused only when the bucket is below one token."""
    clock = Clock()
    start = clock.now
    limiter = RateLimiter(test_rate=rate, clock=clock)
    passed = 0
    for step in steps:
        clock.now += step
        for _ in range(3):
            try:
                limiter.take("k", False)
                passed += 1
            except errors.RateLimited as exc:
                assert exc.retry_after >= 1
    assert passed <= max(1, rate) + (clock.now - start) * rate + 1e-6
