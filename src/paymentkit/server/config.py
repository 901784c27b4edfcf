"""One settings object, read from PAYMENTKIT_* environment variables (CLI flags override them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from paymentkit.server.db.engine import default_database_url


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

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": default_database_url(),
            "host": os.environ.get("PAYMENTKIT_HOST", "127.0.0.1"),
            "port": int(os.environ.get("PAYMENTKIT_PORT", "8080")),
            "log_level": os.environ.get("PAYMENTKIT_LOG_LEVEL", "info"),
            "secret_key": os.environ.get("PAYMENTKIT_SECRET_KEY") or None,
            "app_sk": app_sk_from_env(),
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
