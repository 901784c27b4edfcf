"""Encryption at rest for secret settings (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key is PAYMENTKIT_SECRET_KEY (a Fernet key: 32 bytes, url-safe base64). When it is not set,
`paymentkit serve` generates one on first run and keeps it in `secret.key` beside the SQLite file
(or in ./paymentkit-data for PostgreSQL), readable by its owner only (mode 0600; a folder it
creates is 0700). Every worker of one
deployment must use the same key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from paymentkit.server.files import create_private_file

ENV = "PAYMENTKIT_SECRET_KEY"
KEY_FILE = "secret.key"


class SecretBox:
    def __init__(self, key: str | bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"{ENV} must be a Fernet key (32 bytes, url-safe base64); "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from exc

    def encrypt(self, plaintext: bytes) -> str:
        return self._fernet.encrypt(plaintext).decode()

    def decrypt(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode())
        except InvalidToken:
            raise RuntimeError(
                f"stored settings cannot be decrypted: {ENV} is not the key they were written with"
            ) from None


def key_file_for(sqlite_path: Path | None) -> Path:
    folder = sqlite_path.parent if sqlite_path is not None else Path("paymentkit-data")
    return folder / KEY_FILE


def existing_key(key_file: Path) -> str | None:
    """The configured key, else the one in `key_file`; None when there is neither."""
    configured = os.environ.get(ENV)
    if configured:
        return configured
    if key_file.exists():
        return key_file.read_text().strip()
    return None


def load_or_create_key(key_file: Path) -> str:
    """The configured key, else the one in `key_file`, else a new one written there (mode 0600)."""
    found = existing_key(key_file)
    if found is not None:
        return found
    key = Fernet.generate_key().decode()
    fd = create_private_file(key_file)
    if fd is None:  # another process made it first
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
