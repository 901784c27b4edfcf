"""Payment methods: create, retrieve, update, list per mode; `settings` are secret (API.md, Billing
objects behind it): encrypted at rest, shown only as redacted keys, in no response body."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

import pytest

from paymentkit.server.crypto import SecretBox
from paymentkit.server.db.engine import Database
from paymentkit.server.payment_methods import service as methods_service
from tests.api.billing.helpers import (
    assert_error,
    body,
    ids,
    list_all,
    make_currency,
    make_customer,
    make_invoice,
    make_method,
    uncollectible,
)
from tests.conftest import API

ID_RE = re.compile(r"^pm_[0-9A-Za-z]{24}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
METHOD_KEYS = {
    "id",
    "object",
    "type",
    "name",
    "description",
    "active",
    "settings",
    "livemode",
    "metadata",
    "created_at",
    "updated_at",
}


def secret() -> str:
    return "sekrit_" + secrets.token_hex(16)


def test_create_returns_the_whole_method(api: API) -> None:
    r = api.post(
        "/api/payment-methods",
        json={
            "type": "ethereum",
            "name": " Mainnet ",
            "description": "ETH wallet",
            "active": False,
            "metadata": {"chain": "1", "primary": True},
        },
    )
    m = body(r, 201)
    assert set(m) == METHOD_KEYS
    assert ID_RE.match(m["id"])
    assert m["object"] == "payment_method"
    assert (m["type"], m["name"], m["description"], m["active"]) == (
        "ethereum",
        "Mainnet",
        "ETH wallet",
        False,
    )
    assert m["settings"] == {}
    assert m["livemode"] is False
    assert m["metadata"] == {"chain": "1", "primary": True}
    assert TIMESTAMP_RE.match(m["created_at"]) and m["updated_at"] == m["created_at"]


def test_defaults(api: API) -> None:
    m = make_method(api, type="bitcoin", name="BTC")
    assert (m["description"], m["active"], m["settings"], m["metadata"]) == (None, True, {}, {})


@pytest.mark.parametrize(
    "type_",
    [
        "stripe",
        "arcblock",
        "ethereum",
        "bitcoin",
        "base",
        "card",
        "paypal",
        "a",
        "my_gateway2",
        "x" * 16,
    ],
)
def test_any_lower_case_identifier_is_a_type(api: API, type_: str) -> None:
    # The five known types, and any other (Payment Kit: LiteralUnion<…, string>; the reference
    # document's overdue example uses `card`), kept as given with the same settings handling.
    m = make_method(api, type=type_, settings={"secret_key": "sk_x"})
    assert (m["type"], m["settings"]) == (type_, {"secret_key": "[redacted]"})
    assert body(api.get(f"/api/payment-methods/{m['id']}"), 200) == m
    assert ids(list_all(api, "/api/payment-methods")) == [m["id"]]


def test_a_card_method_in_the_overdue_summary(api: API) -> None:
    method = make_method(api, type="card", name="Card")
    currency = make_currency(api, method["id"])
    customer = make_customer(api)
    invoice = uncollectible(api, make_invoice(api, customer["id"], currency["id"], "2500"))
    overdue = body(api.get(f"/api/customers/{customer['id']}/overdue/invoices"), 200)
    assert [i["id"] for i in overdue["invoices"]] == [invoice["id"]]
    assert overdue["summary"][currency["id"]]["method"]["type"] == "card"


def test_openapi_describes_the_type(app_client: Any) -> None:
    schemas = app_client.get("/openapi.json").json()["components"]["schemas"]
    type_ = schemas["PaymentMethodCreate"]["properties"]["type"]
    assert type_["type"] == "string" and "enum" not in type_
    assert type_["pattern"] == "^[a-z][a-z0-9_]{0,15}$"
    for known in ("stripe", "arcblock", "ethereum", "bitcoin", "base", "card"):
        assert known in type_["description"] and known in type_["examples"]


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"type": "Card", "name": "x"}, "type"),
        ({"type": "1card", "name": "x"}, "type"),
        ({"type": "_card", "name": "x"}, "type"),
        ({"type": "card-x", "name": "x"}, "type"),
        ({"type": "x" * 17, "name": "x"}, "type"),
        ({"type": "card\n", "name": "x"}, "type"),
        ({"type": " card", "name": "x"}, "type"),
        ({"type": "", "name": "x"}, "type"),
        ({"type": 5, "name": "x"}, "type"),
        ({"name": "x"}, "type"),
        ({"type": "stripe"}, "name"),
        ({"type": "stripe", "name": "   "}, "name"),
        ({"type": "stripe", "name": 5}, "name"),
        ({"type": "stripe", "name": "x", "active": "yes"}, "active"),
        # A bad value inside an object is named with dots (API.md, Errors).
        ({"type": "stripe", "name": "x", "settings": {"k": 5}}, "settings.k"),
        ({"type": "stripe", "name": "x", "metadata": {"tier": [1]}}, "metadata.tier"),
    ],
)
def test_create_validation(api: API, payload: dict[str, Any], param: str) -> None:
    assert_error(api.post("/api/payment-methods", json=payload), 400, "invalid_request", param)
    assert list_all(api, "/api/payment-methods")["count"] == 0


@pytest.mark.parametrize("field", ["id", "object", "livemode", "created_at", "bogus"])
def test_create_refuses_unknown_or_read_only_fields(api: API, field: str) -> None:
    r = api.post("/api/payment-methods", json={"type": "stripe", "name": "x", field: "v"})
    assert_error(r, 400, "unknown_parameter", field)
    assert list_all(api, "/api/payment-methods")["count"] == 0


def test_retrieve(api: API) -> None:
    m = make_method(api)
    assert body(api.get(f"/api/payment-methods/{m['id']}"), 200) == m


def test_retrieve_unknown_is_404(api: API) -> None:
    assert_error(api.get("/api/payment-methods/pm_nope"), 404, "resource_missing")


def test_update_is_partial_and_returns_the_whole_method(api: API) -> None:
    m = make_method(api, description="old", metadata={"a": "1", "b": "2"})
    u = body(
        api.put(
            f"/api/payment-methods/{m['id']}",
            json={"name": "Renamed", "active": False, "metadata": {"a": None, "c": "3"}},
        ),
        200,
    )
    assert u["name"] == "Renamed" and u["active"] is False
    assert u["description"] == "old" and u["type"] == m["type"]
    assert u["metadata"] == {"b": "2", "c": "3"}
    assert u["created_at"] == m["created_at"] and u["updated_at"] >= m["updated_at"]
    assert body(api.get(f"/api/payment-methods/{m['id']}"), 200) == u


@pytest.mark.parametrize("field", ["type", "id", "livemode", "object", "bogus"])
def test_update_refuses_unknown_or_read_only_fields(api: API, field: str) -> None:
    m = make_method(api)
    r = api.put(f"/api/payment-methods/{m['id']}", json={field: "bitcoin"})
    assert_error(r, 400, "unknown_parameter", field)
    assert body(api.get(f"/api/payment-methods/{m['id']}"), 200) == m


def test_update_unknown_is_404(api: API) -> None:
    assert_error(
        api.put("/api/payment-methods/pm_nope", json={"name": "x"}), 404, "resource_missing"
    )


def test_list_pages_newest_first(api: API) -> None:
    made = [make_method(api, name=f"m{i}") for i in range(5)]
    newest_first = [m["id"] for m in reversed(made)]
    first = body(api.get("/api/payment-methods", params={"page": 1, "pageSize": 2}), 200)
    assert first["count"] == 5 and first["paging"] == {"page": 1, "pageSize": 2}
    assert ids(first) == newest_first[:2]
    assert first["list"][0] == made[-1]
    third = body(api.get("/api/payment-methods", params={"page": 3, "pageSize": 2}), 200)
    assert ids(third) == newest_first[4:]
    beyond = body(api.get("/api/payment-methods", params={"page": 4, "pageSize": 2}), 200)
    assert beyond == {
        "count": 5,
        "list": [],
        "paging": {"page": 4, "pageSize": 2},
        "has_more": False,
        "count_is_exact": True,
    }
    default = body(api.get("/api/payment-methods"), 200)
    assert default["paging"] == {"page": 1, "pageSize": 20} and ids(default) == newest_first


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"pageSize": "0"}, "pageSize"),
        ({"pageSize": "101"}, "pageSize"),
        ({"pageSize": "1.5"}, "pageSize"),
    ],
)
def test_list_paging_out_of_range_is_400(api: API, query: dict[str, str], param: str) -> None:
    assert_error(api.get("/api/payment-methods", params=query), 400, "invalid_request", param)


def test_list_unknown_query_parameter(api: API) -> None:
    r = api.get("/api/payment-methods", params={"type": "stripe"})
    assert_error(r, 400, "unknown_parameter", "type")


def test_modes_are_separate(api: API, live_api: API) -> None:
    test_method = make_method(api)
    live_method = make_method(live_api)
    assert live_method["livemode"] is True
    assert ids(list_all(api, "/api/payment-methods")) == [test_method["id"]]
    assert ids(list_all(live_api, "/api/payment-methods")) == [live_method["id"]]
    assert_error(live_api.get(f"/api/payment-methods/{test_method['id']}"), 404, "resource_missing")
    assert_error(
        live_api.put(f"/api/payment-methods/{test_method['id']}", json={"name": "hijack"}),
        404,
        "resource_missing",
    )
    assert body(api.get(f"/api/payment-methods/{test_method['id']}"), 200) == test_method


def test_livemode_query_must_match_the_key(api: API) -> None:
    r = api.get("/api/payment-methods", params={"livemode": "true"})
    assert_error(r, 403, "forbidden", "livemode")


# -- secret settings ----------------------------------------------------------------------------


def stored_settings(db: Database, method_id: str) -> dict[str, str]:
    box = SecretBox(os.environ["PAYMENTKIT_SECRET_KEY"])
    return db.run_sync(lambda tx: methods_service.settings_of(tx, box, method_id))


def table_text(db: Database, table: str) -> str:
    """Every column of every row of `table`, as text."""
    rows = db.run_sync(lambda tx: tx.all(f"SELECT * FROM {table}"))
    return repr(rows)


def sqlite_bytes(database_url: str) -> bytes:
    """The SQLite database file and its WAL/shared-memory companions, as raw bytes."""
    path = Path(database_url.removeprefix("sqlite:///"))
    data = b""
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        if candidate.exists():
            data += candidate.read_bytes()
    assert data, "the SQLite file was not found"
    return data


def test_settings_are_redacted_and_never_returned(
    api: API, db: Database, database_url: str
) -> None:
    api_key, webhook, rotated = secret(), secret(), secret()
    seen: list[str] = []

    def keep(r: Any, status: int) -> Any:
        seen.append(r.text)
        return body(r, status)

    m = keep(
        api.post(
            "/api/payment-methods",
            json={
                "type": "stripe",
                "name": "Stripe",
                "settings": {"api_key": api_key, "webhook_secret": webhook},
            },
        ),
        201,
    )
    assert m["settings"] == {"api_key": "[redacted]", "webhook_secret": "[redacted]"}
    assert keep(api.get(f"/api/payment-methods/{m['id']}"), 200)["settings"] == m["settings"]
    # An update of other fields keeps the settings (still redacted).
    u = keep(api.put(f"/api/payment-methods/{m['id']}", json={"name": "Renamed"}), 200)
    assert u["settings"] == m["settings"]
    assert stored_settings(db, m["id"]) == {"api_key": api_key, "webhook_secret": webhook}
    # Settings merge key by key: null removes one, a new value replaces or adds.
    u = keep(
        api.put(
            f"/api/payment-methods/{m['id']}",
            json={"settings": {"webhook_secret": None, "api_key": rotated, "region": "eu"}},
        ),
        200,
    )
    assert u["settings"] == {"api_key": "[redacted]", "region": "[redacted]"}
    assert stored_settings(db, m["id"]) == {"api_key": rotated, "region": "eu"}
    listed = keep(api.get("/api/payment-methods"), 200)
    assert listed["list"][0]["settings"] == u["settings"]

    # The overdue summary carries the method too.
    currency = keep(
        api.post(
            "/api/payment-currencies",
            json={"payment_method_id": m["id"], "name": "USD", "symbol": "USD", "decimal": 2},
        ),
        201,
    )
    customer = make_customer(api)
    uncollectible(api, make_invoice(api, customer["id"], currency["id"], "500"))
    overdue = keep(api.get(f"/api/customers/{customer['id']}/overdue/invoices"), 200)
    assert overdue["summary"][currency["id"]]["method"] == keep(
        api.get(f"/api/payment-methods/{m['id']}"), 200
    )
    assert overdue["summary"][currency["id"]]["method"]["settings"] == u["settings"]

    # Refused writes do not echo the secret either.
    refused = api.post(
        "/api/payment-methods",
        json={"type": "stripe", "name": "x", "settings": {"api_key": api_key}, "bogus": 1},
    )
    seen.append(refused.text)
    assert refused.status_code == 400
    too_long = api.put(
        f"/api/payment-methods/{m['id']}", json={"settings": {"api_key": api_key * 200}}
    )
    seen.append(too_long.text)
    assert_error(too_long, 400, "invalid_request", "settings.api_key")

    for text in seen:
        for value in (api_key, webhook, rotated):
            assert value not in text

    # At rest: neither in any column of the table nor anywhere in the database file.
    stored = table_text(db, "payment_methods")
    for value in (api_key, webhook, rotated):
        assert value not in stored
    if database_url.startswith("sqlite:"):
        raw = sqlite_bytes(database_url)
        for value in (api_key, webhook, rotated):
            assert value.encode() not in raw


def test_settings_null_clears_all(api: API, db: Database) -> None:
    m = make_method(api, settings={"api_key": secret()})
    u = body(api.put(f"/api/payment-methods/{m['id']}", json={"settings": None}), 200)
    assert u["settings"] == {}
    assert stored_settings(db, m["id"]) == {}


def test_currency_of_the_method_does_not_leak_settings(api: API) -> None:
    value = secret()
    m = make_method(api, settings={"api_key": value})
    r = api.post(
        "/api/payment-currencies",
        json={"payment_method_id": m["id"], "name": "USD", "symbol": "USD", "decimal": 2},
    )
    assert r.status_code == 201 and value not in r.text
    make_currency(api, m["id"])
    assert value not in api.get("/api/payment-currencies").text
