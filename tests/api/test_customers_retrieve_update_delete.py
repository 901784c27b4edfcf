"""GET, PUT and DELETE /api/customers/{id}: retrieve by id or DID (and retrieve-or-create), partial
update with merge semantics, and delete (API.md, Customers)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

from tests.conftest import API

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
MISSING_ID = "cus_" + "0" * 24
READ_ONLY = ["id", "object", "livemode", "balance", "delinquent", "created_at", "updated_at"]
FULL = {
    "name": "John Doe",
    "email": "john@example.com",
    "phone": "+15551234567",
    "description": "first",
    "address": {"country": "US", "city": "Seattle", "line1": "1 Main St"},
    "metadata": {"tier": "gold", "source": "web"},
}


def new_did() -> str:
    return "z" + "".join(secrets.choice(BASE58) for _ in range(35))


def create(api: API, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/api/customers", json=body)
    assert r.status_code == 201, r.text
    customer: dict[str, Any] = r.json()
    return customer


def retrieve(api: API, id_or_did: str) -> dict[str, Any]:
    r = api.get(f"/api/customers/{id_or_did}")
    assert r.status_code == 200, r.text
    customer: dict[str, Any] = r.json()
    return customer


def update(api: API, customer_id: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.put(f"/api/customers/{customer_id}", json=body)
    assert r.status_code == 200, r.text
    customer: dict[str, Any] = r.json()
    return customer


def assert_error(r: Any, status: int, code: str, param: str | None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "error", "param", "request_id"}, body
    assert (body["code"], body["param"]) == (code, param), body


def count(api: API, **params: Any) -> int:
    r = api.get("/api/customers", params=params)
    assert r.status_code == 200, r.text
    n: int = r.json()["count"]
    return n


def get_with_body(api: API, path: str, body: Any) -> Any:
    return api.request("GET", path, json=body)


# -- retrieve ------------------------------------------------------------------------------


def test_retrieve_by_id(api: API) -> None:
    c = create(api, FULL)
    r = api.get(f"/api/customers/{c['id']}")
    assert r.status_code == 200
    assert r.json() == c


def test_retrieve_by_did_with_and_without_prefix(api: API) -> None:
    did = new_did()
    c = create(api, {**FULL, "did": did})
    assert retrieve(api, did) == c
    assert retrieve(api, f"did:abt:{did}") == c


@pytest.mark.parametrize(
    "missing",
    [
        MISSING_ID,
        "zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",
        "did:abt:zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",
    ],
)
def test_retrieve_unknown_is_404(api: API, missing: str) -> None:
    create(api, {"name": "someone else"})
    assert_error(api.get(f"/api/customers/{missing}"), 404, "resource_missing", None)


def test_retrieve_with_something_that_is_no_did_is_404(api: API) -> None:
    assert_error(api.get("/api/customers/not-a-did"), 404, "resource_missing", None)


def test_retrieve_unknown_query_parameter(api: API) -> None:
    c = create(api, {})
    r = api.get(f"/api/customers/{c['id']}", params={"expand": "x"})
    assert_error(r, 400, "unknown_parameter", "expand")


def test_retrieve_unknown_body_field(api: API) -> None:
    c = create(api, {})
    r = get_with_body(api, f"/api/customers/{c['id']}", {"crate": True})
    assert_error(r, 400, "unknown_parameter", "crate")


# -- retrieve with create: true ------------------------------------------------------------


def test_create_true_in_body_makes_the_customer_once(api: API) -> None:
    did = new_did()
    first = get_with_body(api, f"/api/customers/{did}", {"create": True})
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["did"] == did and made["object"] == "customer" and made["livemode"] is False
    second = get_with_body(api, f"/api/customers/{did}", {"create": True})
    assert second.status_code == 200
    assert second.json() == made
    assert count(api) == 1
    assert retrieve(api, made["id"]) == made


def test_create_true_in_query_makes_the_customer_once(api: API) -> None:
    did = new_did()
    first = api.get(f"/api/customers/{did}", params={"create": "true"})
    assert first.status_code == 201, first.text
    second = api.get(f"/api/customers/{did}?create=true")
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert count(api) == 1


def test_create_true_strips_the_did_abt_prefix(api: API) -> None:
    did = new_did()
    r = get_with_body(api, f"/api/customers/did:abt:{did}", {"create": True})
    assert r.status_code == 201, r.text
    assert r.json()["did"] == did
    again = get_with_body(api, f"/api/customers/{did}", {"create": True})
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]


def test_create_true_with_string_true_in_body(api: API) -> None:
    r = get_with_body(api, f"/api/customers/{new_did()}", {"create": "true"})
    assert r.status_code == 201, r.text


def test_create_true_finds_a_customer_made_by_post(api: API) -> None:
    did = new_did()
    c = create(api, {"did": did, "name": "Made by POST"})
    r = get_with_body(api, f"/api/customers/did:abt:{did}", {"create": True})
    assert r.status_code == 200
    assert r.json() == c


def test_create_true_with_an_existing_id_is_200(api: API) -> None:
    c = create(api, {"name": "x"})
    r = get_with_body(api, f"/api/customers/{c['id']}", {"create": True})
    assert r.status_code == 200 and r.json() == c


def test_create_true_with_an_unknown_id_is_404(api: API) -> None:
    assert_error(
        get_with_body(api, f"/api/customers/{MISSING_ID}", {"create": True}),
        404,
        "resource_missing",
        None,
    )
    assert count(api) == 0


def test_create_false_does_not_create(api: API) -> None:
    did = new_did()
    assert_error(
        get_with_body(api, f"/api/customers/{did}", {"create": False}),
        404,
        "resource_missing",
        None,
    )
    assert_error(api.get(f"/api/customers/{did}?create=false"), 404, "resource_missing", None)
    assert count(api) == 0


@pytest.mark.parametrize("bad", ["not-a-did", "z0OlI", "did:abt:abc", "did:eth:zabc"])
def test_create_true_with_an_invalid_did_is_400(api: API, bad: str) -> None:
    r = get_with_body(api, f"/api/customers/{bad}", {"create": True})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request"
    r = api.get(f"/api/customers/{bad}", params={"create": "true"})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request"
    assert count(api) == 0


@pytest.mark.parametrize("value", ["maybe", 1])
def test_create_flag_that_is_not_a_boolean_is_400(api: API, value: Any) -> None:
    r = get_with_body(api, f"/api/customers/{new_did()}", {"create": value})
    assert_error(r, 400, "invalid_request", "create")
    assert count(api) == 0


def test_create_in_query_that_is_not_a_boolean_is_400(api: API) -> None:
    r = api.get(f"/api/customers/{new_did()}", params={"create": "yes"})
    assert_error(r, 400, "invalid_request", "create")
    assert count(api) == 0


# -- update --------------------------------------------------------------------------------


def test_update_is_partial(api: API) -> None:
    c = create(api, {**FULL, "did": new_did()})
    u = update(api, c["id"], {"name": "Jane Doe"})
    assert u["name"] == "Jane Doe"
    for field in (
        "id",
        "did",
        "email",
        "phone",
        "address",
        "description",
        "metadata",
        "created_at",
    ):
        assert u[field] == c[field], field
    assert retrieve(api, c["id"]) == u


def test_update_with_empty_body_changes_nothing(api: API) -> None:
    c = create(api, FULL)
    assert update(api, c["id"], {}) == c


def test_update_every_writable_field(api: API) -> None:
    c = create(api, FULL)
    u = update(
        api,
        c["id"],
        {
            "name": "  New Name ",
            "email": "new@example.com",
            "phone": "+44 20 7946 0958",
            "description": "second",
        },
    )
    assert (u["name"], u["email"], u["phone"], u["description"]) == (
        "New Name",
        "new@example.com",
        "+442079460958",
        "second",
    )


def test_update_field_to_null_clears_it(api: API) -> None:
    c = create(api, FULL)
    u = update(api, c["id"], {"name": None, "email": None, "phone": None, "description": None})
    assert (u["name"], u["email"], u["phone"], u["description"]) == (None, None, None, None)
    assert u["metadata"] == c["metadata"]


def test_updated_at_changes_and_created_at_does_not(api: API) -> None:
    c = create(api, FULL)
    time.sleep(0.01)  # let the millisecond clock move on
    u = update(api, c["id"], {"name": "Changed"})
    assert u["created_at"] == c["created_at"]
    assert u["updated_at"] > c["updated_at"]


def test_metadata_merges_key_by_key(api: API) -> None:
    c = create(api, {"metadata": {"a": "1", "b": "2", "c": "3"}})
    u = update(api, c["id"], {"metadata": {"b": None, "c": "", "d": 4}})
    assert u["metadata"] == {"a": "1", "d": 4}
    u = update(api, c["id"], {"metadata": {"a": "one"}})
    assert u["metadata"] == {"a": "one", "d": 4}


def test_metadata_null_clears_all(api: API) -> None:
    c = create(api, {"metadata": {"a": "1", "b": "2"}})
    assert update(api, c["id"], {"metadata": None})["metadata"] == {}
    assert retrieve(api, c["id"])["metadata"] == {}


def test_metadata_merge_may_not_exceed_50_keys(api: API) -> None:
    c = create(api, {"metadata": {f"old{i}": "v" for i in range(30)}})
    r = api.put(f"/api/customers/{c['id']}", json={"metadata": {f"new{i}": "v" for i in range(21)}})
    assert_error(r, 400, "invalid_request", "metadata")
    assert retrieve(api, c["id"]) == c


def test_metadata_merge_up_to_50_keys_is_fine(api: API) -> None:
    c = create(api, {"metadata": {f"old{i}": "v" for i in range(30)}})
    u = update(api, c["id"], {"metadata": {f"new{i}": "v" for i in range(20)}})
    assert len(u["metadata"]) == 50


def test_address_merges_field_by_field(api: API) -> None:
    c = create(api, {"address": {"country": "US", "city": "Seattle", "line1": "1 Main St"}})
    u = update(api, c["id"], {"address": {"city": None, "postal_code": "98101", "country": "ca"}})
    assert u["address"] == {
        "country": "CA",
        "state": None,
        "city": None,
        "line1": "1 Main St",
        "line2": None,
        "postal_code": "98101",
    }


def test_address_null_clears_it(api: API) -> None:
    c = create(api, {"address": {"country": "US", "city": "Seattle"}})
    assert update(api, c["id"], {"address": None})["address"] is None
    assert retrieve(api, c["id"])["address"] is None


def test_address_on_customer_without_one(api: API) -> None:
    c = create(api, {})
    assert update(api, c["id"], {"address": {"city": "Oslo"}})["address"]["city"] == "Oslo"


def test_did_can_be_set_while_null(api: API) -> None:
    c = create(api, {"name": "no did yet"})
    did = new_did()
    u = update(api, c["id"], {"did": f"did:abt:{did}"})
    assert u["did"] == did
    assert retrieve(api, did)["id"] == c["id"]


def test_did_same_value_again_is_fine(api: API) -> None:
    did = new_did()
    c = create(api, {"did": did})
    assert update(api, c["id"], {"did": f"did:abt:{did}", "name": "x"})["did"] == did


def test_did_cannot_change_once_set(api: API) -> None:
    c = create(api, {"did": new_did()})
    r = api.put(f"/api/customers/{c['id']}", json={"did": new_did(), "name": "changed"})
    assert_error(r, 400, "invalid_request", "did")
    assert retrieve(api, c["id"]) == c


def test_did_conflict_on_update_is_409(api: API) -> None:
    did = new_did()
    create(api, {"did": did})
    other = create(api, {"name": "other"})
    r = api.put(f"/api/customers/{other['id']}", json={"did": did, "name": "changed"})
    assert_error(r, 409, "resource_exists", "did")
    assert retrieve(api, other["id"]) == other


def test_did_taken_in_the_other_mode_is_fine_on_update(api: API, live_api: API) -> None:
    did = new_did()
    create(live_api, {"did": did})
    c = create(api, {})
    assert update(api, c["id"], {"did": did})["did"] == did


@pytest.mark.parametrize("field", [*READ_ONLY, "foo"])
def test_update_read_only_or_unknown_field(api: API, field: str) -> None:
    c = create(api, FULL)
    values = {"livemode": True, "delinquent": True, "balance": "100"}
    r = api.put(f"/api/customers/{c['id']}", json={"name": "new", field: values.get(field, "x")})
    assert_error(r, 400, "unknown_parameter", field)
    assert retrieve(api, c["id"]) == c


def test_update_unknown_address_field(api: API) -> None:
    c = create(api, FULL)
    r = api.put(f"/api/customers/{c['id']}", json={"address": {"zip": "98101"}})
    assert_error(r, 400, "unknown_parameter", "address.zip")
    assert retrieve(api, c["id"]) == c


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "5551234567"}, "phone"),
        ({"phone": "+1555"}, "phone"),
        ({"address": {"country": "XX"}}, "address.country"),
        ({"address": {"city": "c" * 201}}, "address.city"),
        ({"name": "n" * 257}, "name"),
        ({"description": "d" * 1001}, "description"),
        ({"metadata": {"k" * 41: "v"}}, f"metadata.{'k' * 41}"),
        ({"metadata": {"k": "v" * 501}}, "metadata.k"),
        ({"metadata": {"k": {"nested": 1}}}, "metadata.k"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
        ({"name": 1}, "name"),
        ({"address": "Seattle"}, "address"),
    ],
)
def test_update_validates_like_create(api: API, body: dict[str, Any], param: str) -> None:
    c = create(api, FULL)
    r = api.put(f"/api/customers/{c['id']}", json={"description": "changed", **body})
    assert_error(r, 400, "invalid_request", param)
    assert retrieve(api, c["id"]) == c


@pytest.mark.parametrize("did", ["abc", "z0OlI", "did:abt:abc"])
def test_update_invalid_did(api: API, did: str) -> None:
    c = create(api, {})
    r = api.put(f"/api/customers/{c['id']}", json={"did": did})
    assert_error(r, 400, "invalid_request", "did")
    assert retrieve(api, c["id"]) == c


def test_update_malformed_json(api: API) -> None:
    c = create(api, FULL)
    r = api.put(
        f"/api/customers/{c['id']}",
        content=b'{"name": ',
        headers={"content-type": "application/json"},
    )
    assert_error(r, 400, "invalid_request", None)
    assert retrieve(api, c["id"]) == c


def test_update_unknown_id_is_404(api: API) -> None:
    assert_error(
        api.put(f"/api/customers/{MISSING_ID}", json={"name": "x"}), 404, "resource_missing", None
    )
    assert count(api) == 0


# -- delete --------------------------------------------------------------------------------


def test_delete_returns_the_deleted_marker(api: API) -> None:
    c = create(api, FULL)
    r = api.delete(f"/api/customers/{c['id']}")
    assert r.status_code == 200
    assert r.json() == {"id": c["id"], "object": "customer", "deleted": True}


def test_deleted_customer_is_gone_everywhere(api: API) -> None:
    did = new_did()
    keep = create(api, {"name": "Keep Smith"})
    gone = create(api, {**FULL, "name": "Gone Smith", "did": did})
    assert api.delete(f"/api/customers/{gone['id']}").status_code == 200

    for path in (gone["id"], did, f"did:abt:{did}"):
        assert_error(api.get(f"/api/customers/{path}"), 404, "resource_missing", None)
    listed = api.get("/api/customers").json()
    assert listed["count"] == 1 and [c["id"] for c in listed["list"]] == [keep["id"]]
    assert count(api, did=did) == 0
    found = api.get("/api/customers/search", params={"query": "smith"}).json()
    assert found["count"] == 1 and [c["id"] for c in found["list"]] == [keep["id"]]
    assert api.get("/api/customers/search", params={"query": gone["id"]}).json()["count"] == 0


def test_deleted_customer_cannot_be_updated_or_deleted_again(api: API) -> None:
    c = create(api, FULL)
    assert api.delete(f"/api/customers/{c['id']}").status_code == 200
    assert_error(
        api.put(f"/api/customers/{c['id']}", json={"name": "x"}), 404, "resource_missing", None
    )
    assert_error(api.delete(f"/api/customers/{c['id']}"), 404, "resource_missing", None)


def test_did_is_reusable_after_delete(api: API) -> None:
    did = new_did()
    old = create(api, {"did": did})
    assert api.delete(f"/api/customers/{old['id']}").status_code == 200
    new = create(api, {"did": did})
    assert new["id"] != old["id"]
    assert retrieve(api, did)["id"] == new["id"]


def test_retrieve_or_create_after_delete_makes_a_new_customer(api: API) -> None:
    did = new_did()
    old = create(api, {"did": did})
    assert api.delete(f"/api/customers/{old['id']}").status_code == 200
    r = get_with_body(api, f"/api/customers/{did}", {"create": True})
    assert r.status_code == 201, r.text
    assert r.json()["id"] != old["id"]


def test_did_of_deleted_customer_can_be_set_on_another(api: API) -> None:
    did = new_did()
    old = create(api, {"did": did})
    other = create(api, {})
    assert api.delete(f"/api/customers/{old['id']}").status_code == 200
    assert update(api, other["id"], {"did": did})["did"] == did


def test_delete_unknown_is_404(api: API) -> None:
    create(api, {})
    assert_error(api.delete(f"/api/customers/{MISSING_ID}"), 404, "resource_missing", None)
    assert count(api) == 1


def test_delete_unknown_query_parameter(api: API) -> None:
    c = create(api, {})
    r = api.delete(f"/api/customers/{c['id']}", params={"force": "true"})
    assert_error(r, 400, "unknown_parameter", "force")
    assert retrieve(api, c["id"]) == c
