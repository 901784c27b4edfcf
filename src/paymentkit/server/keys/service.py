"""Creating, listing and revoking API keys (used by the CLI and by `serve`'s first start)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from paymentkit.server.db.engine import Tx
from paymentkit.server.ids import iso_ms, new_id, now_ms
from paymentkit.server.keys import repository

SECRET_PREFIX = {False: "sk_test_", True: "sk_live_"}


@dataclass(frozen=True)
class KeyInfo:
    id: str
    livemode: bool
    name: str | None
    hint: str
    created_at: str
    revoked_at: str | None

    @property
    def mode(self) -> str:
        return "live" if self.livemode else "test"

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "mode": self.mode,
            "livemode": self.livemode,
            "name": self.name,
            "hint": self.hint,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def hash_secret(secret: str) -> str:
    """Keys carry about 175 random bits, so a plain SHA-256 is a sound one-way store (no stretching needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create(tx: Tx, livemode: bool, name: str | None) -> tuple[KeyInfo, str]:
    """Make a key; the secret is returned here and never again."""
    secret = new_id(SECRET_PREFIX[livemode].rstrip("_")) + secrets.token_hex(4)
    key_id = new_id("key")
    now = now_ms()
    hint = secret[:8] + "…" + secret[-4:]
    repository.insert(tx, key_id, livemode, name, hash_secret(secret), hint, now)
    return KeyInfo(key_id, livemode, name, hint, iso_ms(now), None), secret


def list_keys(tx: Tx) -> list[KeyInfo]:
    return [_info(row) for row in repository.list_all(tx)]


def revoke(tx: Tx, key_id: str) -> tuple[KeyInfo, bool] | None:
    """Revoke a key: the key and whether this call revoked it (False: it already was, and
    keeps its first revocation time); None when no such key exists."""
    revoked_now = repository.revoke(tx, key_id, now_ms()) > 0
    row = repository.get(tx, key_id)
    return None if row is None else (_info(row), revoked_now)


def has_any(tx: Tx) -> bool:
    return repository.count_all(tx) > 0


def _info(row: tuple[object, ...]) -> KeyInfo:
    id_, livemode, name, hint, created, revoked = row
    return KeyInfo(
        str(id_),
        bool(livemode),
        None if name is None else str(name),
        str(hint),
        iso_ms(int(str(created))),
        None if revoked is None else iso_ms(int(str(revoked))),
    )
