"""The component-signature verifier against the vectors made by the real Node libraries
(`data/component-sig-vectors.json`, a copy of the spec's `component-sig-vectors.json`): every vector
verifies, every tampered variant, expired or malformed one is refused, and the app key is read in
both of its forms (API.md, "Authentication and modes")."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from paymentkit.server import errors
from paymentkit.server.component_sig import (
    MAX_CLOCK_SKEW_SECONDS,
    MAX_VALIDITY_SECONDS,
    SignedRequest,
    load_app_key,
    signed_text,
    unsafe_integer,
    verify,
)
from paymentkit.server.http import parse_json_object
from paymentkit.server.querystring import parse as parse_query

VECTORS = json.loads((Path(__file__).parent / "data" / "component-sig-vectors.json").read_text())
CASES: list[dict[str, Any]] = VECTORS["cases"]
CASE_IDS = [c["name"] for c in CASES]
KEY = load_app_key(VECTORS["secret_key"])
SEED_HEX = VECTORS["secret_key"][2:66]
PUBLIC_HEX = VECTORS["public_key"][2:]


class Request:
    """What the server sees of one signed request."""

    def __init__(
        self,
        method: str,
        url: str,
        query: dict[str, Any],
        body: Any,
        signed: SignedRequest,
    ) -> None:
        self.method, self.url, self.query, self.body, self.signed = method, url, query, body, signed

    def copy(self, **changes: Any) -> Request:
        fields = {
            "method": self.method,
            "url": self.url,
            "query": self.query,
            "body": self.body,
            "signed": self.signed,
            **changes,
        }
        return Request(**fields)

    @property
    def iat(self) -> int:
        return int(self.signed.iat)

    @property
    def exp(self) -> int:
        return int(self.signed.exp)

    def verify(self, now: float | None = None, key: Any = KEY) -> None:
        verify(
            key,
            self.signed,
            method=self.method,
            url=self.url,
            query=self.query,
            body=self.body,
            now=self.iat + 1 if now is None else now,
        )


def request_of(case: dict[str, Any]) -> Request:
    """The request as the server reads it: from the raw request where the vector has one (path and
    query as sent, body text), else from the signed payload."""
    payload = case["payload"]
    raw = case.get("request")
    if raw is None:
        signed = SignedRequest(
            signature=case["signature"],
            iat=str(payload["iat"]),
            exp=str(payload["exp"]),
            version="1",
        )
        return Request(
            payload["method"].upper(), payload["url"], payload["query"], payload["body"], signed
        )
    headers = raw["headers"]
    url, _, query_string = raw["path"].partition("?")
    signed = SignedRequest(
        signature=headers["x-component-sig"],
        iat=headers["x-component-sig-iat"],
        exp=headers["x-component-sig-exp"],
        version=headers.get("x-component-sig-version"),
    )
    body = parse_json_object(raw["body"].encode())
    return Request(raw["method"], url, parse_query(query_string), body, signed)


def rejected(request: Request, now: float | None = None, key: Any = KEY) -> str:
    with pytest.raises(errors.InvalidSignature) as info:
        request.verify(now, key)
    assert info.value.status == 401 and info.value.code == "invalid_signature"
    return info.value.message


# -- the vectors --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_signed_text_and_digest_are_the_node_clients(case: dict[str, Any]) -> None:
    text = signed_text(case["payload"])
    assert text == case["signed_text"].encode("utf-8")
    assert "0x" + hashlib.sha3_256(text).hexdigest() == case["sha3_256"]


@pytest.mark.parametrize("case", [c for c in CASES if "request" in c], ids=lambda c: c["name"])
def test_the_server_reads_back_what_was_signed(case: dict[str, Any]) -> None:
    request = request_of(case)
    payload = case["payload"]
    assert request.url == payload["url"]
    assert request.query == payload["query"]
    assert request.body == payload["body"]
    assert request.method.lower() == payload["method"]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_vector_verifies_inside_its_window(case: dict[str, Any]) -> None:
    request = request_of(case)
    assert case["sdk_verify"] is True
    for now in (request.iat, request.iat + 1, (request.iat + request.exp) // 2, request.exp):
        request.verify(now)
    # Clocks may differ a little: a signature made slightly "in the future" is fine.
    request.verify(request.iat - MAX_CLOCK_SKEW_SECONDS)
    # The method's case does not matter (it is signed lower-case); a missing version means 1.
    request.copy(method=request.method.lower()).verify()
    request.copy(signed=replace(request.signed, version=None)).verify()


def test_the_vector_key_in_both_forms() -> None:
    assert KEY.public_bytes_raw().hex() == PUBLIC_HEX
    seed_only = load_app_key("0x" + SEED_HEX)
    assert seed_only.public_bytes_raw() == KEY.public_bytes_raw()
    for case in CASES:
        request_of(case).verify(key=seed_only)


# -- tampering ----------------------------------------------------------------------------------


def _flip_signature_byte(index: int) -> Callable[[Request], Request]:
    def tamper(r: Request) -> Request:
        raw = bytearray.fromhex(r.signed.signature[2:])
        raw[index] ^= 0x01
        return r.copy(signed=replace(r.signed, signature="0x" + raw.hex()))

    return tamper


def _signed(**changes: str | None) -> Callable[[Request], Request]:
    return lambda r: r.copy(signed=replace(r.signed, **changes))


def _shift(name: str, delta: int) -> Callable[[Request], Request]:
    return lambda r: r.copy(
        signed=replace(r.signed, **{name: str(int(getattr(r.signed, name)) + delta)})
    )


def _other_method(r: Request) -> Request:
    return r.copy(method="POST" if r.method != "POST" else "PUT")


def _flip_livemode(r: Request) -> Request:
    value = "false" if r.query["livemode"] == "true" else "true"
    return r.copy(query={**r.query, "livemode": value})


TAMPERS: dict[str, Callable[[Request], Request]] = {
    "body: extra key": lambda r: r.copy(body={**r.body, "extra": "1"}),
    "body: changed value": lambda r: r.copy(body={**r.body, "name": "Mallory"}),
    "body: number as string": lambda r: r.copy(body={**r.body, "n": "1"}),
    "body: nested change": lambda r: r.copy(body={**r.body, "metadata": {"tier": "gold"}}),
    "query: livemode flipped": _flip_livemode,
    "query: livemode dropped": lambda r: r.copy(
        query={k: v for k, v in r.query.items() if k != "livemode"}
    ),
    "query: extra parameter": lambda r: r.copy(query={**r.query, "did": "zExtra"}),
    "query: page changed": lambda r: r.copy(query={**r.query, "page": "2"}),
    "path: other id": lambda r: r.copy(url=r.url + "x"),
    "path: trailing slash": lambda r: r.copy(url=r.url + "/"),
    "path: percent-encoded": lambda r: r.copy(url=r.url.replace("/api/", "/%61pi/")),
    "path: other route": lambda r: r.copy(url="/api/invoices"),
    "method: other": _other_method,
    "method: DELETE": lambda r: r.copy(method="DELETE"),
    "iat +1": _shift("iat", 1),
    "iat -1": _shift("iat", -1),
    "exp +1": _shift("exp", 1),
    "exp -1": _shift("exp", -1),
    "signature: first byte": _flip_signature_byte(0),
    "signature: last byte of R": _flip_signature_byte(31),
    "signature: first byte of S": _flip_signature_byte(32),
    "signature: last byte": _flip_signature_byte(63),
    "version 2": _signed(version="2"),
    "version 0": _signed(version="0"),
    "version empty": _signed(version=""),
}


@pytest.mark.parametrize("tamper", list(TAMPERS), ids=list(TAMPERS))
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_tampered_variant_is_refused(case: dict[str, Any], tamper: str) -> None:
    original = request_of(case)
    tampered = TAMPERS[tamper](original)
    rejected(tampered)
    original.verify()  # the untouched request still verifies


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_signature_by_another_key_is_refused(case: dict[str, Any]) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    rejected(request_of(case), key=other)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_signature_of_another_request_is_refused(case: dict[str, Any]) -> None:
    others = [c for c in CASES if c["signature"] != case["signature"]]
    for other in others:
        swapped = request_of(case)
        swapped = swapped.copy(signed=replace(swapped.signed, signature=other["signature"]))
        rejected(swapped)


# -- time ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_expired_is_refused(case: dict[str, Any]) -> None:
    request = request_of(case)
    request.verify(request.exp)
    assert "expired" in rejected(request, now=request.exp + 1)
    assert "expired" in rejected(request, now=request.exp + 86_400 * 365)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_signature_from_too_far_in_the_future_is_refused(case: dict[str, Any]) -> None:
    request = request_of(case)
    rejected(request, now=request.iat - MAX_CLOCK_SKEW_SECONDS - 1)


def test_exp_before_iat_is_refused() -> None:
    seed = Ed25519PrivateKey.generate()
    payload = {
        "body": {},
        "exp": 1_700_000_000,
        "iat": 1_700_000_100,
        "method": "get",
        "query": {"livemode": "true"},
        "url": "/api/customers",
    }
    signature = "0x" + seed.sign(hashlib.sha3_256(signed_text(payload)).digest()).hex()
    request = Request(
        "GET",
        "/api/customers",
        {"livemode": "true"},
        {},
        SignedRequest(signature, "1700000100", "1700000000", "1"),
    )
    rejected(request, now=1_700_000_000, key=seed.public_key())


# -- malformed headers --------------------------------------------------------------------------

GOOD = request_of(CASES[0])
SIG_HEX = GOOD.signed.signature[2:]

MALFORMED: dict[str, SignedRequest] = {
    "signature empty": replace(GOOD.signed, signature=""),
    "signature 0x only": replace(GOOD.signed, signature="0x"),
    "signature without 0x": replace(GOOD.signed, signature=SIG_HEX),
    "signature 0X prefix": replace(GOOD.signed, signature="0X" + SIG_HEX),
    "signature 127 hex": replace(GOOD.signed, signature="0x" + SIG_HEX[:-1]),
    "signature 129 hex": replace(GOOD.signed, signature="0x" + SIG_HEX + "0"),
    "signature 130 hex": replace(GOOD.signed, signature="0x" + SIG_HEX + "00"),
    "signature non-hex": replace(GOOD.signed, signature="0x" + "g" + SIG_HEX[1:]),
    "signature with space": replace(GOOD.signed, signature=" 0x" + SIG_HEX),
    "signature with newline": replace(GOOD.signed, signature="0x" + SIG_HEX + "\n"),
    "iat empty": replace(GOOD.signed, iat=""),
    "iat letters": replace(GOOD.signed, iat="abc"),
    "iat negative": replace(GOOD.signed, iat="-" + GOOD.signed.iat),
    "iat plus sign": replace(GOOD.signed, iat="+" + GOOD.signed.iat),
    "iat decimal": replace(GOOD.signed, iat=GOOD.signed.iat + ".0"),
    "iat exponent": replace(GOOD.signed, iat="1.7e9"),
    "iat hex": replace(GOOD.signed, iat="0x6553f100"),
    "iat space": replace(GOOD.signed, iat=" " + GOOD.signed.iat),
    "iat fullwidth digits": replace(
        GOOD.signed, iat="".join(chr(0xFF10 + int(d)) for d in GOOD.signed.iat)
    ),
    "iat 13 digits": replace(GOOD.signed, iat="1" + "0" * 12),
    "iat zero-padded to 13 digits": replace(GOOD.signed, iat="000" + GOOD.signed.iat),
    "exp zero-padded to 13 digits": replace(GOOD.signed, exp="000" + GOOD.signed.exp),
    "exp empty": replace(GOOD.signed, exp=""),
    "exp letters": replace(GOOD.signed, exp="never"),
    "exp negative": replace(GOOD.signed, exp="-1"),
    "exp decimal": replace(GOOD.signed, exp=GOOD.signed.exp + ".5"),
    "exp arabic-indic digits": replace(
        GOOD.signed, exp="".join(chr(0x0660 + int(d)) for d in GOOD.signed.exp)
    ),
    "exp 13 digits": replace(GOOD.signed, exp="9" * 13),
}


@pytest.mark.parametrize("signed", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_headers_are_refused(signed: SignedRequest) -> None:
    rejected(GOOD.copy(signed=signed), now=GOOD.iat + 1)


# -- the app key --------------------------------------------------------------------------------


def _seed_pk(seed: bytes) -> bytes:
    return seed + Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


@pytest.mark.parametrize(
    "text",
    [
        "0x" + SEED_HEX,
        SEED_HEX,
        "0X" + SEED_HEX.upper(),
        VECTORS["secret_key"],
        VECTORS["secret_key"][2:],
        " " + VECTORS["secret_key"] + "\n",
    ],
    ids=["seed", "seed without 0x", "seed upper-case", "seed+pk", "seed+pk without 0x", "padded"],
)
def test_the_app_key_forms(text: str) -> None:
    assert load_app_key(text).public_bytes_raw().hex() == PUBLIC_HEX


def test_random_keys_in_both_forms_give_the_same_public_key() -> None:
    for _ in range(5):
        seed = secrets.token_bytes(32)
        expected = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        assert load_app_key("0x" + seed.hex()).public_bytes_raw() == expected
        assert load_app_key("0x" + _seed_pk(seed).hex()).public_bytes_raw() == expected


def test_a_64_byte_key_whose_public_half_does_not_match_is_refused() -> None:
    seed = bytes.fromhex(SEED_HEX)
    wrong_pk = _seed_pk(secrets.token_bytes(32))[32:]
    for public in (wrong_pk, bytes(32), bytes.fromhex(PUBLIC_HEX)[:-1] + b"\x00"):
        if public == bytes.fromhex(PUBLIC_HEX):
            continue
        with pytest.raises(ValueError, match="public half"):
            load_app_key("0x" + (seed + public).hex())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0x",
        "0x" + "00" * 31,
        "0x" + "00" * 33,
        "0x" + "00" * 63,
        "0x" + "00" * 65,
        "0x" + "zz" * 32,
        "0x" + SEED_HEX[:-1],
    ],
    ids=["empty", "0x", "31 bytes", "33 bytes", "63 bytes", "65 bytes", "not hex", "odd length"],
)
def test_malformed_app_keys_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        load_app_key(text)


# -- the signed text is what JavaScript would sign ------------------------------------------------

# Checked against json-stable-stringify 1.3.0 (what @blocklet/sdk 1.17.12 uses) on
# JSON.parse of the same JSON text.
JS_TEXTS = [
    (
        '{"a": 1.0, "b": 1e21, "c": 1e-7, "d": -0.0, "e": 9007199254740993, "f": 0.1,'
        ' "g": 123456789012345680000, "h": 5e-324, "i": 1.7976931348623157e308}',
        '{"a":1,"b":1e+21,"c":1e-7,"d":0,"e":9007199254740992,"f":0.1,'
        '"g":123456789012345680000,"h":5e-324,"i":1.7976931348623157e+308}',
    ),
    ('{"｡": 1, "😀": 2, "z": 0, "A": 1, "é": 3}', '{"A":1,"z":0,"é":3,"😀":2,"｡":1}'),
    (
        json.dumps({"s": '\u2028\u2029\x1f\x7f\b\f\n\r\t"\\/ü😀'}),
        '{"s":"\u2028\u2029\\u001f\x7f\\b\\f\\n\\r\\t\\"\\\\/ü😀"}',
    ),
    (
        '{"n": null, "t": true, "l": [1, "two", null, {"y": 1, "b": 2}]}',
        '{"l":[1,"two",null,{"b":2,"y":1}],"n":null,"t":true}',
    ),
    (
        '{"x": 12345678901234567890123, "y": 1.50, "z": 100000000000000000000000}',
        '{"x":1.2345678901234568e+22,"y":1.5,"z":1e+23}',
    ),
]


@pytest.mark.parametrize(("source", "expected"), JS_TEXTS)
def test_signed_text_is_javascripts(source: str, expected: str) -> None:
    assert signed_text(json.loads(source)) == expected.encode("utf-8")


# -- validity and integers the signed text can represent ------------------------------------------


def _signed_by(seed: Ed25519PrivateKey, body: Any, iat: int, exp: int) -> Request:
    payload = {
        "body": body,
        "exp": exp,
        "iat": iat,
        "method": "post",
        "query": {},
        "url": "/api/customers",
    }
    signature = "0x" + seed.sign(hashlib.sha3_256(signed_text(payload)).digest()).hex()
    return Request(
        "POST", "/api/customers", {}, body, SignedRequest(signature, str(iat), str(exp), "1")
    )


def test_a_validity_longer_than_300_s_is_refused_even_when_signed() -> None:
    seed = Ed25519PrivateKey.generate()
    iat = 1_700_000_000
    _signed_by(seed, {}, iat, iat + MAX_VALIDITY_SECONDS).verify(iat, seed.public_key())
    for exp in (iat + MAX_VALIDITY_SECONDS + 1, 99_999_999_999):
        message = rejected(_signed_by(seed, {}, iat, exp), now=iat, key=seed.public_key())
        assert "300" in message


def test_verify_names_the_signature_it_accepted() -> None:
    for case in CASES:
        request = request_of(case)
        use = verify(
            KEY,
            request.signed,
            method=request.method,
            url=request.url,
            query=request.query,
            body=request.body,
            now=request.iat,
        )
        raw = bytes.fromhex(request.signed.signature[2:])
        assert use.signature_hash == hashlib.sha256(raw).hexdigest()
        assert use.expires_at == request.exp + MAX_CLOCK_SKEW_SECONDS


@given(st.integers())
def test_only_integers_javascript_holds_exactly_pass(n: int) -> None:
    found = unsafe_integer({"a": [{"n": n}]})
    assert (found is None) == (abs(n) < 2**53)
    if found is None:  # its neighbours sign differently, so it cannot be swapped for one
        for other in (n - 1, n + 1):
            assert signed_text({"n": other}) != signed_text({"n": n})
    else:
        assert found == "a.0.n"


def test_a_signed_body_with_an_unsafe_integer_is_400_after_it_verifies() -> None:
    seed = Ed25519PrivateKey.generate()
    body = {"metadata": {"n": 2**53 + 1}, "flag": True}
    request = _signed_by(seed, body, 1_700_000_000, 1_700_000_300)
    with pytest.raises(errors.InvalidRequest) as info:
        request.verify(1_700_000_000, seed.public_key())
    assert (info.value.status, info.value.param) == (400, "metadata.n")
    # Unsigned by this key: the signature is judged first.
    rejected(request, now=1_700_000_000)
