"""Endpoint signing secrets: made here, kept encrypted (the server's Fernet box, as payment-method
settings), shown only on create and rotate_secret, and read back for the signer (`new_secret`
itself is paymentkit/webhooks.py's, shared with `paymentkit listen`).

A secret is `whsec_` + base64 of 32 random bytes, the Standard Webhooks form: the HMAC key is the
base64-decoded part. After a rotation the previous secret keeps signing beside the new one for
ROTATION_OVERLAP_MS, so receivers can switch without missing a delivery; a second rotation within
that time replaces the previous secret (only the one just replaced keeps signing).
"""

from __future__ import annotations

from paymentkit.server.crypto import SecretBox
from paymentkit.server.db.engine import Tx
from paymentkit.server.webhooks import repository as repo
from paymentkit.webhooks import new_secret

ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000


def seal(box: SecretBox, secret: str) -> str:
    return box.encrypt(secret.encode("ascii"))


def unsealed(
    box: SecretBox, current: str, previous: str | None, previous_expires_at: int | None, now: int
) -> list[str]:
    """The secrets a delivery at `now` is signed with: the current one, then the previous one
    while its overlap lasts."""
    out = [box.decrypt(current).decode("ascii")]
    if previous is not None and previous_expires_at is not None and now < previous_expires_at:
        out.append(box.decrypt(previous).decode("ascii"))
    return out


def signing_secrets(tx: Tx, box: SecretBox, endpoint_seq: int, now: int) -> list[str]:
    """The endpoint's signing secrets at `now` (ms), current first; [] when it no longer
    exists. For the delivery worker's signer."""
    sealed = repo.sealed_secrets(tx, endpoint_seq)
    if sealed is None:
        return []
    return unsealed(box, *sealed, now)


def rotated(box: SecretBox, sealed_current: str, now: int) -> tuple[str, str, str, int]:
    """A rotation at `now`: (new secret, its sealed form, the sealed previous, its expiry)."""
    secret = new_secret()
    return secret, seal(box, secret), sealed_current, now + ROTATION_OVERLAP_MS
