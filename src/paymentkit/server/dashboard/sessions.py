"""Dashboard sessions: sign-in with an API key, the session behind the cookie, CSRF tokens.

The key is checked exactly as the API checks it (`auth.KeyAuthenticator`) and never kept: the
browser gets a random token in an HttpOnly, SameSite=Strict cookie, and the database keeps only
its SHA-256 with the key's id and mode (migration 0009). Each request looks the session up with
its key: a revoked key ends every session it opened. A session ends after `IDLE_MS` without a
request (sliding) and `MAX_AGE_MS` after sign-in whatever happens; signing out deletes it.
Every POST carries the session's CSRF token (a form field or the `X-CSRF-Token` header that
htmx sends), compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paymentkit.server.dashboard import repository as repo
from paymentkit.server.db.engine import Tx
from paymentkit.server.ids import now_ms
from paymentkit.server.keys.service import hash_secret

if TYPE_CHECKING:
    from paymentkit.server.app import Services

COOKIE = "pk_dashboard"
LOGIN_COOKIE = "pk_dashboard_login"  # the sign-in form's own CSRF token, before any session
COOKIE_PATH = "/dashboard"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
IDLE_MS = 30 * 60 * 1000
MAX_AGE_MS = 12 * 60 * 60 * 1000
# last_seen_at is written at most this often, so reading pages does not write on each request.
TOUCH_EVERY_MS = 60 * 1000
TOKEN_MAX = 100  # far above a token's 43 characters
PRUNE_BATCH = 100


@dataclass(frozen=True)
class Session:
    token_hash: str
    key_id: str
    livemode: bool
    csrf_token: str

    @property
    def mode(self) -> str:
        return "live" if self.livemode else "test"


def new_token() -> str:
    return secrets.token_urlsafe(32)


# A session token is random like an API key, so it is stored the way keys are.
hash_token = hash_secret


def same_token(given: str | None, expected: str) -> bool:
    if not given or len(given) > TOKEN_MAX:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


async def sign_in(services: Services, secret: str) -> tuple[str, Session]:
    """A new session for the API key `secret` (401 `AuthenticationRequired` when the API would
    refuse it); the cookie's token and the session. Expired sessions are pruned on the way."""
    principal = await services.keys.authenticate(secret.strip())
    token = new_token()
    session = Session(hash_token(token), principal.key_id, principal.livemode, new_token())

    def work(tx: Tx) -> None:
        now = now_ms()
        repo.prune(tx, now - IDLE_MS, now - MAX_AGE_MS, PRUNE_BATCH)
        repo.insert(
            tx, session.token_hash, session.key_id, session.livemode, session.csrf_token, now
        )

    await services.db.transaction(work, write=True)
    return token, session


async def resume(services: Services, token: str | None) -> Session | None:
    """The live session behind the cookie's token, or None (no cookie, unknown, expired, or its
    key revoked: then every session of that key is deleted)."""
    if not token or len(token) > TOKEN_MAX:
        return None
    token_hash = hash_token(token)
    row = await services.db.transaction(lambda tx: repo.find(tx, token_hash))
    if row is None:
        return None
    key_id, livemode, csrf_token, created_at, last_seen_at, revoked = row
    now = now_ms()
    if revoked:
        await services.db.transaction(lambda tx: repo.delete_of_key(tx, str(key_id)), write=True)
        return None
    if now - int(last_seen_at) > IDLE_MS or now - int(created_at) > MAX_AGE_MS:
        await services.db.transaction(lambda tx: repo.delete(tx, token_hash), write=True)
        return None
    if now - int(last_seen_at) >= TOUCH_EVERY_MS:
        await services.db.transaction(lambda tx: repo.touch(tx, token_hash, now), write=True)
    return Session(token_hash, str(key_id), bool(livemode), str(csrf_token))


async def sign_out(services: Services, session: Session) -> None:
    await services.db.transaction(lambda tx: repo.delete(tx, session.token_hash), write=True)
