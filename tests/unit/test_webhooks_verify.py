"""`paymentkit.webhooks.verify`: messages signed by the `standardwebhooks` package verify, in any
header case and beside other signatures; any change to the body, id, timestamp or secret, an old
or future timestamp, and malformed headers are a `WebhookVerificationError` (never another
exception), and a secret that is no secret is a `ValueError`."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from paymentkit import PaymentKitError
from paymentkit.webhooks import TOLERANCE_SECONDS, WebhookVerificationError, verify


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed(
    body: str, secret: str, msg_id: str = "evt_1", when: datetime | None = None
) -> dict[str, str]:
    """The three headers paymentkit sends, made by the reference package."""
    when = when or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
    }


SECRET = new_secret()
EVENT = {"id": "evt_1", "object": "event", "type": "customer.created", "data": {"object": {}}}
BODY = json.dumps(EVENT)

json_objects = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=10,
    ),
    max_size=5,
)
ids = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)


def test_a_signed_event_verifies_from_bytes_or_text_in_any_header_case() -> None:
    headers = signed(BODY, SECRET)
    assert verify(BODY.encode(), headers, SECRET) == EVENT
    assert verify(BODY, {k.upper(): v for k, v in headers.items()}, SECRET) == EVENT
    assert verify(BODY, {k.title(): v for k, v in headers.items()}, f"  {SECRET}\n") == EVENT


def test_the_error_is_a_paymentkit_error() -> None:
    assert issubclass(WebhookVerificationError, PaymentKitError)


@given(body=json_objects, msg_id=ids)
def test_any_signed_object_verifies_and_any_other_body_does_not(
    body: dict[str, Any], msg_id: str
) -> None:
    text = json.dumps(body, ensure_ascii=False)
    headers = signed(text, SECRET, msg_id)
    assert verify(text.encode(), headers, SECRET) == body
    for tampered in (text + " ", text.replace("{", "{ ", 1), json.dumps({**body, "x": 1})):
        with pytest.raises(WebhookVerificationError):
            verify(tampered, headers, SECRET)


@given(msg_id=ids, other=ids)
def test_another_id_fails(msg_id: str, other: str) -> None:
    headers = signed(BODY, SECRET, msg_id)
    if other != msg_id:
        with pytest.raises(WebhookVerificationError):
            verify(BODY, {**headers, "webhook-id": other}, SECRET)


@given(shift=st.integers(min_value=1, max_value=TOLERANCE_SECONDS - 30))
def test_another_timestamp_within_the_window_fails(shift: int) -> None:
    headers = signed(BODY, SECRET)
    for moved in (
        int(headers["webhook-timestamp"]) - shift,
        int(headers["webhook-timestamp"]) + shift,
    ):
        with pytest.raises(WebhookVerificationError, match="signature"):
            verify(BODY, {**headers, "webhook-timestamp": str(moved)}, SECRET)


@given(seconds=st.integers(min_value=TOLERANCE_SECONDS + 30, max_value=10**8))
def test_a_genuine_but_old_or_future_message_fails(seconds: int) -> None:
    for when in (
        datetime.now(UTC) - timedelta(seconds=seconds),
        datetime.now(UTC) + timedelta(seconds=seconds),
    ):
        with pytest.raises(WebhookVerificationError, match=r"too (old|new)"):
            verify(BODY, signed(BODY, SECRET, when=when), SECRET)


def test_a_message_a_little_off_the_clock_still_verifies() -> None:
    for seconds in (-(TOLERANCE_SECONDS - 30), TOLERANCE_SECONDS - 30):
        when = datetime.now(UTC) + timedelta(seconds=seconds)
        assert verify(BODY, signed(BODY, SECRET, when=when), SECRET) == EVENT


def test_another_secret_fails() -> None:
    headers = signed(BODY, SECRET)
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify(BODY, headers, new_secret())


def test_during_a_rotation_either_of_two_signatures_verifies() -> None:
    old, new = new_secret(), new_secret()
    one, two = signed(BODY, old), signed(BODY, new)
    both = f"{two['webhook-signature']} {one['webhook-signature']}"
    headers = {**one, "webhook-signature": both}
    assert verify(BODY, headers, old) == EVENT
    assert verify(BODY, headers, new) == EVENT
    with pytest.raises(WebhookVerificationError):
        verify(BODY, headers, new_secret())


def test_unreadable_entries_do_not_hide_a_good_signature() -> None:
    headers = signed(BODY, SECRET)
    good = headers["webhook-signature"]
    for noise in ("junk", "v1,", "v1,a,b", "v1,!!!", "v1,abc", "v2,whatever", ","):
        for combined in (f"{noise} {good}", f"{good}  {noise}", f"\t{noise}\t{good} "):
            assert verify(BODY, {**headers, "webhook-signature": combined}, SECRET) == EVENT


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_or_empty_header_fails(missing: str) -> None:
    headers = signed(BODY, SECRET)
    without = {k: v for k, v in headers.items() if k != missing}
    with pytest.raises(WebhookVerificationError, match=missing):
        verify(BODY, without, SECRET)
    with pytest.raises(WebhookVerificationError, match=missing):
        verify(BODY, {**headers, missing: ""}, SECRET)


@given(
    timestamp=st.text(max_size=30),
    signature=st.text(max_size=80),
    msg_id=st.text(min_size=1, max_size=20),
    body=st.binary(max_size=60)
    | st.text(max_size=60)
    | st.text(st.characters(categories=["Cs", "L", "P"]), max_size=20),
)
def test_anything_malformed_is_a_verification_error_never_another_exception(
    timestamp: str, signature: str, msg_id: str, body: bytes | str
) -> None:
    headers = {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, SECRET)


@pytest.mark.parametrize("timestamp", ["nan", "inf", "-inf", "1e400", "99999999999999999999", "x"])
def test_a_timestamp_that_is_no_time_fails(timestamp: str) -> None:
    headers = {**signed(BODY, SECRET), "webhook-timestamp": timestamp}
    with pytest.raises(WebhookVerificationError):
        verify(BODY, headers, SECRET)


def test_a_signed_body_that_is_not_a_utf8_json_object_fails() -> None:
    for text in ("[1, 2]", '"event"', "not json"):
        with pytest.raises(WebhookVerificationError, match="JSON"):
            verify(text, signed(text, SECRET), SECRET)
    with pytest.raises(WebhookVerificationError, match="UTF-8"):
        verify(b"\xff\xfe{}", signed("{}", SECRET), SECRET)
    with pytest.raises(WebhookVerificationError, match="text"):
        verify('{"a": "\ud800"}', signed("{}", SECRET), SECRET)
    with pytest.raises(WebhookVerificationError, match="text"):
        verify("{}", {**signed("{}", SECRET), "webhook-id": "evt_\udfff"}, SECRET)


@pytest.mark.parametrize(
    "secret", ["", "whsec_", "whsec_abc", "whsec_é€", "   ", "whsec_" + "A" * 100, "whsec_a!b"]
)
def test_a_secret_that_is_no_secret_is_a_value_error(secret: str) -> None:
    with pytest.raises(ValueError, match="whsec_") as info:
        verify(BODY, signed(BODY, SECRET), secret)
    assert not isinstance(info.value, WebhookVerificationError)


def test_wrong_argument_types_are_type_errors() -> None:
    with pytest.raises(TypeError):
        verify(BODY, signed(BODY, SECRET), b"whsec_x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify(json.loads(BODY), signed(BODY, SECRET), SECRET)  # type: ignore[arg-type]
