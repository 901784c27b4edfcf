"""GET /api/customers/{id_or_did}/overdue/invoices, the customer's `delinquent` flag and the
delete rule that billing objects impose (API.md, Customers and Overdue invoices)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.billing.helpers import (
    Billing,
    act,
    assert_error,
    body,
    get_invoice,
    invoice_in,
    make_currency,
    make_customer,
    make_invoice,
    make_method,
    make_subscription,
    new_did,
    pay,
    uncollectible,
)
from tests.conftest import API


def overdue(api: API, id_or_did: str) -> dict[str, Any]:
    result: dict[str, Any] = body(api.get(f"/api/customers/{id_or_did}/overdue/invoices"), 200)
    return result


def get(api: API, path: str) -> dict[str, Any]:
    result: dict[str, Any] = body(api.get(path), 200)
    return result


def test_overdue_with_several_currencies_methods_and_partial_payments(
    api: API, live_api: API
) -> None:
    stripe = make_method(api, type="stripe", settings={"api_key": "sk_hidden_value_1"})
    eth = make_method(api, type="ethereum", name="Ethereum")
    usd = make_currency(api, stripe["id"], symbol="USD")
    eur = make_currency(api, stripe["id"], symbol="EUR")
    ether = make_currency(api, eth["id"], name="Ether", symbol="ETH", decimal=18)
    did = new_did()
    alice = make_customer(api, did=did)
    bob = make_customer(api)
    s1 = make_subscription(api, alice["id"], usd["id"])
    s2 = make_subscription(api, alice["id"], ether["id"])
    a = alice["id"]

    # Overdue, created in this order; marked uncollectible in another order.
    i1 = make_invoice(api, a, usd["id"], "1000", subscription_id=s1["id"])
    i2 = make_invoice(api, a, usd["id"], "500", subscription_id=s1["id"])
    i3 = make_invoice(api, a, ether["id"], "3000000000000000000", subscription_id=s2["id"])
    i4 = make_invoice(api, a, eur["id"], "77")
    # Not overdue: every other status, and other customers' invoices.
    draft = make_invoice(api, a, usd["id"], "1", subscription_id=s2["id"])
    opened = invoice_in(api, make_invoice(api, a, eur["id"], "2", subscription_id=s2["id"]), "open")
    paid = uncollectible(api, make_invoice(api, a, usd["id"], "3"))
    body(pay(api, paid["id"]), 200)
    voided = uncollectible(api, make_invoice(api, a, ether["id"], "4"))
    body(act(api, voided["id"], "void"), 200)
    uncollectible(api, make_invoice(api, bob["id"], usd["id"], "999"))
    # A live customer with the same DID and its own overdue invoice.
    live_alice = make_customer(live_api, did=did)
    live_currency = make_currency(live_api)
    live_inv = uncollectible(
        live_api, make_invoice(live_api, live_alice["id"], live_currency["id"])
    )

    uncollectible(api, i4)
    uncollectible(api, i3, "1000000000000000000", 1)
    uncollectible(api, i2)
    uncollectible(api, i1, "300")

    expected_invoices = [get_invoice(api, i["id"]) for i in (i1, i2, i3, i4)]
    expected = {
        "customer": get(api, f"/api/customers/{a}"),
        "invoices": expected_invoices,
        "summary": {
            usd["id"]: {
                "amount": "1200",  # 700 + 500: what remains, not what was due
                "currency": get(api, f"/api/payment-currencies/{usd['id']}"),
                "method": get(api, f"/api/payment-methods/{stripe['id']}"),
            },
            ether["id"]: {
                "amount": "1999999999999999999",
                "currency": get(api, f"/api/payment-currencies/{ether['id']}"),
                "method": get(api, f"/api/payment-methods/{eth['id']}"),
            },
            eur["id"]: {
                "amount": "77",
                "currency": get(api, f"/api/payment-currencies/{eur['id']}"),
                "method": get(api, f"/api/payment-methods/{stripe['id']}"),
            },
        },
        "subscriptionCount": 2,
    }
    assert expected["customer"]["delinquent"] is True
    by_id = overdue(api, a)
    assert by_id == expected
    assert overdue(api, did) == expected
    assert overdue(api, f"did:abt:{did}") == expected
    assert [i["status"] for i in by_id["invoices"]] == ["uncollectible"] * 4
    assert "sk_hidden_value_1" not in api.get(f"/api/customers/{a}/overdue/invoices").text
    assert draft["id"] not in str(by_id) and opened["id"] not in str(by_id)

    live = overdue(live_api, did)
    assert live["customer"]["id"] == live_alice["id"]
    assert [i["id"] for i in live["invoices"]] == [live_inv["id"]]
    assert list(live["summary"]) == [live_currency["id"]]
    assert live["subscriptionCount"] == 0


def test_subscription_count_is_distinct_subscriptions(api: API) -> None:
    b = Billing(api)
    subs = [make_subscription(api, b.customer["id"], b.currency["id"]) for _ in range(3)]
    for sub in (subs[0], subs[0], subs[1]):
        uncollectible(api, b.invoice("10", subscription_id=sub["id"]))
    uncollectible(api, b.invoice("10"))
    invoice_in(api, b.invoice("10", subscription_id=subs[2]["id"]), "open")
    result = overdue(api, b.customer["id"])
    assert result["subscriptionCount"] == 2
    assert result["summary"][b.currency["id"]]["amount"] == "40"


def test_nothing_overdue(api: API) -> None:
    b = Billing(api)
    b.invoice("5")
    b.invoice_in("open", "6")
    b.invoice_in("paid", "7")
    b.invoice_in("void", "8")
    result = overdue(api, b.customer["id"])
    assert result == {
        "customer": get(api, f"/api/customers/{b.customer['id']}"),
        "invoices": [],
        "summary": {},
        "subscriptionCount": 0,
    }
    assert result["customer"]["delinquent"] is False
    fresh = make_customer(api)
    assert overdue(api, fresh["did"]) == {
        "customer": fresh,
        "invoices": [],
        "summary": {},
        "subscriptionCount": 0,
    }


@pytest.mark.parametrize(
    "id_or_did", ["cus_doesnotexist00000000000", "zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ"]
)
def test_unknown_customer_is_404(api: API, id_or_did: str) -> None:
    assert_error(api.get(f"/api/customers/{id_or_did}/overdue/invoices"), 404, "resource_missing")


def test_other_mode_customer_is_404(api: API, live_api: API) -> None:
    b = Billing(api)
    uncollectible(api, b.invoice())
    for ref in (b.customer["id"], b.customer["did"]):
        r = live_api.get(f"/api/customers/{ref}/overdue/invoices")
        assert_error(r, 404, "resource_missing")


def test_overdue_is_fresh_across_workers(two_apps: tuple[API, API]) -> None:
    """A write through one app shows at once in the other app's overdue answer, whatever either
    app has already rendered for the customer."""
    one, two = two_apps
    b = Billing(one)
    cid = b.customer["id"]
    first = uncollectible(one, b.invoice("1000"))
    second = uncollectible(one, b.invoice("500"))

    def both_agree() -> dict[str, Any]:
        answer = overdue(one, cid)
        assert overdue(two, cid) == answer
        assert overdue(two, b.customer["did"]) == answer
        return answer

    assert both_agree()["summary"][b.currency["id"]]["amount"] == "1500"
    for writer, action in ((two, "pay_part"), (one, "pay_part"), (two, "void"), (one, "new")):
        if action == "pay_part":
            body(pay(writer, first["id"], "100"), 200)
        elif action == "void":
            body(act(writer, second["id"], "void"), 200)
        else:
            uncollectible(writer, b.invoice("7"))
        answer = both_agree()
        expected = [get_invoice(writer, i["id"]) for i in answer["invoices"]]
        assert answer["invoices"] == expected
        assert all(i["status"] == "uncollectible" for i in answer["invoices"])
    assert both_agree()["summary"][b.currency["id"]]["amount"] == str(800 + 7)
    # The currency and method in the summary are the current ones too.
    body(two.put(f"/api/payment-currencies/{b.currency['id']}", json={"symbol": "XUS"}), 200)
    body(two.put(f"/api/payment-methods/{b.method['id']}", json={"name": "Renamed"}), 200)
    entry = both_agree()["summary"][b.currency["id"]]
    assert entry["currency"] == get(one, f"/api/payment-currencies/{b.currency['id']}")
    assert entry["method"] == get(one, f"/api/payment-methods/{b.method['id']}")
    assert (entry["currency"]["symbol"], entry["method"]["name"]) == ("XUS", "Renamed")
    body(pay(two, first["id"]), 200)
    answer = both_agree()
    assert answer["summary"][b.currency["id"]]["amount"] == "7"
    assert len(answer["invoices"]) == 1 and answer["customer"]["delinquent"] is True


# -- delinquent ---------------------------------------------------------------------------------


def delinquent(api: API, customer_id: str) -> bool:
    flag: bool = get(api, f"/api/customers/{customer_id}")["delinquent"]
    return flag


def test_delinquent_while_an_invoice_is_uncollectible(api: API) -> None:
    b = Billing(api)
    cid = b.customer["id"]
    assert delinquent(api, cid) is False
    first = b.invoice_in("open", "100")
    assert delinquent(api, cid) is False
    body(act(api, first["id"], "mark_uncollectible"), 200)
    assert delinquent(api, cid) is True
    body(pay(api, first["id"], "40"), 200)
    assert delinquent(api, cid) is True  # a partial payment leaves it uncollectible
    second = b.invoice_in("uncollectible", "100")
    body(pay(api, first["id"]), 200)  # paid in full
    assert delinquent(api, cid) is True  # the second one is still uncollectible
    body(act(api, second["id"], "void"), 200)
    assert delinquent(api, cid) is False
    customers = body(api.get("/api/customers", params={"did": b.customer["did"]}), 200)
    assert customers["list"][0]["delinquent"] is False


def test_delinquent_ends_when_paid_in_full(api: API) -> None:
    b = Billing(api)
    inv = b.invoice_in("uncollectible", "100")
    assert delinquent(api, b.customer["id"]) is True
    other = make_customer(api)
    assert delinquent(api, other["id"]) is False
    body(pay(api, inv["id"], "100"), 200)
    assert delinquent(api, b.customer["id"]) is False


# -- delete -------------------------------------------------------------------------------------


def assert_delete_refused(api: API, customer_id: str) -> None:
    before = get(api, f"/api/customers/{customer_id}")
    assert_error(api.delete(f"/api/customers/{customer_id}"), 409, "invalid_state")
    assert get(api, f"/api/customers/{customer_id}") == before


def assert_deleted(api: API, customer_id: str) -> None:
    r = api.delete(f"/api/customers/{customer_id}")
    assert body(r, 200) == {"id": customer_id, "object": "customer", "deleted": True}
    assert_error(api.get(f"/api/customers/{customer_id}"), 404, "resource_missing")


@pytest.mark.parametrize("status", ["draft", "open", "uncollectible"])
def test_delete_refused_while_an_invoice_is_not_paid_or_void(api: API, status: str) -> None:
    b = Billing(api)
    inv = b.invoice_in(status)
    assert_delete_refused(api, b.customer["id"])
    if status == "draft":  # a draft could still be finalized into debt
        body(act(api, inv["id"], "finalize"), 200)
        assert_delete_refused(api, b.customer["id"])
    body(act(api, inv["id"], "void"), 200)
    assert_deleted(api, b.customer["id"])


@pytest.mark.parametrize("status", ["active", "past_due", "paused", "incomplete", "trialing"])
def test_delete_refused_while_a_subscription_is_not_ended(api: API, status: str) -> None:
    b = Billing(api)
    sub = make_subscription(api, b.customer["id"], b.currency["id"], status=status)
    assert_delete_refused(api, b.customer["id"])
    body(api.put(f"/api/subscriptions/{sub['id']}/cancel"), 200)
    assert_deleted(api, b.customer["id"])


def test_delete_allowed_with_only_settled_billing(api: API) -> None:
    b = Billing(api)
    assert body(act(api, b.invoice("0")["id"], "finalize"), 200)["status"] == "paid"
    b.invoice_in("paid")
    b.invoice_in("void")
    paid_late = b.invoice_in("uncollectible")
    body(pay(api, paid_late["id"]), 200)
    canceled = make_subscription(api, b.customer["id"], b.currency["id"])
    body(api.put(f"/api/subscriptions/{canceled['id']}/cancel"), 200)
    make_subscription(api, b.customer["id"], b.currency["id"], status="incomplete_expired")
    assert_deleted(api, b.customer["id"])


def test_delete_is_refused_until_paid(api: API) -> None:
    b = Billing(api)
    inv = b.invoice_in("uncollectible", "100")
    body(pay(api, inv["id"], "99"), 200)
    assert_delete_refused(api, b.customer["id"])
    body(pay(api, inv["id"], "1"), 200)
    assert_deleted(api, b.customer["id"])
