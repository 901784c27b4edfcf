"""The retry schedule of webhook deliveries (server/delivery/schedule.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paymentkit.server.delivery import schedule
from paymentkit.server.delivery.schedule import STANDARD_DELAYS, next_delay

NOW = 1_700_000_000.0


def test_the_standard_schedule_is_standard_webhooks_and_about_three_days() -> None:
    assert STANDARD_DELAYS == (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    total = sum(STANDARD_DELAYS)
    assert 3 * 86400 < total < 3.2 * 86400  # "three days in all"


@given(st.integers(1, len(STANDARD_DELAYS)), st.integers(0, 2**32))
def test_each_retry_waits_its_delay_within_ten_percent(attempts: int, seed: int) -> None:
    delay = next_delay(STANDARD_DELAYS, attempts, rng=random.Random(seed))
    base = STANDARD_DELAYS[attempts - 1]
    assert delay is not None
    assert base * 0.9 <= delay <= base * 1.1


@given(st.integers(len(STANDARD_DELAYS) + 1, 1000) | st.integers(-5, 0))
def test_after_the_last_retry_the_delivery_is_given_up(attempts: int) -> None:
    assert next_delay(STANDARD_DELAYS, attempts) is None
    assert next_delay(STANDARD_DELAYS, attempts, retry_after=10) is None


@given(
    st.integers(1, len(STANDARD_DELAYS)),
    st.floats(0, schedule.RETRY_AFTER_MAX),
    st.integers(0, 2**32),
)
def test_retry_after_replaces_the_delay_and_is_never_shortened(
    attempts: int, asked: float, seed: int
) -> None:
    delay = next_delay(STANDARD_DELAYS, attempts, retry_after=asked, rng=random.Random(seed))
    assert delay is not None
    assert asked <= delay <= asked * 1.1


def test_jitter_spreads_retries() -> None:
    rng = random.Random(7)
    delays = {next_delay(STANDARD_DELAYS, 2, rng=rng) for _ in range(50)}
    assert len(delays) > 40


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("999999999", schedule.RETRY_AFTER_MAX),
        (format_datetime(datetime.fromtimestamp(NOW + 90, UTC), usegmt=True), 90.0),
        (format_datetime(datetime.fromtimestamp(NOW - 90, UTC), usegmt=True), 0.0),
        (format_datetime(datetime.fromtimestamp(NOW + 10 * 86400, UTC), usegmt=True), 86400.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("x" * 100, None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date_bounded_to_a_day(
    header: str | None, seconds: float | None
) -> None:
    assert schedule.retry_after(header, NOW) == seconds


@given(st.text(max_size=80))
def test_any_retry_after_text_is_a_bounded_number_or_none(header: str) -> None:
    value = schedule.retry_after(header, NOW)
    assert value is None or 0 <= value <= schedule.RETRY_AFTER_MAX


def test_an_endpoint_failing_five_days_is_disabled() -> None:
    day = 86_400_000
    now = 100 * day
    assert not schedule.should_disable(None, now)
    assert not schedule.should_disable(now - 5 * day + 1, now)
    assert schedule.should_disable(now - 5 * day, now)


def test_a_configured_schedule_is_comma_separated_seconds() -> None:
    assert schedule.parse_delays("0.2,0.5") == (0.2, 0.5)
    assert schedule.parse_delays(" 1 , 2 ,3") == (1.0, 2.0, 3.0)
    assert schedule.parse_delays("") == ()
    assert next_delay((0.2, 0.5), 1, rng=random.Random(1)) is not None
    assert next_delay((0.2, 0.5), 3) is None
    for bad in ("a", "1,,2", "-1", "nan", "inf", "1e9", ",".join(["1"] * 31)):
        with pytest.raises(ValueError):
            schedule.parse_delays(bad)


def test_the_setting_reads_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from paymentkit.server.config import Settings

    monkeypatch.setenv("PAYMENTKIT_WEBHOOK_RETRY_DELAYS", "0.2,0.5")
    assert Settings.from_env().webhook_retry_delays == (0.2, 0.5)
    monkeypatch.setenv("PAYMENTKIT_WEBHOOK_RETRY_DELAYS", "soon")
    with pytest.raises(ValueError, match="PAYMENTKIT_WEBHOOK_RETRY_DELAYS"):
        Settings.from_env()
    monkeypatch.delenv("PAYMENTKIT_WEBHOOK_RETRY_DELAYS")
    assert Settings.from_env().webhook_retry_delays == STANDARD_DELAYS
