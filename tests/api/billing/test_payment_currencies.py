"""Payment currencies: create, retrieve, update, list per mode; a currency references an existing
payment method of the same mode (API.md, Billing objects behind it)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.billing.helpers import (
    assert_error,
    body,
    ids,
    list_all,
    make_currency,
    make_method,
)
from tests.conftest import API

ID_RE = re.compile(r"^pc_[0-9A-Za-z]{24}$")
CURRENCY_KEYS = {
    "id",
    "object",
    "payment_method_id",
    "name",
    "symbol",
    "decimal",
    "active",
    "livemode",
    "metadata",
    "created_at",
    "updated_at",
}


def test_create_returns_the_whole_currency(api: API) -> None:
    m = make_method(api, type="ethereum")
    c = body(
        api.post(
            "/api/payment-currencies",
            json={
                "payment_method_id": m["id"],
                "name": "Ether",
                "symbol": "ETH",
                "decimal": 18,
                "metadata": {"chain": "1"},
            },
        ),
        201,
    )
    assert set(c) == CURRENCY_KEYS and ID_RE.match(c["id"])
    assert c["object"] == "payment_currency"
    assert (c["payment_method_id"], c["name"], c["symbol"], c["decimal"]) == (
        m["id"],
        "Ether",
        "ETH",
        18,
    )
    assert c["active"] is True and c["livemode"] is False and c["metadata"] == {"chain": "1"}
    assert body(api.get(f"/api/payment-currencies/{c['id']}"), 200) == c


@pytest.mark.parametrize("decimal", [0, 18])
def test_decimal_bounds_accepted(api: API, decimal: int) -> None:
    assert make_currency(api, decimal=decimal)["decimal"] == decimal


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"decimal": 19}, "decimal"),
        ({"decimal": -1}, "decimal"),
        ({"decimal": "2"}, "decimal"),
        ({"decimal": 2.5}, "decimal"),
        ({"name": ""}, "name"),
        ({"symbol": " "}, "symbol"),
        ({"payment_method_id": 5}, "payment_method_id"),
    ],
)
def test_create_validation(api: API, change: dict[str, Any], param: str) -> None:
    m = make_method(api)
    payload = {"payment_method_id": m["id"], "name": "USD", "symbol": "USD", "decimal": 2, **change}
    assert_error(api.post("/api/payment-currencies", json=payload), 400, "invalid_request", param)
    assert list_all(api, "/api/payment-currencies")["count"] == 0


@pytest.mark.parametrize("missing", ["payment_method_id", "name", "symbol", "decimal"])
def test_create_requires_fields(api: API, missing: str) -> None:
    m = make_method(api)
    payload = {"payment_method_id": m["id"], "name": "USD", "symbol": "USD", "decimal": 2}
    del payload[missing]
    assert_error(api.post("/api/payment-currencies", json=payload), 400, "invalid_request", missing)


def test_unknown_method_is_a_missing_reference(api: API) -> None:
    r = api.post(
        "/api/payment-currencies",
        json={"payment_method_id": "pm_doesnotexist", "name": "USD", "symbol": "USD", "decimal": 2},
    )
    assert_error(r, 400, "resource_missing", "payment_method_id")
    assert list_all(api, "/api/payment-currencies")["count"] == 0


def test_method_of_the_other_mode_is_a_missing_reference(api: API, live_api: API) -> None:
    test_method = make_method(api)
    r = live_api.post(
        "/api/payment-currencies",
        json={"payment_method_id": test_method["id"], "name": "USD", "symbol": "USD", "decimal": 2},
    )
    assert_error(r, 400, "resource_missing", "payment_method_id")
    assert list_all(live_api, "/api/payment-currencies")["count"] == 0
    live = make_currency(live_api, make_method(live_api)["id"])
    assert live["livemode"] is True


@pytest.mark.parametrize("field", ["id", "object", "livemode", "updated_at", "bogus"])
def test_create_refuses_unknown_fields(api: API, field: str) -> None:
    m = make_method(api)
    payload = {"payment_method_id": m["id"], "name": "USD", "symbol": "USD", "decimal": 2}
    r = api.post("/api/payment-currencies", json={**payload, field: "x"})
    assert_error(r, 400, "unknown_parameter", field)


def test_retrieve_unknown_is_404(api: API) -> None:
    assert_error(api.get("/api/payment-currencies/pc_nope"), 404, "resource_missing")


def test_update_is_partial(api: API) -> None:
    c = make_currency(api, metadata={"a": "1"})
    u = body(
        api.put(
            f"/api/payment-currencies/{c['id']}",
            json={"symbol": "usd", "active": False, "metadata": {"b": "2"}},
        ),
        200,
    )
    assert (u["symbol"], u["active"], u["metadata"]) == ("usd", False, {"a": "1", "b": "2"})
    assert (u["name"], u["decimal"], u["payment_method_id"]) == (
        c["name"],
        c["decimal"],
        c["payment_method_id"],
    )
    assert body(api.get(f"/api/payment-currencies/{c['id']}"), 200) == u


@pytest.mark.parametrize("field", ["payment_method_id", "decimal", "livemode", "id", "bogus"])
def test_update_refuses_fixed_or_unknown_fields(api: API, field: str) -> None:
    c = make_currency(api)
    r = api.put(f"/api/payment-currencies/{c['id']}", json={field: 3})
    assert_error(r, 400, "unknown_parameter", field)
    assert body(api.get(f"/api/payment-currencies/{c['id']}"), 200) == c


def test_update_unknown_is_404(api: API) -> None:
    r = api.put("/api/payment-currencies/pc_nope", json={"name": "x"})
    assert_error(r, 404, "resource_missing")


def test_list_pages_newest_first_per_mode(api: API, live_api: API) -> None:
    m = make_method(api)
    made = [make_currency(api, m["id"], symbol=f"C{i}") for i in range(3)]
    live = make_currency(live_api, make_method(live_api)["id"])
    page = body(api.get("/api/payment-currencies", params={"page": 1, "pageSize": 2}), 200)
    assert page["count"] == 3 and page["paging"] == {"page": 1, "pageSize": 2}
    assert page["list"] == [made[2], made[1]]
    page2 = body(api.get("/api/payment-currencies", params={"page": "2", "pageSize": "2"}), 200)
    assert page2["list"] == [made[0]]
    assert ids(list_all(live_api, "/api/payment-currencies")) == [live["id"]]
    assert_error(
        api.get("/api/payment-currencies", params={"pageSize": 500}),
        400,
        "invalid_request",
        "pageSize",
    )


def test_other_mode_cannot_see_or_update(api: API, live_api: API) -> None:
    c = make_currency(api)
    assert_error(live_api.get(f"/api/payment-currencies/{c['id']}"), 404, "resource_missing")
    r = live_api.put(f"/api/payment-currencies/{c['id']}", json={"name": "hijack"})
    assert_error(r, 404, "resource_missing")
    assert body(api.get(f"/api/payment-currencies/{c['id']}"), 200) == c
