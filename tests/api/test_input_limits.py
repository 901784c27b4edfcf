"""No client input reaches a 500: the limits on bodies, query strings, filters and order terms
(README, API notes: Limits), each a 400 naming its `param`, on every route it concerns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from paymentkit.server.app import ENDPOINTS
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from paymentkit.server.http import MAX_JSON_DEPTH, MAX_JSON_VALUES
from paymentkit.server.params import MAX_METADATA_FILTERS, MAX_ORDER_TERMS
from paymentkit.server.querystring import MAX_NAME_LENGTH, MAX_PARAMS, MAX_VALUE_LENGTH
from tests.api.test_auth_and_modes import assert_error, customer_count
from tests.api.test_component_auth import Signer
from tests.conftest import API

# Every list and search: a GET on a path without a path parameter answering a page.
LISTS = sorted(
    e.path
    for e in ENDPOINTS
    if e.method == "GET" and "{" not in e.path and any(p.name == "pageSize" for p in e.query)
)


def nested(depth: int) -> bytes:
    """A body whose object is level 1 and `depth` levels deep in all."""
    return b'{"metadata":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def test_every_list_is_covered() -> None:
    assert "/api/customers" in LISTS
    assert "/api/customers/search" in LISTS
    assert "/api/invoices" in LISTS
    assert len(LISTS) >= 6


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 200_000])
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/customers"), ("PUT", "/api/customers/cus_x"), ("GET", "/api/customers/x")],
)
def test_a_body_nested_too_deep_is_400_naming_body(
    api: API, db: Database, method: str, path: str, depth: int
) -> None:
    r = api.request(method, path, content=nested(depth))
    assert_error(r, 400, "invalid_request", "body")
    assert customer_count(db) == 0


def test_a_body_at_the_depth_limit_is_read(api: API) -> None:
    # 32 levels are read; what refuses it is the field's own rule, naming the field.
    r = api.post("/api/customers", content=nested(MAX_JSON_DEPTH))
    assert r.status_code == 400, r.text
    assert r.json()["param"] == "metadata"


def test_a_body_with_too_many_values_is_400_naming_body(api: API, db: Database) -> None:
    body = {"metadata": {"k": [0] * MAX_JSON_VALUES}}
    assert_error(api.post("/api/customers", json=body), 400, "invalid_request", "body")
    assert customer_count(db) == 0


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" + "0" * 400 + ".5"])
def test_numbers_out_of_the_float_range_are_400(api: API, number: str) -> None:
    r = api.post("/api/customers", content=b'{"metadata": {"n": ' + number.encode() + b"}}")
    assert_error(r, 400, "invalid_request")


def test_large_exponent_floats_keep_their_value(api: API) -> None:
    r = api.post("/api/customers", content=b'{"metadata": {"n": 1e300, "m": 1.5}}')
    assert r.status_code == 201, r.text
    assert r.json()["metadata"] == {"n": 1e300, "m": 1.5}


@pytest.fixture
def signed_app(database_url: str, signer: Signer) -> Iterator[TestClient]:
    from paymentkit.server.app import create_app

    db = Database(database_url)
    app = create_app(Settings(database_url=database_url, app_sk=signer.app_sk), db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    db.close()


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 200_000])
def test_a_deep_body_with_a_forged_signature_is_400_before_the_signature(
    signed_app: TestClient, signer: Signer, depth: int
) -> None:
    headers = Signer().headers("POST", "/api/customers", {})  # another key: would be 401
    r = signed_app.post("/api/customers", content=nested(depth), headers=headers)
    assert_error(r, 400, "invalid_request", "body")


def test_a_signed_body_with_too_many_values_is_400(signed_app: TestClient, signer: Signer) -> None:
    body = {"metadata": {"k": [0] * MAX_JSON_VALUES}}
    headers = signer.headers("POST", "/api/customers", {}, body)
    r = signed_app.post("/api/customers", content=json.dumps(body), headers=headers)
    assert_error(r, 400, "invalid_request", "body")


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("name", ["page", "pageSize", "limit"])
@pytest.mark.parametrize("value", ["--5", "-5", "0", "+-1", "1e3", "", "x", "99999999999999999999"])
def test_garbage_paging_is_400_on_every_list(api: API, path: str, name: str, value: str) -> None:
    query: dict[str, Any] = {name: value}
    if path.endswith("/search"):
        query["query"] = "a"
    assert_error(api.get(path, params=query), 400, "invalid_request", name)


@pytest.mark.parametrize(
    "path",
    [
        "/api/customers/did:abt:",
        "/api/customers/%20",
        "/api/customers/did:abt:%20",
        "/api/customers/%20did:abt:%20",
    ],
)
def test_get_or_create_without_a_did_is_400(api: API, db: Database, path: str) -> None:
    assert_error(api.get(path + "?create=true"), 400, "invalid_request", "id")
    assert_error(api.request("GET", path, json={"create": True}), 400, "invalid_request", "id")
    assert api.get(path).status_code == 404
    assert customer_count(db) == 0


@pytest.mark.parametrize("path", ["/api/customers", "/api/customers/export"])
def test_metadata_filters_are_limited(api: API, path: str) -> None:
    most = {f"metadata.k{i}": "v" for i in range(MAX_METADATA_FILTERS)}
    assert api.get(path, params=most).status_code == 200
    over = {**most, "metadata.extra": "v"}
    assert_error(api.get(path, params=over), 400, "invalid_request", "metadata")
    nested_form = {f"metadata[k{i}]": "v" for i in range(MAX_METADATA_FILTERS + 1)}
    assert_error(api.get(path, params=nested_form), 400, "invalid_request", "metadata")


def test_a_thousand_metadata_filters_are_a_400_not_a_500(api: API) -> None:
    query = "&".join(f"metadata.k{i}=v" for i in range(1000))
    r = api.get(f"/api/customers?{query}")
    assert r.status_code == 400, r.text
    assert r.json()["param"] is not None


@pytest.mark.parametrize("path", ["/api/customers", "/api/invoices", "/api/payment-methods"])
def test_order_terms_are_limited_and_unique(api: API, path: str) -> None:
    many = [("order", f"created_at:{'ASC' if i % 2 else 'DESC'}") for i in range(6)]
    assert len(many) > MAX_ORDER_TERMS
    assert_error(api.get(path, params=many), 400, "invalid_request", "order")
    twice = [("order[0][0]", "updated_at"), ("order[1][0]", "updated_at")]
    assert_error(api.get(path, params=twice), 400, "invalid_request", "order")
    ok = [("order[0][0]", "updated_at"), ("order[0][1]", "ASC"), ("order[1][0]", "created_at")]
    assert api.get(path, params=ok).status_code == 200


@pytest.mark.parametrize("path", [*LISTS, "/api/customers/cus_x"])
def test_too_many_query_parameters_is_400_naming_the_first_extra(api: API, path: str) -> None:
    query = "&".join(f"p{i}=1" for i in range(MAX_PARAMS + 5))
    r = api.get(f"{path}?{query}")
    assert_error(r, 400, "invalid_request", f"p{MAX_PARAMS}")


def test_a_long_parameter_name_or_value_is_400(api: API) -> None:
    name = "metadata." + "k" * MAX_NAME_LENGTH
    r = api.get("/api/customers", params={name: "v"})
    assert_error(r, 400, "invalid_request", name[:MAX_NAME_LENGTH] + "…")
    r = api.get("/api/customers", params={"email": "a" * (MAX_VALUE_LENGTH + 1)})
    assert_error(r, 400, "invalid_request", "email")
    r = api.get("/api/customers/search", params={"query": "é" * MAX_VALUE_LENGTH})
    assert_error(r, 400, "invalid_request", "query")  # the search's own 512-character limit
