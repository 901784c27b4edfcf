"""One settings object, read from PAYMENTKIT_* environment variables (CLI flags override them)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from paymentkit.server.db.engine import (
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_STATEMENT_TIMEOUT,
    default_database_url,
)
from paymentkit.server.delivery.schedule import STANDARD_DELAYS, parse_delays
from paymentkit.server.ratelimit import DEFAULT_LIVE_RATE, DEFAULT_TEST_RATE


@dataclass(frozen=True)
class Settings:
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "info"
    # Fernet key for secret settings; None: PAYMENTKIT_SECRET_KEY or the key file (see crypto.py).
    secret_key: str | None = None
    # Blocklet app secret key; when set, component signatures (@blocklet/payment-js) are accepted.
    app_sk: str | None = None
    # Seconds a transaction's statements may run (PostgreSQL statement_timeout; SQLite's progress
    # handler) before the request is 503 `timeout`; 0 for no bound.
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT
    # Seconds a write waits for SQLite's write lock (then 503 `database_busy`), or any request for
    # a PostgreSQL pool connection (then 503 `database_unavailable`).
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    # `serve`: seconds a connection may take to send a request's headers (from its first byte,
    # or from the connection for its first request) before it is closed.
    header_timeout: float = 10.0
    # `serve`: seconds an idle keep-alive connection stays open.
    keep_alive_timeout: int = 5
    # `serve`: connections (or running requests) per worker beyond which requests get a 503.
    max_connections: int = 500
    # Requests per second per API key, per worker process (ratelimit.py); 0 for no limit. Read
    # from the environment also when Settings is built directly (the test suite turns them off).
    rate_limit_live: float = field(
        default_factory=lambda: _rate("PAYMENTKIT_RATE_LIMIT_LIVE", DEFAULT_LIVE_RATE)
    )
    rate_limit_test: float = field(
        default_factory=lambda: _rate("PAYMENTKIT_RATE_LIMIT_TEST", DEFAULT_TEST_RATE)
    )
    # Webhook URLs may reach loopback, private, link-local and other non-public addresses
    # (server/webhooks/addresses.py): for development and tests, never for a shared server. Read
    # from the environment also when Settings is built directly, as the rate limits are.
    webhook_allow_private: bool = field(
        default_factory=lambda: _flag("PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE")
    )

    # Days an event is kept (then pruned in the background, with its deliveries and attempts).
    event_retention_days: int = 30
    # Run the webhook delivery worker in this app's lifespan (server/delivery/): only apps built
    # with it (tests). `serve` delivers from a process of its own (cli/_delivery_process.py;
    # `--deliver/--no-deliver`, PAYMENTKIT_DELIVER), so its HTTP workers never do.
    deliver: bool = False
    # Seconds between a failed attempt and the next, one per retry (delivery/schedule.py);
    # PAYMENTKIT_WEBHOOK_RETRY_DELAYS="0.2,0.5" shortens it for tests.
    webhook_retry_delays: tuple[float, ...] = STANDARD_DELAYS
    # Deliveries one process sends at once.
    webhook_concurrency: int = 16

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": default_database_url(),
            "host": os.environ.get("PAYMENTKIT_HOST", "127.0.0.1"),
            "port": int(os.environ.get("PAYMENTKIT_PORT", "8080")),
            "log_level": os.environ.get("PAYMENTKIT_LOG_LEVEL", "info"),
            "secret_key": os.environ.get("PAYMENTKIT_SECRET_KEY") or None,
            "app_sk": app_sk_from_env(),
            "statement_timeout": _seconds(
                "PAYMENTKIT_STATEMENT_TIMEOUT", DEFAULT_STATEMENT_TIMEOUT
            ),
            "lock_timeout": _seconds("PAYMENTKIT_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT, zero=False),
            "header_timeout": _seconds("PAYMENTKIT_HEADER_TIMEOUT", 10.0, zero=False),
            "keep_alive_timeout": _count("PAYMENTKIT_KEEP_ALIVE_TIMEOUT", 5),
            "max_connections": _count("PAYMENTKIT_MAX_CONNECTIONS", 500),
            "event_retention_days": _count("PAYMENTKIT_EVENT_RETENTION_DAYS", 30),
            "webhook_retry_delays": _delays("PAYMENTKIT_WEBHOOK_RETRY_DELAYS"),
            "webhook_concurrency": _count("PAYMENTKIT_WEBHOOK_CONCURRENCY", 16),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def app_sk_from_env() -> str | None:
    """PAYMENTKIT_APP_SK, else the contents of the file named by PAYMENTKIT_APP_SK_FILE."""
    value = os.environ.get("PAYMENTKIT_APP_SK")
    if value:
        return value.strip()
    path = os.environ.get("PAYMENTKIT_APP_SK_FILE")
    if path:
        return Path(path).read_text().strip()
    return None


def _seconds(name: str, default: float, *, zero: bool = True) -> float:
    least = "0 or more" if zero else "more than 0"
    return _number(name, default, zero=zero, meaning=f"a number of seconds, {least}")


def _rate(name: str, default: float) -> float:
    return _number(name, default, zero=True, meaning="requests per second, 0 (no limit) or more")


def _number(name: str, default: float, *, zero: bool, meaning: str) -> float:
    """The finite, non-negative number in variable `name` (0 only when `zero`), else `default`
    when it is unset or empty; ValueError saying what it must be otherwise."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        raise ValueError(f"{name} must be {meaning}; not {raw!r}")
    return value


def _flag(name: str) -> bool:
    """1/true/yes/on or 0/false/no/off (any case) in variable `name`, else false when it is
    unset or empty; ValueError saying what it must be otherwise."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return False
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 or 0 (true or false); not {raw!r}")


def _delays(name: str) -> tuple[float, ...]:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return STANDARD_DELAYS
    try:
        return parse_delays(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be comma-separated seconds ({exc}); not {raw!r}") from None


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number, 1 or more; not {raw!r}")
    return int(raw)
