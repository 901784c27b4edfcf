"""The headers of one delivery attempt (server/delivery/signing.py), checked by the
`standardwebhooks` package and by the server's own component-signature verifier. The real
`verifySig` of @blocklet/sdk checks them in tests/compat/test_webhook_signatures.py."""

from __future__ import annotations

import base64
import json
import secrets
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from paymentkit.server import component_sig, errors
from paymentkit.server.delivery import signing
from paymentkit.webhooks import signed_headers


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


BODY = json.dumps({"id": "evt_1", "object": "event", "data": {"object": {"name": "Zoë"}}}).encode()


def test_a_receiver_verifies_the_standard_headers_with_the_standardwebhooks_package() -> None:
    secret = new_secret()
    now = int(time.time())
    headers = signed_headers("evt_1", BODY, [secret], now)
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == str(now)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"evt_1", b"evt_2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "evt_2"})


def test_while_a_rotation_overlaps_both_secrets_verify() -> None:
    current, previous = new_secret(), new_secret()
    headers = signed_headers("evt_1", BODY, [current, previous], int(time.time()))
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(current).verify(BODY, headers)
    assert Webhook(previous).verify(BODY, headers)


@settings(max_examples=50)
@given(st.dictionaries(st.text(max_size=10), st.text(max_size=20) | st.integers(-(2**60), 2**60)))
def test_any_json_body_verifies(data: dict[str, object]) -> None:
    secret = new_secret()
    body = json.dumps(data, ensure_ascii=False).encode()
    headers = signed_headers("evt_x", body, [secret], int(time.time()))
    Webhook(secret).verify(body, headers)


@pytest.mark.parametrize(
    ("url", "path", "query"),
    [
        ("https://example.com/hooks/pay", "/hooks/pay", {}),
        (
            "http://127.0.0.1:3000/api/w?token=a%20b&x[y]=1",
            "/api/w",
            {"token": "a b", "x": {"y": "1"}},
        ),
        ("https://example.com", "/", {}),
        ("https://example.com/caf%C3%A9/h", "/caf%C3%A9/h", {}),
    ],
)
def test_component_headers_sign_the_receiving_path_query_method_and_body(
    url: str, path: str, query: dict[str, object]
) -> None:
    key = Ed25519PrivateKey.generate()
    now = time.time()
    headers = signing.attempt_headers("evt_1", BODY, [new_secret()], url=url, now=now, app_key=key)
    signed = component_sig.SignedRequest(
        headers["x-component-sig"],
        headers["x-component-sig-iat"],
        headers["x-component-sig-exp"],
        headers["x-component-sig-version"],
    )
    public = key.public_key()
    body = json.loads(BODY)
    component_sig.verify(public, signed, method="POST", url=path, query=query, body=body)
    for tampered in (
        {"url": path + "x", "query": query, "body": body},
        {"url": path, "query": {**query, "extra": "1"}, "body": body},
        {"url": path, "query": query, "body": {**body, "id": "evt_2"}},
    ):
        with pytest.raises(errors.InvalidSignature):
            component_sig.verify(public, signed, method="POST", **tampered)  # type: ignore[arg-type]
    assert int(headers["x-component-sig-exp"]) - int(headers["x-component-sig-iat"]) == 300


def test_without_the_app_key_only_the_standard_headers_are_sent() -> None:
    headers = signing.attempt_headers(
        "evt_1", BODY, [new_secret()], url="https://example.com/h", now=time.time(), app_key=None
    )
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}


def test_the_signing_key_loads_from_the_setting_and_matches_the_verifying_key() -> None:
    seed = bytes(range(32))
    key = component_sig.load_app_signing_key("0x" + seed.hex())
    public = key.public_key().public_bytes_raw()
    both = "0x" + (seed + public).hex()
    assert component_sig.load_app_key(both).public_bytes_raw() == public
    with pytest.raises(ValueError, match="public half"):
        component_sig.load_app_signing_key("0x" + (seed + bytes(32)).hex())
