"""Blocklet component signatures, as `@blocklet/payment-js` sends them (see API.md).

The client signs `{body, exp, iat, method, query, url}` serialised by json-stable-stringify: sorted
keys, no spaces, numbers and strings exactly as JavaScript's `JSON.stringify` writes them. That is
the JSON Canonicalization Scheme (RFC 8785, keys in UTF-16 order, ECMAScript number form), which
the `rfc8785` package implements. The text is hashed with SHA3-256 and the digest signed with
Ed25519 by the app key.

JavaScript parses every JSON number into a double, so an integer beyond 2^53 in a body is signed
as that double's rounding (`_as_javascript_parsed` reproduces it): the signed text cannot tell
9007199254740993 from 9007199254740992, so a body holding such an integer could be changed without
breaking its signature. A signed body with an integer of magnitude 2^53 or more is therefore a 400
naming the field, once the signature has verified. This is the only place a float may appear, and
it never reaches stored data.

A signature is valid from `iat` (at most `MAX_CLOCK_SKEW_SECONDS` ahead of our clock) to `exp`,
which may lie at most `MAX_VALIDITY_SECONDS` after `iat` (what the Node client signs: iat + 300).
`verify` answers the signature's `Use`; a write spends it (signature_replays.py) so that it is
accepted once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from paymentkit.server import errors

HEADER_SIG = "x-component-sig"
HEADER_IAT = "x-component-sig-iat"
HEADER_EXP = "x-component-sig-exp"
HEADER_VERSION = "x-component-sig-version"
# A signature whose iat lies further in the future than this is refused (clock skew allowance).
MAX_CLOCK_SKEW_SECONDS = 300
# exp - iat at most: @blocklet/sdk signs with exp = iat + 300.
MAX_VALIDITY_SECONDS = 300

_SIG = re.compile(r"0x[0-9a-fA-F]{128}")
_SAFE_INTEGER = 2**53


def load_app_key(value: str) -> Ed25519PublicKey:
    """The public key of a Blocklet app secret key: `0x` + 64 hex (seed) or 128 hex (seed + pk)."""
    return load_app_signing_key(value).public_key()


def load_app_signing_key(value: str) -> Ed25519PrivateKey:
    """A Blocklet app secret key: `0x` + 64 hex (seed) or 128 hex (seed + pk), whose public half
    must then match the seed."""
    text = value.strip()
    if text.startswith(("0x", "0X")):
        text = text[2:]
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError("the app secret key must be hex, optionally 0x-prefixed") from None
    if len(raw) not in (32, 64):
        raise ValueError("the app secret key must be a 32-byte seed or a 64-byte seed+public key")
    private = Ed25519PrivateKey.from_private_bytes(raw[:32])
    public = private.public_key().public_bytes_raw()
    if len(raw) == 64 and not hmac.compare_digest(public, raw[32:]):
        raise ValueError("the app secret key's public half does not match its seed")
    return private


def signed_text(payload: dict[str, Any]) -> bytes:
    """json-stable-stringify of the payload, byte for byte what the Node client signs."""
    return rfc8785.dumps(_as_javascript_parsed(payload))


def _as_javascript_parsed(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return value if -_SAFE_INTEGER < value < _SAFE_INTEGER else float(value)
    if isinstance(value, dict):
        return {k: _as_javascript_parsed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_javascript_parsed(v) for v in value]
    return value


def unsafe_integer(value: Any, where: str = "") -> str | None:
    """The dotted path of the first integer in `value` that a JavaScript number cannot hold
    exactly (magnitude 2^53 or more), or None. The body's root is ""."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if -_SAFE_INTEGER < value < _SAFE_INTEGER else where
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for k, v in items:
        found = unsafe_integer(v, f"{where}.{k}" if where else str(k))
        if found is not None:
            return found
    return None


def _digest(method: str, url: str, query: dict[str, Any], body: Any, iat: int, exp: int) -> bytes:
    payload = {
        "body": body if body is not None else {},
        "exp": exp,
        "iat": iat,
        "method": method.lower(),
        "query": query,
        "url": url,
    }
    return hashlib.sha3_256(signed_text(payload)).digest()


def sign(
    key: Ed25519PrivateKey,
    *,
    method: str,
    url: str,
    query: dict[str, Any],
    body: Any,
    now: float | None = None,
) -> dict[str, str]:
    """The headers `@blocklet/sdk` signs a request with (and its `verifySig` checks): valid from
    now for MAX_VALIDITY_SECONDS, over the path `url` exactly as sent, the qs-parsed `query`,
    the lower-case method and the parsed JSON `body`. Outgoing webhooks carry them."""
    iat = int(time.time() if now is None else now)
    exp = iat + MAX_VALIDITY_SECONDS
    signature = key.sign(_digest(method, url, query, body, iat, exp))
    return {
        HEADER_SIG: "0x" + signature.hex(),
        HEADER_IAT: str(iat),
        HEADER_EXP: str(exp),
        HEADER_VERSION: "1",
    }


@dataclass(frozen=True)
class SignedRequest:
    signature: str
    iat: str
    exp: str
    version: str | None


@dataclass(frozen=True)
class Use:
    """A verified signature, as the replay cache keys it: the SHA-256 of its 64 bytes (so the
    case of its hex does not matter), kept until `expires_at` (unix seconds), after which no
    server whose clock is within the skew allowance of ours accepts it."""

    signature_hash: str
    expires_at: int


def verify(
    key: Ed25519PublicKey,
    signed: SignedRequest,
    *,
    method: str,
    url: str,
    query: dict[str, Any],
    body: Any,
    now: float | None = None,
) -> Use:
    """Raise `InvalidSignature` unless the request carries a valid, unexpired signature, and
    `InvalidRequest` when the signed body holds an integer the signed text cannot represent."""
    if signed.version not in (None, "1"):
        raise errors.InvalidSignature(f"Unsupported component signature version {signed.version}")
    if not _SIG.fullmatch(signed.signature):
        raise errors.InvalidSignature("Malformed component signature")
    if not (signed.iat.isascii() and signed.iat.isdigit() and len(signed.iat) <= 12):
        raise errors.InvalidSignature("Malformed component signature iat")
    if not (signed.exp.isascii() and signed.exp.isdigit() and len(signed.exp) <= 12):
        raise errors.InvalidSignature("Malformed component signature exp")
    iat, exp = int(signed.iat), int(signed.exp)
    current = int(time.time() if now is None else now)
    if exp < current:
        raise errors.InvalidSignature("Component signature expired")
    if iat > current + MAX_CLOCK_SKEW_SECONDS or exp < iat:
        raise errors.InvalidSignature("Component signature is not valid yet")
    if exp - iat > MAX_VALIDITY_SECONDS:
        raise errors.InvalidSignature(
            f"Component signature valid for more than {MAX_VALIDITY_SECONDS} s (exp - iat)"
        )
    digest = _digest(method, url, query, body, iat, exp)
    raw = bytes.fromhex(signed.signature[2:])
    try:
        key.verify(raw, digest)
    except _BadSignature:
        raise errors.InvalidSignature("Component signature does not verify") from None
    where = unsafe_integer(body)
    if where is not None:
        raise errors.InvalidRequest(
            f"{where or 'the body'} holds an integer beyond 2^53, which a component signature"
            " cannot cover (JavaScript numbers round it); send it as a string",
            where or None,
        )
    return Use(hashlib.sha256(raw).hexdigest(), exp + MAX_CLOCK_SKEW_SECONDS)
