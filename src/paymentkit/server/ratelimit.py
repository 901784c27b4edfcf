"""Request rate limits per API key: a token bucket for each key, in each worker process.

A key may make `rate` requests per second on average, in bursts of up to `rate` at once (the
bucket holds one second of requests, and at least one). A request that finds the bucket empty
is refused with 429 `rate_limited` and `Retry-After`, the whole seconds until a token is back;
it costs nothing else.
The defaults follow Stripe's: 100 requests per second in live mode, 25 in test mode.

The buckets live in the worker's memory: with N workers (or N machines) a key may make up to N
times the rate. That keeps a refused request free of any database work, which is the point of a
limit; README "API notes" says so. Component-signed calls (the Blocklet app) share one bucket
per mode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from paymentkit.server import errors

DEFAULT_LIVE_RATE = 100.0
DEFAULT_TEST_RATE = 25.0
MAX_BUCKETS = 10_000  # keys tracked per worker; full buckets are forgotten first


def _burst(rate: float) -> float:
    """What a bucket holds: one second of requests, and at least one request."""
    return max(1.0, rate)


@dataclass
class _Bucket:
    tokens: float
    at: float  # monotonic time of `tokens`


class RateLimiter:
    """Token buckets keyed by caller; a rate of 0 turns the mode's limit off."""

    def __init__(
        self,
        live_rate: float = DEFAULT_LIVE_RATE,
        test_rate: float = DEFAULT_TEST_RATE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rates = {True: live_rate, False: test_rate}
        self._clock = clock
        self._buckets: dict[tuple[str, bool], _Bucket] = {}

    def take(self, caller: str, livemode: bool) -> None:
        """Spend one request of `caller`'s bucket, or raise errors.RateLimited."""
        rate = self._rates[livemode]
        if rate <= 0:
            return
        now = self._clock()
        bucket = self._buckets.get((caller, livemode))
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_full(now)
            bucket = self._buckets[(caller, livemode)] = _Bucket(_burst(rate), now)
        else:
            bucket.tokens = min(_burst(rate), bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        wait = (1 - bucket.tokens) / rate
        mode = "live" if livemode else "test"
        raise errors.RateLimited(
            f"Too many requests: this key may make {rate:g} requests per second in {mode} mode",
            max(1, math.ceil(wait)),
        )

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (forgetting them changes no answer); if every
        one is in use, start over rather than grow without bound."""
        for key, bucket in list(self._buckets.items()):
            rate = self._rates[key[1]]
            if bucket.tokens + (now - bucket.at) * rate >= _burst(rate):
                del self._buckets[key]
        if len(self._buckets) >= MAX_BUCKETS:
            self._buckets.clear()
