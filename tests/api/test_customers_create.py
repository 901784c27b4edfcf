"""POST /api/customers: the created object, every validation rule, and that a refused create
changes nothing (API.md, Customers and Errors)."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest

from tests.conftest import API

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ID_RE = re.compile(r"^cus_[0-9A-Za-z]{24}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CUSTOMER_KEYS = {
    "id",
    "object",
    "did",
    "name",
    "email",
    "phone",
    "address",
    "description",
    "balance",
    "delinquent",
    "livemode",
    "metadata",
    "created_at",
    "updated_at",
}
ADDRESS_KEYS = {"country", "state", "city", "line1", "line2", "postal_code"}
READ_ONLY = ["id", "object", "livemode", "balance", "delinquent", "created_at", "updated_at"]


def new_did() -> str:
    return "z" + "".join(secrets.choice(BASE58) for _ in range(35))


def customer_ids(api: API) -> list[str]:
    page = api.get("/api/customers", params={"pageSize": 100}).json()
    ids = [c["id"] for c in page["list"]]
    assert page["count"] == len(ids)  # count agrees with the rows actually listed
    return ids


def create(api: API, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/api/customers", json=body)
    assert r.status_code == 201, r.text
    customer: dict[str, Any] = r.json()
    return customer


def assert_error(r: Any, status: int, code: str, param: str | None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "error", "param", "request_id"}, body
    assert (body["code"], body["param"]) == (code, param), body
    assert body["request_id"] == r.headers["x-request-id"]


def assert_refused(
    api: API,
    status: int,
    code: str,
    param: str | None,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """POST the body, expect the error, and check that no customer appeared or vanished."""
    before = customer_ids(api)
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if content is not None:
        kwargs["content"] = content
        kwargs["headers"] = {"content-type": "application/json", **kwargs["headers"]}
    else:
        kwargs["json"] = json
    r = api.post("/api/customers", **kwargs)
    assert_error(r, status, code, param)
    assert customer_ids(api) == before


@pytest.fixture
def existing(api: API) -> dict[str, Any]:
    """One customer already there, so "unchanged" is checked against a non-empty list."""
    return create(api, {"name": "Existing"})


# -- the created object --------------------------------------------------------------------


def test_create_returns_201_and_the_full_customer(api: API) -> None:
    did = new_did()
    r = api.post(
        "/api/customers",
        json={
            "did": did,
            "name": "John Doe",
            "email": "john.doe@example.com",
            "phone": "+15551234567",
            "address": {
                "country": "US",
                "state": "WA",
                "city": "Seattle",
                "line1": "1 Main St",
                "line2": "Suite 2",
                "postal_code": "98101",
            },
            "description": "Loyal customer since 2023",
            "metadata": {"tier": "gold", "n": 3, "vip": True},
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["x-request-id"].startswith("req_")
    c = r.json()
    assert set(c) == CUSTOMER_KEYS
    assert ID_RE.match(c["id"])
    assert c["object"] == "customer"
    assert c["did"] == did
    assert c["name"] == "John Doe"
    assert c["email"] == "john.doe@example.com"
    assert c["phone"] == "+15551234567"
    assert c["address"] == {
        "country": "US",
        "state": "WA",
        "city": "Seattle",
        "line1": "1 Main St",
        "line2": "Suite 2",
        "postal_code": "98101",
    }
    assert c["description"] == "Loyal customer since 2023"
    assert c["balance"] == "0"
    assert c["delinquent"] is False
    assert c["livemode"] is False
    assert c["metadata"] == {"tier": "gold", "n": 3, "vip": True}
    assert TIMESTAMP_RE.match(c["created_at"]) and TIMESTAMP_RE.match(c["updated_at"])
    assert api.get(f"/api/customers/{c['id']}").json() == c


def test_create_with_empty_body_gives_nulls_and_empty_metadata(api: API) -> None:
    c = create(api, {})
    for field in ("did", "name", "email", "phone", "address", "description"):
        assert c[field] is None, field
    assert c["metadata"] == {}
    assert c["balance"] == "0"


def test_partial_address_has_every_field_with_nulls(api: API) -> None:
    c = create(api, {"address": {"city": "Berlin"}})
    assert set(c["address"]) == ADDRESS_KEYS
    assert c["address"]["city"] == "Berlin"
    assert all(c["address"][k] is None for k in ADDRESS_KEYS - {"city"})


def test_live_key_creates_live_customer(live_api: API) -> None:
    assert create(live_api, {"name": "Live"})["livemode"] is True


def test_ids_are_unique(api: API) -> None:
    ids = {create(api, {})["id"] for _ in range(20)}
    assert len(ids) == 20


# -- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "stored"),
    [
        ("+15551234567", "+15551234567"),
        ("+1 (555) 123-4567", "+15551234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("  +49 30 123456  ", "+4930123456"),
    ],
)
def test_phone_is_stored_in_e164(api: API, phone: str, stored: str) -> None:
    assert create(api, {"phone": phone})["phone"] == stored


@pytest.mark.parametrize(("given", "stored"), [("us", "US"), ("De", "DE"), (" gb ", "GB")])
def test_country_is_stored_upper_case(api: API, given: str, stored: str) -> None:
    assert create(api, {"address": {"country": given}})["address"]["country"] == stored


def test_strings_are_trimmed(api: API) -> None:
    did = new_did()
    c = create(
        api,
        {
            "did": f"  {did} ",
            "name": "  Alice  ",
            "email": " alice@example.com\t",
            "description": "\n text \n",
            "address": {"city": "  Paris ", "line1": " 1 rue X "},
        },
    )
    assert c["did"] == did
    assert c["name"] == "Alice"
    assert c["email"] == "alice@example.com"
    assert c["description"] == "text"
    assert c["address"]["city"] == "Paris"
    assert c["address"]["line1"] == "1 rue X"


def test_limits_apply_after_trimming(api: API) -> None:
    c = create(api, {"name": "   " + "n" * 256 + "   "})
    assert c["name"] == "n" * 256


def test_did_abt_prefix_is_stripped(api: API) -> None:
    did = new_did()
    assert create(api, {"did": f"did:abt:{did}"})["did"] == did


def test_values_at_the_limits_are_accepted(api: API) -> None:
    c = create(
        api,
        {
            "name": "n" * 256,
            "description": "d" * 1000,
            "address": {f: "a" * 200 for f in ("state", "city", "line1", "line2", "postal_code")},
            "metadata": {"k" * 40: "v" * 500, **{f"key{i}": i for i in range(49)}},
        },
    )
    assert len(c["name"]) == 256 and len(c["description"]) == 1000
    assert c["address"]["line1"] == "a" * 200
    assert len(c["metadata"]) == 50 and c["metadata"]["k" * 40] == "v" * 500


def test_metadata_values_keep_their_json_types(api: API) -> None:
    c = create(api, {"metadata": {"s": "x", "i": 7, "f": 1.5, "t": True, "no": False}})
    assert c["metadata"] == {"s": "x", "i": 7, "f": 1.5, "t": True, "no": False}


# -- validation: 400 invalid_request naming the field ---------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "missing-domain@",
        "@example.com",
        "two@@example.com",
        "spa ce@example.com",
        "a..b@example.com",
    ],
)
def test_invalid_email(api: API, existing: dict[str, Any], email: str) -> None:
    assert_refused(api, 400, "invalid_request", "email", json={"email": email})


def test_email_longer_than_512_characters(api: API, existing: dict[str, Any]) -> None:
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 8) + ".com"
    assert len(email) > 512
    assert_refused(api, 400, "invalid_request", "email", json={"email": email})


@pytest.mark.parametrize(
    "phone",
    [
        "5551234567",  # no country code
        "0044 20 7946 0958",  # international prefix instead of +
        "+1555",  # too short to be possible
        "+1 555 123 4567 8901 23",  # too long
        "+999 1234567",  # no such country code
        "call me",
    ],
)
def test_invalid_phone(api: API, existing: dict[str, Any], phone: str) -> None:
    assert_refused(api, 400, "invalid_request", "phone", json={"phone": phone})


@pytest.mark.parametrize(
    "phone",
    [
        "+1 555 0100 ext. 12",
        "+15551234567 x12",
        "+15551234567;ext=12",
        "+1 555 123 4567 extension 5",
        "+15551234567#12",
        "+44 20 7946 0958 ext 9",
    ],
)
def test_phone_with_an_extension_is_refused_not_dropped(
    api: API, existing: dict[str, Any], phone: str
) -> None:
    # E.164 cannot hold an extension and there is no column for one: a 400 that says so.
    assert_refused(api, 400, "invalid_request", "phone", json={"phone": phone})
    r = api.put(f"/api/customers/{existing['id']}", json={"phone": phone})
    assert (r.status_code, r.json()["param"]) == (400, "phone"), r.text
    assert "extensions are not supported" in r.json()["error"]
    assert api.get(f"/api/customers/{existing['id']}").json() == existing


@pytest.mark.parametrize("country", ["XX", "USA", "U", "12", "ZZ", "United States"])
def test_invalid_country(api: API, existing: dict[str, Any], country: str) -> None:
    assert_refused(
        api, 400, "invalid_request", "address.country", json={"address": {"country": country}}
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "n" * 257}, "name"),
        ({"description": "d" * 1001}, "description"),
        ({"address": {"state": "s" * 201}}, "address.state"),
        ({"address": {"city": "c" * 201}}, "address.city"),
        ({"address": {"line1": "l" * 201}}, "address.line1"),
        ({"address": {"line2": "l" * 201}}, "address.line2"),
        ({"address": {"postal_code": "9" * 201}}, "address.postal_code"),
    ],
)
def test_text_over_its_limit(
    api: API, existing: dict[str, Any], body: dict[str, Any], param: str
) -> None:
    assert_refused(api, 400, "invalid_request", param, json=body)


def test_metadata_with_more_than_50_keys(api: API, existing: dict[str, Any]) -> None:
    metadata = {f"k{i}": "v" for i in range(51)}
    assert_refused(api, 400, "invalid_request", "metadata", json={"metadata": metadata})


def test_metadata_key_longer_than_40(api: API, existing: dict[str, Any]) -> None:
    key = "k" * 41
    assert_refused(api, 400, "invalid_request", f"metadata.{key}", json={"metadata": {key: "v"}})


def test_metadata_value_longer_than_500(api: API, existing: dict[str, Any]) -> None:
    assert_refused(
        api, 400, "invalid_request", "metadata.note", json={"metadata": {"note": "v" * 501}}
    )


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], []])
def test_metadata_value_that_is_an_object_or_list(
    api: API, existing: dict[str, Any], value: Any
) -> None:
    assert_refused(
        api, 400, "invalid_request", "metadata.tier", json={"metadata": {"ok": "1", "tier": value}}
    )


@pytest.mark.parametrize(
    "did",
    [
        "abc",  # not base58-with-z
        "did:abt:abc",
        "z0NKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",  # 0 is not base58
        "zONKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",  # O is not base58
        "zlNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",  # l is not base58
        "zINKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",  # I is not base58
        "did:abt:z0NKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",
        "did:eth:zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",
        "z NKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",
        "z" + "a" * 200,  # far too long
    ],
)
def test_invalid_did(api: API, existing: dict[str, Any], did: str) -> None:
    assert_refused(api, 400, "invalid_request", "did", json={"did": did})


# -- unknown, read-only and mistyped fields ------------------------------------------------


@pytest.mark.parametrize("field", ["foo", "customer_id", *READ_ONLY])
def test_unknown_or_read_only_field(api: API, existing: dict[str, Any], field: str) -> None:
    values = {"livemode": False, "delinquent": False, "balance": "0"}
    body = {"name": "x", field: values.get(field, "x")}
    assert_refused(api, 400, "unknown_parameter", field, json=body)


def test_unknown_nested_address_field(api: API, existing: dict[str, Any]) -> None:
    assert_refused(
        api,
        400,
        "unknown_parameter",
        "address.zip",
        json={"address": {"city": "x", "zip": "12345"}},
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": 1}, "name"),
        ({"email": True}, "email"),
        ({"phone": 15551234567}, "phone"),
        ({"did": ["z1"]}, "did"),
        ({"description": {"a": 1}}, "description"),
        ({"address": "Seattle"}, "address"),
        ({"address": {"city": 5}}, "address.city"),
        ({"metadata": ["tier"]}, "metadata"),
        ({"metadata": "tier"}, "metadata"),
    ],
)
def test_wrong_type(api: API, existing: dict[str, Any], body: dict[str, Any], param: str) -> None:
    assert_refused(api, 400, "invalid_request", param, json=body)


@pytest.mark.parametrize(
    "content",
    [b'{"name": ', b"{'name': 'x'}", b'{"name": "x",}', b"nope", b'{"name": NaN}'],
)
def test_malformed_json(api: API, existing: dict[str, Any], content: bytes) -> None:
    assert_refused(api, 400, "invalid_request", None, content=content)


@pytest.mark.parametrize("content", [b'[{"name": "x"}]', b'"x"', b"1", b"null", b"true"])
def test_body_that_is_not_an_object(api: API, existing: dict[str, Any], content: bytes) -> None:
    assert_refused(api, 400, "invalid_request", None, content=content)


def test_body_over_one_mebibyte(api: API, existing: dict[str, Any]) -> None:
    content = b'{"description": "' + b"x" * (1024 * 1024) + b'"}'
    assert_refused(api, 413, "payload_too_large", None, content=content)


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (b'{"name": "a\\u0000b"}', "name"),
        (b'{"email": "a\\u0000@example.com"}', "email"),
        (b'{"address": {"city": "\\u0000"}}', "address.city"),
        (b'{"metadata": {"k": "v\\u0000"}}', "metadata.k"),
    ],
)
def test_nul_character_is_a_400(
    api: API, existing: dict[str, Any], content: bytes, param: str
) -> None:
    assert_refused(api, 400, "invalid_request", param, content=content)


def test_nul_character_in_metadata_key_is_a_400(api: API, existing: dict[str, Any]) -> None:
    before = customer_ids(api)
    r = api.post(
        "/api/customers",
        content=b'{"metadata": {"a\\u0000": "v"}}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request"
    assert customer_ids(api) == before


def test_lone_surrogate_is_a_400(api: API, existing: dict[str, Any]) -> None:
    before = customer_ids(api)
    r = api.post(
        "/api/customers",
        content=b'{"name": "\\ud800"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request"
    assert customer_ids(api) == before


def test_unknown_query_parameter(api: API, existing: dict[str, Any]) -> None:
    before = customer_ids(api)
    r = api.post("/api/customers", params={"expand": "x"}, json={"name": "x"})
    assert_error(r, 400, "unknown_parameter", "expand")
    assert customer_ids(api) == before


# -- DIDs are unique per mode --------------------------------------------------------------


def test_duplicate_did_in_same_mode_is_409(api: API) -> None:
    did = new_did()
    create(api, {"did": did})
    assert_refused(api, 409, "resource_exists", "did", json={"did": did, "name": "Second"})


def test_duplicate_did_with_prefix_is_409(api: API) -> None:
    did = new_did()
    create(api, {"did": did})
    assert_refused(api, 409, "resource_exists", "did", json={"did": f"did:abt:{did}"})


def test_same_did_in_the_other_mode_is_fine(api: API, live_api: API) -> None:
    did = new_did()
    test_customer = create(api, {"did": did})
    live_customer = create(live_api, {"did": did})
    assert test_customer["id"] != live_customer["id"]
    assert (test_customer["livemode"], live_customer["livemode"]) == (False, True)


def test_customers_without_did_do_not_conflict(api: API) -> None:
    create(api, {"name": "a"})
    create(api, {"name": "b", "did": ""})
    assert len(customer_ids(api)) == 2


def test_body_over_one_mebibyte_without_content_length(api: API, existing: dict[str, Any]) -> None:
    def chunks() -> Any:
        yield b'{"description": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    before = customer_ids(api)
    r = api.post("/api/customers", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_error(r, 413, "payload_too_large", None)
    assert customer_ids(api) == before
