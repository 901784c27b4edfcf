"""Subscriptions: create (customer and currency of the same mode), retrieve, list with customer_id
and status filters, cancel once (API.md, Billing objects behind it)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.billing.helpers import (
    SUBSCRIPTION_STATUSES,
    Billing,
    assert_error,
    body,
    ids,
    list_all,
    make_currency,
    make_customer,
    make_subscription,
    now_s,
)
from tests.conftest import API

ID_RE = re.compile(r"^sub_[0-9A-Za-z]{24}$")
SUBSCRIPTION_KEYS = {
    "id",
    "object",
    "customer_id",
    "currency_id",
    "status",
    "canceled_at",
    "livemode",
    "metadata",
    "created_at",
    "updated_at",
}


@pytest.fixture
def billing(api: API) -> Billing:
    return Billing(api)


def subscribe(b: Billing, **fields: Any) -> dict[str, Any]:
    return make_subscription(b.api, b.customer["id"], b.currency["id"], **fields)


def test_create_and_retrieve(api: API, billing: Billing) -> None:
    s = subscribe(billing, metadata={"plan": "pro"})
    assert set(s) == SUBSCRIPTION_KEYS and ID_RE.match(s["id"])
    assert s["object"] == "subscription"
    assert (s["customer_id"], s["currency_id"]) == (billing.customer["id"], billing.currency["id"])
    assert (s["status"], s["canceled_at"], s["livemode"]) == ("active", None, False)
    assert s["metadata"] == {"plan": "pro"}
    assert body(api.get(f"/api/subscriptions/{s['id']}"), 200) == s


@pytest.mark.parametrize("status", [s for s in SUBSCRIPTION_STATUSES if s != "canceled"])
def test_create_in_a_status(billing: Billing, status: str) -> None:
    assert subscribe(billing, status=status)["status"] == status


def test_create_with_an_unknown_status_is_400(api: API, billing: Billing) -> None:
    r = api.post(
        "/api/subscriptions",
        json={
            "customer_id": billing.customer["id"],
            "currency_id": billing.currency["id"],
            "status": "expired",
        },
    )
    assert_error(r, 400, "invalid_request", "status")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("customer_id", "cus_doesnotexist00000000000"),
        ("customer_id", "zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ"),
        ("currency_id", "pc_doesnotexist000000000000"),
    ],
)
def test_missing_reference_names_the_field(
    api: API, billing: Billing, field: str, value: str
) -> None:
    payload = {"customer_id": billing.customer["id"], "currency_id": billing.currency["id"]}
    payload[field] = value
    assert_error(api.post("/api/subscriptions", json=payload), 400, "resource_missing", field)
    assert list_all(api, "/api/subscriptions")["count"] == 0


@pytest.mark.parametrize("missing", ["customer_id", "currency_id"])
def test_required_fields(api: API, billing: Billing, missing: str) -> None:
    payload = {"customer_id": billing.customer["id"], "currency_id": billing.currency["id"]}
    del payload[missing]
    assert_error(api.post("/api/subscriptions", json=payload), 400, "invalid_request", missing)


def test_deleted_customer_is_a_missing_reference(api: API, billing: Billing) -> None:
    other = make_customer(api)
    body(api.delete(f"/api/customers/{other['id']}"), 200)
    r = api.post(
        "/api/subscriptions",
        json={"customer_id": other["id"], "currency_id": billing.currency["id"]},
    )
    assert_error(r, 400, "resource_missing", "customer_id")


@pytest.mark.parametrize("field", ["id", "livemode", "canceled_at", "object", "bogus"])
def test_create_refuses_unknown_fields(api: API, billing: Billing, field: str) -> None:
    payload = {
        "customer_id": billing.customer["id"],
        "currency_id": billing.currency["id"],
        field: None,
    }
    assert_error(api.post("/api/subscriptions", json=payload), 400, "unknown_parameter", field)


def test_retrieve_unknown_is_404(api: API) -> None:
    assert_error(api.get("/api/subscriptions/sub_nope"), 404, "resource_missing")


def test_list_filters_by_customer_and_status(api: API, billing: Billing) -> None:
    other = make_customer(api)
    a1 = subscribe(billing)
    a2 = subscribe(billing, status="trialing")
    b1 = make_subscription(api, other["id"], billing.currency["id"])
    b2 = make_subscription(api, other["id"], billing.currency["id"], status="trialing")
    a3 = subscribe(billing)
    body(api.put(f"/api/subscriptions/{a3['id']}/cancel"), 200)

    everything = list_all(api, "/api/subscriptions")
    assert ids(everything) == [a3["id"], b2["id"], b1["id"], a2["id"], a1["id"]]
    assert everything["count"] == 5

    mine = list_all(api, "/api/subscriptions", customer_id=billing.customer["id"])
    assert ids(mine) == [a3["id"], a2["id"], a1["id"]] and mine["count"] == 3
    trialing = list_all(api, "/api/subscriptions", status="trialing")
    assert ids(trialing) == [b2["id"], a2["id"]]
    both = list_all(api, "/api/subscriptions", customer_id=other["id"], status="active")
    assert ids(both) == [b1["id"]] and both["count"] == 1
    canceled = list_all(api, "/api/subscriptions", status="canceled")
    assert ids(canceled) == [a3["id"]] and canceled["list"][0]["status"] == "canceled"
    none = list_all(api, "/api/subscriptions", customer_id="cus_nobody")
    assert none["count"] == 0 and none["list"] == []

    paged = body(api.get("/api/subscriptions", params={"page": 2, "pageSize": 2}), 200)
    assert paged["count"] == 5 and paged["paging"] == {"page": 2, "pageSize": 2}
    assert ids(paged) == [b1["id"], a2["id"]]


@pytest.mark.parametrize(
    ("query", "code", "param"),
    [
        ({"status": "bogus"}, "invalid_request", "status"),
        ({"page": "0"}, "invalid_request", "page"),
        ({"currency_id": "pc_x"}, "unknown_parameter", "currency_id"),
    ],
)
def test_list_refuses_bad_queries(api: API, query: dict[str, str], code: str, param: str) -> None:
    assert_error(api.get("/api/subscriptions", params=query), 400, code, param)


def test_cancel_sets_canceled_at_once(api: API, billing: Billing) -> None:
    s = subscribe(billing)
    before = now_s()
    c = body(api.put(f"/api/subscriptions/{s['id']}/cancel"), 200)
    after = now_s()
    assert c["status"] == "canceled"
    assert isinstance(c["canceled_at"], int) and before <= c["canceled_at"] <= after
    assert {k: v for k, v in c.items() if k not in ("status", "canceled_at", "updated_at")} == {
        k: v for k, v in s.items() if k not in ("status", "canceled_at", "updated_at")
    }
    assert body(api.get(f"/api/subscriptions/{s['id']}"), 200) == c

    again = api.put(f"/api/subscriptions/{s['id']}/cancel")
    assert_error(again, 409, "invalid_state")
    assert body(api.get(f"/api/subscriptions/{s['id']}"), 200) == c


@pytest.mark.parametrize("status", ["past_due", "paused", "incomplete", "trialing"])
def test_cancel_from_a_live_status(api: API, billing: Billing, status: str) -> None:
    s = subscribe(billing, status=status)
    assert body(api.put(f"/api/subscriptions/{s['id']}/cancel"), 200)["status"] == "canceled"


def test_cancel_incomplete_expired_is_refused(api: API, billing: Billing) -> None:
    s = subscribe(billing, status="incomplete_expired")
    assert_error(api.put(f"/api/subscriptions/{s['id']}/cancel"), 409, "invalid_state")
    assert body(api.get(f"/api/subscriptions/{s['id']}"), 200) == s


def test_cancel_with_unknown_body_field_is_400(api: API, billing: Billing) -> None:
    s = subscribe(billing)
    r = api.put(f"/api/subscriptions/{s['id']}/cancel", json={"at_period_end": True})
    assert_error(r, 400, "unknown_parameter", "at_period_end")
    assert body(api.get(f"/api/subscriptions/{s['id']}"), 200) == s


def test_cancel_unknown_is_404(api: API) -> None:
    assert_error(api.put("/api/subscriptions/sub_nope/cancel"), 404, "resource_missing")


def test_modes_are_separate(api: API, live_api: API, billing: Billing) -> None:
    s = subscribe(billing)
    live_customer = make_customer(live_api)
    live_currency = make_currency(live_api)
    assert_error(live_api.get(f"/api/subscriptions/{s['id']}"), 404, "resource_missing")
    assert_error(live_api.put(f"/api/subscriptions/{s['id']}/cancel"), 404, "resource_missing")
    assert body(api.get(f"/api/subscriptions/{s['id']}"), 200) == s
    assert list_all(live_api, "/api/subscriptions")["count"] == 0
    none = list_all(live_api, "/api/subscriptions", customer_id=billing.customer["id"])
    assert none["count"] == 0
    # A live subscription cannot name test objects.
    r = live_api.post(
        "/api/subscriptions",
        json={"customer_id": billing.customer["id"], "currency_id": live_currency["id"]},
    )
    assert_error(r, 400, "resource_missing", "customer_id")
    r = live_api.post(
        "/api/subscriptions",
        json={"customer_id": live_customer["id"], "currency_id": billing.currency["id"]},
    )
    assert_error(r, 400, "resource_missing", "currency_id")
    live = make_subscription(live_api, live_customer["id"], live_currency["id"])
    assert live["livemode"] is True
    assert ids(list_all(live_api, "/api/subscriptions")) == [live["id"]]
    assert ids(list_all(api, "/api/subscriptions")) == [s["id"]]
