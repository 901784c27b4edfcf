"""When a failed delivery is tried again, and when an endpoint is given up on (pure).

The Standard Webhooks schedule: after the first attempt fails, retries 5 s, 5 min, 30 min, 2 h,
5 h, 10 h, 14 h, 20 h and 24 h later (about three days in all), each delay stretched or shrunk by
up to JITTER so that the retries of many deliveries that failed together do not arrive together.
After the last retry fails the delivery is given up (`failed`). A 429 or 503 answer's
`Retry-After` (seconds, or an HTTP date) replaces the next delay, bounded by RETRY_AFTER_MAX and
jittered upwards only (never sooner than the receiver asked); it still counts as an attempt.

`PAYMENTKIT_WEBHOOK_RETRY_DELAYS` (comma-separated seconds, Settings.webhook_retry_delays)
replaces the schedule for tests and operators: `0.2,0.5` tries three times within a second.

An endpoint whose attempts have all failed for DISABLE_AFTER_MS (from its `failing_since`, the
first failure since its last success) is disabled.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

STANDARD_DELAYS: tuple[float, ...] = (
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
)
JITTER = 0.10  # each delay is within ±10 % of the schedule's
RETRY_AFTER_MAX = 24 * 3600.0  # seconds: a longer Retry-After is cut to this
DISABLE_AFTER_MS = 5 * 24 * 3600 * 1000  # failing this long disables the endpoint
MAX_DELAYS = 30  # entries a configured schedule may have
MAX_DELAY = 7 * 24 * 3600.0  # seconds one configured delay may be
RETRY_AFTER_STATUSES = frozenset({429, 503})


def next_delay(
    delays: Sequence[float],
    attempts: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before the next attempt of a delivery whose `attempts`-th attempt (1 for
    the first) just failed, or None to give up: there is a retry after each of the first
    len(delays) attempts. `retry_after` (seconds, already bounded) replaces the delay."""
    if attempts < 1 or attempts > len(delays):
        return None
    spread: float = (rng or random).uniform(-JITTER, JITTER)
    if retry_after is not None:
        return retry_after * (1 + abs(spread))
    return max(0.0, delays[attempts - 1] * (1 + spread))


def retry_after(value: str | None, now: float) -> float | None:
    """The seconds a `Retry-After` header asks for (delta-seconds, or an HTTP date compared with
    `now`, unix seconds), at most RETRY_AFTER_MAX and at least 0; None when absent or unreadable
    (the schedule applies then)."""
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if text.isascii() and text.isdigit():
        return min(float(int(text)), RETRY_AFTER_MAX)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000" in an HTTP date means UTC too
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - datetime.fromtimestamp(now, UTC)).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)


def should_disable(failing_since_ms: int | None, now_ms: int) -> bool:
    """Whether an endpoint failing since `failing_since_ms` is given up on at `now_ms`."""
    return failing_since_ms is not None and now_ms - failing_since_ms >= DISABLE_AFTER_MS


def parse_delays(text: str) -> tuple[float, ...]:
    """A schedule written as comma-separated seconds (`0.2,0.5`); ValueError saying why not.
    An empty list means no retries at all."""
    parts = [p.strip() for p in text.split(",")]
    if parts == [""]:
        return ()
    if len(parts) > MAX_DELAYS:
        raise ValueError(f"at most {MAX_DELAYS} delays")
    out: list[float] = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"{part!r} is not a number of seconds") from None
        if not math.isfinite(value) or value < 0 or value > MAX_DELAY:
            raise ValueError(f"{part!r}: each delay is 0 to {MAX_DELAY:g} seconds")
        out.append(value)
    return tuple(out)
