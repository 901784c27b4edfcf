"""Object ids and timestamps, the two values every row is born with."""

from __future__ import annotations

import secrets
import time

# The last second of year 9999: unix-second inputs beyond it are refused.
MAX_UNIX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LENGTH = 24
# Random bytes below 248 (= 4 × 62) map uniformly onto the alphabet; the rest are dropped, so the
# characters stay uniform (rejection sampling done by bytes.translate, at C speed).
_USABLE = 4 * len(_ALPHABET)
_TO_CHAR = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) if b < _USABLE else 0 for b in range(256))
_REJECTED = bytes(range(_USABLE, 256))


def new_id(prefix: str) -> str:
    """`prefix_` + 24 characters of [0-9A-Za-z], uniform, from the OS's CSPRNG."""
    chars = secrets.token_bytes(32).translate(_TO_CHAR, _REJECTED)
    while len(chars) < _LENGTH:  # needs 9+ rejections out of 32: rare
        chars += secrets.token_bytes(8).translate(_TO_CHAR, _REJECTED)
    return prefix + "_" + chars[:_LENGTH].decode()


def now_ms() -> int:
    """Wall-clock time in integer milliseconds since the epoch (no float arithmetic)."""
    return time.time_ns() // 1_000_000


def iso_ms(ms: int) -> str:
    """`2023-10-27T10:00:00.000Z` for an integer millisecond timestamp."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
