"""Who is calling and in which mode.

API keys: `Authorization: Bearer sk_test_…|sk_live_…`. The presented secret is hashed and looked up
by its hash; results (found or not) are cached per process for `KEY_CACHE_SECONDS`, which bounds how
long a key created or revoked from the CLI takes to reach a running server. The key fixes the mode.

Component signatures (`x-component-sig…` headers, what `@blocklet/payment-js` sends) when the
server has the app key: the mode is the `livemode` query parameter, live by default.

Nothing else — no `x-user-did` or similar header — identifies a caller.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

if TYPE_CHECKING:
    from paymentkit.server.http import Call

from paymentkit.server import component_sig, errors
from paymentkit.server.db.engine import Database
from paymentkit.server.keys import repository
from paymentkit.server.keys.service import hash_secret

# Where the request's scope keeps the authenticating API key's id, for the request log.
SCOPE_KEY_ID = "paymentkit.key_id"
KEY_CACHE_SECONDS = 2.0
KEY_CACHE_MAX = 10_000
MAX_SECRET_LENGTH = 200
COMPONENT_CALLER = "component"  # whom rate limits count component-signed calls against


@dataclass(frozen=True)
class Principal:
    key_id: str
    livemode: bool


class KeyAuthenticator:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, secret: str) -> Principal:
        if len(secret) > MAX_SECRET_LENGTH or not secret.startswith(("sk_test_", "sk_live_")):
            raise errors.AuthenticationRequired("Invalid API key provided")
        digest = hash_secret(secret)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            principal = hit[1]
        else:
            row = await self._db.transaction(lambda tx: repository.find_by_hash(tx, digest))
            principal = None
            if row is not None and hmac.compare_digest(str(row[2]), digest):
                principal = Principal(str(row[0]), bool(row[1]))
            if len(self._cache) >= KEY_CACHE_MAX:
                self._cache.clear()
            self._cache[digest] = (now + KEY_CACHE_SECONDS, principal)
        if principal is None:
            raise errors.AuthenticationRequired("Invalid API key provided")
        return principal


def bearer_secret(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise errors.AuthenticationRequired("Authorization header must be 'Bearer <API key>'")
    return value.strip()


def requested_livemode(query: dict[str, Any]) -> bool | None:
    value = query.get("livemode")
    if value is None:
        return None
    if value in ("true", "false"):
        return bool(value == "true")
    raise errors.InvalidRequest("livemode must be 'true' or 'false'", "livemode")


async def resolve_mode(call: Call) -> bool:
    """The caller's mode; raises 401 for missing/bad credentials and 403 for a mode mismatch."""
    request, query = call.request, call.query
    if component_sig.HEADER_SIG in request.headers:
        return await _component_mode(call)
    secret = bearer_secret(request)
    if secret is None:
        raise errors.AuthenticationRequired(
            "No API key provided: send 'Authorization: Bearer sk_test_…'"
        )
    principal = await call.services.keys.authenticate(secret)
    call.key_id = principal.key_id
    call.services.limits.take(principal.key_id, principal.livemode)
    asked = requested_livemode(query)
    if asked is not None and asked != principal.livemode:
        mode = "live" if asked else "test"
        raise errors.Forbidden(
            f"This API key is for {'live' if principal.livemode else 'test'} mode and cannot "
            f"access {mode} mode data",
            "livemode",
        )
    return principal.livemode


async def _component_mode(call: Call) -> bool:
    key = call.services.component_key
    if key is None:
        raise errors.AuthenticationRequired(
            "Component signatures are not enabled on this server (set PAYMENTKIT_APP_SK)"
        )
    headers = call.request.headers
    signed = component_sig.SignedRequest(
        signature=headers.get(component_sig.HEADER_SIG, ""),
        iat=headers.get(component_sig.HEADER_IAT, ""),
        exp=headers.get(component_sig.HEADER_EXP, ""),
        version=headers.get(component_sig.HEADER_VERSION),
    )
    call.signature = component_sig.verify(
        key,
        signed,
        method=call.request.method,
        url=call.request.scope["raw_path"].decode("latin-1"),
        query=call.query,
        body=await call.json(),
    )
    asked = requested_livemode(call.query)
    livemode = True if asked is None else asked
    call.services.limits.take(COMPONENT_CALLER, livemode)  # the Blocklet app: one caller
    return livemode
