"""The pure webhook-endpoint rules: what a URL must look like, and the create/update fields."""

from __future__ import annotations

import base64
import string
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paymentkit.schemas.webhooks import URL_MAX, WebhookEndpointCreate
from paymentkit.schemas.webhooks import WebhookEndpointUpdate as Update
from paymentkit.server.crypto import SecretBox
from paymentkit.server.errors import InvalidRequest
from paymentkit.server.webhooks import rules, signing
from paymentkit.webhooks import new_secret

LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
HOST = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
PATH_TEXT = st.text(
    alphabet=string.ascii_letters + string.digits + "-._~/%!$&'()*+,;=:", max_size=200
)


@st.composite
def webhook_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    host = draw(st.one_of(HOST, st.just("127.0.0.1"), st.just("[::1]"), st.just("bücher.de")))
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
    path = draw(PATH_TEXT)
    query = draw(st.one_of(st.just(""), PATH_TEXT.map(lambda q: "?" + q)))
    return f"{scheme}://{host}{port}/{path}{query}"


def refused(value: str) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        rules.url(value)
    assert info.value.param == "url"
    return info.value


@given(webhook_urls())
def test_well_formed_urls_are_kept_as_given(value: str) -> None:
    assert rules.url(value) == value
    assert rules.url(f"  {value}\n") == value


@given(webhook_urls(), st.sampled_from(["user@", "user:pw@", ":pw@", "@"]))
def test_credentials_are_refused(value: str, userinfo: str) -> None:
    scheme, rest = value.split("://", 1)
    assert "credentials" in refused(f"{scheme}://{userinfo}{rest}").message


@given(webhook_urls(), st.sampled_from(["ftp", "file", "gopher", "ws", "javascript", "data"]))
def test_other_schemes_are_refused(value: str, scheme: str) -> None:
    refused(scheme + "://" + value.split("://", 1)[1])


@given(webhook_urls(), st.sampled_from([" ", "\t", "\x00", "\x7f", "\u2028", "\n"]))
def test_spaces_and_control_characters_inside_are_refused(value: str, bad: str) -> None:
    cut = len(value) // 2
    refused(value[:cut] + bad + "x" + value[cut:])


@given(webhook_urls(), st.text(alphabet=string.ascii_letters + string.digits + "/?-=", max_size=10))
def test_a_fragment_is_refused(value: str, fragment: str) -> None:
    assert "fragment" in refused(f"{value}#{fragment}").message


def test_the_length_limit() -> None:
    base = "https://example.com/"
    assert rules.url(base + "p" * (URL_MAX - len(base))) == base + "p" * (URL_MAX - len(base))
    refused(base + "p" * (URL_MAX - len(base) + 1))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "example.com/hooks",
        "//example.com/hooks",
        "http:/example.com",
        "http://",
        "http:///x",
        "http://:80/",
        "http://exa_mple..com/",
        "http://-x.com/",
        "http://x-.com/",
        "http://" + "a" * 64 + ".com/",
        "http://" + ".".join(["abcdefgh"] * 30) + "/",
        "http://ex!ample.com/",
        "http://example.com:0/",
        "http://example.com:65536/",
        "http://example.com:http/",
        "http://[::1/",
        "http://[example.com]/",
        "http://[1.2.3.4]/",
        "http://ex\\ample.com/",
        "http://example.com\uff03x/",  # a fullwidth # in the host (NFKC)
    ],
)
def test_malformed_urls_are_refused(value: str) -> None:
    refused(value)


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com./",
        "https://EXAMPLE.com/Hooks",
        "https://my_host.internal.example/",
        "https://xn--bcher-kva.de/",
        "https://bücher.de/",
        "http://[2001:4860:4860::8888]:8080/x",
        "https://example.com",
        "https://example.com?x=1",
    ],
)
def test_accepted_forms(value: str) -> None:
    assert rules.url(value) == value


def create(**fields: Any) -> WebhookEndpointCreate:
    return msgspec.convert(
        {"url": "https://example.com/", "enabled_events": ["*"], **fields}, WebhookEndpointCreate
    )


def test_draft_defaults() -> None:
    d = rules.draft(create())
    assert (d.status, d.api_version, d.description, d.metadata) == (
        "enabled",
        "2023-09-05",
        None,
        {},
    )
    assert d.enabled_events == ["*"]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"enabled_events": []}, "enabled_events"),
        ({"enabled_events": ["customer.created", "nope"]}, "enabled_events.1"),
        ({"description": "x" * 1001}, "description"),
        ({"api_version": "2024-01-01"}, "api_version"),
        ({"metadata": {"k": {"nested": 1}}}, "metadata.k"),
    ],
)
def test_draft_refusals_name_their_param(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        rules.draft(create(**fields))
    assert info.value.param == param


def test_changes_hold_only_what_was_sent() -> None:
    assert rules.changes(Update()).fields == {}
    c = rules.changes(msgspec.convert({"description": "  ", "status": "disabled"}, Update))
    assert c.fields == {"description": None, "status": "disabled"} and c.url is None
    c = rules.changes(msgspec.convert({"url": " https://x.example/ ", "metadata": None}, Update))
    assert c.url == "https://x.example/" and c.metadata is None


# -- secrets ------------------------------------------------------------------------------------


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    made = {new_secret() for _ in range(50)}
    assert len(made) == 50
    for secret in made:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_the_previous_secret_signs_until_it_expires() -> None:
    from cryptography.fernet import Fernet

    box = SecretBox(Fernet.generate_key())
    old, new = new_secret(), new_secret()
    sealed_old, sealed_new = signing.seal(box, old), signing.seal(box, new)
    assert old not in sealed_old
    assert signing.unsealed(box, sealed_new, sealed_old, 1_000, 999) == [new, old]
    assert signing.unsealed(box, sealed_new, sealed_old, 1_000, 1_000) == [new]
    assert signing.unsealed(box, sealed_new, None, None, 0) == [new]
    secret, current, previous, expires = signing.rotated(box, sealed_new, 5_000)
    assert previous == sealed_new and expires == 5_000 + signing.ROTATION_OVERLAP_MS
    assert signing.unsealed(box, current, previous, expires, 5_001) == [secret, new]
