"""Object ids and timestamps, the two values every row is born with."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LENGTH = 24
_SPACE = 62**_LENGTH
_BITS = _SPACE.bit_length()


def new_id(prefix: str) -> str:
    """`prefix_` + 24 base62 characters drawn uniformly from a CSPRNG (rejection sampling)."""
    while True:
        n = secrets.randbits(_BITS)
        if n < _SPACE:
            break
    chars = []
    for _ in range(_LENGTH):
        n, r = divmod(n, 62)
        chars.append(_ALPHABET[r])
    return prefix + "_" + "".join(chars)


def now_ms() -> int:
    """Wall-clock time in integer milliseconds since the epoch (no float arithmetic)."""
    return time.time_ns() // 1_000_000


def iso_ms(ms: int) -> str:
    """`2023-10-27T10:00:00.000Z` for an integer millisecond timestamp."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def unix_seconds(ms: int) -> int:
    return ms // 1000


def parse_iso_ms(value: str) -> int:
    """Inverse of `iso_ms`, for clients that send timestamps back."""
    dt = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1000 + dt.microsecond // 1000
