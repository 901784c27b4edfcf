"""The headers that sign one delivery attempt.

Standard Webhooks: `webhook-id` is the event id (the same on every retry and resend, so a
receiver drops repeats by it), `webhook-timestamp` this attempt's unix seconds, and
`webhook-signature` one `v1,<base64>` per signing secret of the endpoint, space separated (two
while a rotated secret still overlaps), each computed by the `standardwebhooks` package over
`{id}.{timestamp}.{body}`.

When the server has the Blocklet app key (PAYMENTKIT_APP_SK), also the component-signature
headers that `verifySig` of `@blocklet/sdk` checks, over the receiving URL as it is sent: its
path (not percent-decoded), its qs-parsed query, `post` and the parsed JSON body
(component_sig.py, the same text and keys the server verifies incoming calls with).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from paymentkit.server import component_sig, querystring
from paymentkit.server.delivery.sender import request_url
from paymentkit.webhooks import signed_headers

log = logging.getLogger("paymentkit.delivery")


def component_headers(key: Ed25519PrivateKey, url: str, body: bytes, now: float) -> dict[str, str]:
    """The x-component-sig* headers for a POST of `body` to `url`; none when the URL's query is
    beyond what the qs parser reproduces (a receiver could not check them then anyway)."""
    target = request_url(url).raw_path_qs  # what the request line will carry
    path, _, query = target.partition("?")
    try:
        parsed_query: dict[str, Any] = querystring.parse(query)
    except querystring.QueryStringError:
        log.warning("webhook URL's query cannot be signed as a component call; sent unsigned")
        return {}
    parsed_body = msgspec.json.decode(body)
    return component_sig.sign(
        key, method="post", url=path, query=parsed_query, body=parsed_body, now=now
    )


def attempt_headers(
    event_id: str,
    body: bytes,
    secrets: Sequence[str],
    *,
    url: str,
    now: float,
    app_key: Ed25519PrivateKey | None,
) -> dict[str, str]:
    """Every signing header of one attempt made at `now` (unix seconds)."""
    # the Standard Webhooks headers are made where receivers' `verify` lives
    headers = signed_headers(event_id, body, secrets, int(now))
    if app_key is not None:
        headers.update(component_headers(app_key, url, body, now))
    return headers
