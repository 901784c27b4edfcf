"""One settings object, read from PAYMENTKIT_* environment variables (CLI flags override them)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from paymentkit.server.db.engine import default_database_url


@dataclass(frozen=True)
class Settings:
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "info"
    # Fernet key for secret settings; None: PAYMENTKIT_SECRET_KEY or the key file (see crypto.py).
    secret_key: str | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": default_database_url(),
            "host": os.environ.get("PAYMENTKIT_HOST", "127.0.0.1"),
            "port": int(os.environ.get("PAYMENTKIT_PORT", "8080")),
            "log_level": os.environ.get("PAYMENTKIT_LOG_LEVEL", "info"),
            "secret_key": os.environ.get("PAYMENTKIT_SECRET_KEY") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
