"""Check, in a Python receiver, that a webhook really comes from your paymentkit server.

paymentkit signs every delivery with the endpoint's secret (`whsec_…`, shown when the endpoint is
created or its secret rotated) following Standard Webhooks: the headers `webhook-id` (the event
id, the same on every retry and resend), `webhook-timestamp` (unix seconds of this attempt) and
`webhook-signature` (one or more space-separated `v1,<base64 HMAC-SHA256>`; two while a rotated
secret still overlaps the new one). `paymentkit listen` signs what it forwards the same way.

```python
from paymentkit.webhooks import WebhookVerificationError, verify

@app.post("/webhooks/paymentkit")            # Starlette, FastAPI, Flask, Django: any framework
async def receive(request):
    try:
        event = verify(await request.body(), request.headers, secret=WEBHOOK_SECRET)
    except WebhookVerificationError:
        return Response(status_code=400)
    if event["type"] == "invoice.paid":
        ...                                  # event["data"]["object"] is the invoice
    return Response(status_code=204)         # any 2xx within 15 s is a success
```

Pass the body exactly as received (bytes), before any JSON parsing: the signature covers those
bytes. Deliveries are at least once: use `event["id"]` (equal to `webhook-id`) to skip one you
already handled. The check itself is the `standardwebhooks` package's.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks import WebhookVerificationError as _LibraryError
from standardwebhooks.webhooks import EmptyWebhookSecretError

from paymentkit.sdk.errors import PaymentKitError

__all__ = ["TOLERANCE_SECONDS", "WebhookVerificationError", "signer", "verify"]

TOLERANCE_SECONDS = 5 * 60
"""How far `webhook-timestamp` may be from this machine's clock, either way (Standard Webhooks'
five minutes): an older message is refused, so a captured one cannot be replayed later."""

_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class WebhookVerificationError(PaymentKitError):
    """The message is not a genuine, recent webhook for this secret: a Standard Webhooks header
    missing or malformed, no signature matching the body, id and timestamp, a timestamp more than
    five minutes away from now, or a body that is not a UTF-8 JSON object. Answer such a request
    with a 4xx and do not act on it."""


def verify(body: bytes | str, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The event a signed webhook carries, once its signature and timestamp check out.

    `body` is the raw request body (bytes, or the same text), `headers` the request's headers in
    any case (a dict or any framework's header mapping), `secret` the endpoint's `whsec_…`
    secret. Returns the event as a dict (`id`, `type`, `data`, …). Raises
    `WebhookVerificationError` when the message does not verify (see there), and `ValueError`
    when `secret` is not a secret at all (empty, or not base64 after `whsec_`), which is a
    mistake in the receiver's configuration rather than in the message.
    """
    webhook = signer(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in _HEADERS if not lowered.get(name)]
    if missing:
        raise WebhookVerificationError(f"missing header {', '.join(missing)}")
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookVerificationError("the body is not UTF-8") from None
    elif isinstance(body, str):
        text = body
    else:
        raise TypeError(f"body must be bytes or str, not {type(body).__name__}")
    checked = {
        "webhook-id": lowered["webhook-id"],
        "webhook-timestamp": lowered["webhook-timestamp"],
        "webhook-signature": _signatures(lowered["webhook-signature"]),
    }
    try:
        webhook.verify(text, checked, json_parse=False)
    except _LibraryError as exc:
        raise WebhookVerificationError(str(exc) or "the signature does not verify") from None
    except UnicodeError:  # text (body or id) holding lone surrogates: no bytes were signed
        raise WebhookVerificationError("the body or webhook-id is not valid text") from None
    try:
        event = json.loads(text)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
    if not isinstance(event, dict):
        raise WebhookVerificationError("the body is not a JSON object")
    return event


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes
    (what the server gives each endpoint and `paymentkit listen` makes for itself)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signed_headers(
    event_id: str, body: bytes, secrets_: Sequence[str], timestamp: int
) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` (one `v1,…` per secret, space
    separated), signed by the `standardwebhooks` package: what the server's deliveries and
    `paymentkit listen` send, and what `verify` checks."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    text = body.decode("utf-8")
    signatures = " ".join(
        Webhook(secret).sign(msg_id=event_id, timestamp=moment, data=text) for secret in secrets_
    )
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def signer(secret: str) -> Webhook:
    """The `standardwebhooks.Webhook` for `secret` (to verify or sign with), or `ValueError`
    when it is no secret: it must be `whsec_` (optional, as in `standardwebhooks`) then the
    base64 of 24 to 64 bytes, the sizes Standard Webhooks allows (paymentkit makes 32). The
    package itself takes any text, dropping characters that are not base64, so a truncated or
    mistyped secret would only ever show up as signatures that never match."""
    if not isinstance(secret, str):
        raise TypeError(f"secret must be a str (whsec_…), not {type(secret).__name__}")
    text = secret.strip()
    encoded = text.removeprefix("whsec_")
    try:
        key = binascii.a2b_base64(encoded + "=" * (-len(encoded) % 4), strict_mode=True)
        if not 24 <= len(key) <= 64:
            raise ValueError("not 24 to 64 bytes")
        return Webhook(text)
    except (EmptyWebhookSecretError, ValueError):  # binascii.Error is a ValueError
        raise ValueError(
            "the webhook secret is not a whsec_… secret (base64 of 24 to 64 bytes after whsec_)"
        ) from None


def _signatures(header: str) -> str:
    """The header's well-formed signatures, space-separated. `standardwebhooks` stops at the
    first entry it cannot read (no comma, two commas, bad base64), even when a valid signature
    follows; dropping those entries first keeps one odd entry from hiding a good one, and leaves
    nothing it could fail on but a mismatch."""
    kept = []
    for entry in header.split():
        version, sep, signature = entry.partition(",")
        if not sep or not version or "," in signature:
            continue
        if version == "v1":
            try:
                binascii.a2b_base64(signature, strict_mode=True)
            except binascii.Error:
                continue
        kept.append(entry)
    if not kept:
        raise WebhookVerificationError("no readable signature in webhook-signature")
    return " ".join(kept)
