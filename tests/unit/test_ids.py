"""Timestamps as the API writes them: `iso_ms` against the C library's own formatting."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from paymentkit.server.ids import MAX_UNIX_SECONDS, iso_ms


def _reference(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


@given(st.integers(min_value=0, max_value=MAX_UNIX_SECONDS * 1000 + 999))
def test_iso_ms_is_the_utc_time_to_the_millisecond(ms: int) -> None:
    assert iso_ms(ms) == _reference(ms)


def test_iso_ms_at_the_edges_of_a_day() -> None:
    assert iso_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_ms(86_399_999) == "1970-01-01T23:59:59.999Z"
    assert iso_ms(86_400_000) == "1970-01-02T00:00:00.000Z"
    assert iso_ms(1_698_400_800_000) == "2023-10-27T10:00:00.000Z"
    assert iso_ms(MAX_UNIX_SECONDS * 1000 + 999) == "9999-12-31T23:59:59.999Z"
