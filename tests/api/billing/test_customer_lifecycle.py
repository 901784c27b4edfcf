"""A customer's life against its billing objects (customers/lifecycle.py, README "API notes"):
a deleted customer takes no invoices or subscriptions and its invoices do not move, and a DELETE
racing invoice and subscription writes from two apps on one database never leaves a deleted
customer with an unsettled invoice or a live subscription."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from paymentkit.server.db.engine import Database
from paymentkit.server.ids import now_ms
from tests.api.billing.helpers import (
    ACTIONS,
    Billing,
    act,
    assert_error,
    body,
    get_invoice,
    invoice_in,
    list_all,
    make_customer,
    make_invoice,
)
from tests.conftest import API

ROUNDS = 8
SETTLED = {"paid", "void"}
ENDED = {"canceled", "incomplete_expired"}


def create_invoice(api: API, customer_id: str, currency_id: str) -> Any:
    return api.post(
        "/api/invoices",
        json={"customer_id": customer_id, "currency_id": currency_id, "amount_due": "700"},
    )


def test_no_invoice_for_a_deleted_customer(api: API) -> None:
    b = Billing(api)
    gone = make_customer(api)
    body(api.delete(f"/api/customers/{gone['id']}"), 200)
    r = create_invoice(api, gone["id"], b.currency["id"])
    assert_error(r, 400, "resource_missing", "customer_id")
    assert list_all(api, "/api/invoices", customer_id=gone["id"])["list"] == []


def test_no_subscription_for_a_deleted_customer(api: API) -> None:
    b = Billing(api)
    gone = make_customer(api)
    body(api.delete(f"/api/customers/{gone['id']}"), 200)
    r = api.post(
        "/api/subscriptions", json={"customer_id": gone["id"], "currency_id": b.currency["id"]}
    )
    assert_error(r, 400, "resource_missing", "customer_id")
    assert list_all(api, "/api/subscriptions", customer_id=gone["id"])["list"] == []


@pytest.mark.parametrize("status", ["draft", "open", "uncollectible"])
def test_invoices_of_a_deleted_customer_do_not_move(api: API, db: Database, status: str) -> None:
    # A database written before the delete rule can hold a deleted customer with unsettled
    # invoices; none of them may change any more (the overdue route 404s for that customer).
    b = Billing(api)
    invoice = b.invoice_in(status)
    db.run_sync(
        lambda tx: tx.execute(
            "UPDATE customers SET deleted_at = ? WHERE id = ?", (now_ms(), b.customer["id"])
        ),
        write=True,
    )
    for action in ACTIONS:
        err = assert_error(act(api, invoice["id"], action), 409, "invalid_state")
        assert b.customer["id"] in err["error"]
        assert get_invoice(api, invoice["id"]) == invoice
    assert_error(act(api, "in_missing", "finalize"), 404, "resource_missing")


# -- races ------------------------------------------------------------------------------------


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at once (threads released together); their responses in order."""
    barrier = threading.Barrier(len(calls))

    def fire(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(fire, calls))


def delete(api: API, customer_id: str) -> Callable[[], Any]:
    return lambda: api.delete(f"/api/customers/{customer_id}")


def assert_integrity(api: API, customer_id: str) -> bool:
    """The invariant: a deleted customer has only paid or void invoices and only ended
    subscriptions. Whether the customer is deleted."""
    r = api.get(f"/api/customers/{customer_id}")
    assert r.status_code in (200, 404), r.text
    if r.status_code == 200:
        return False
    statuses = {
        i["status"] for i in list_all(api, "/api/invoices", customer_id=customer_id)["list"]
    }
    assert statuses <= SETTLED, statuses
    subs = {
        s["status"] for s in list_all(api, "/api/subscriptions", customer_id=customer_id)["list"]
    }
    assert subs <= ENDED, subs
    return True


def deleted_once(responses: list[Any]) -> bool:
    """Racing deletes: at most one 200; the others 404 (after it) or 409 (the rule)."""
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 404, 409}, [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert r.json()["code"] == "invalid_state", r.text
    assert statuses.count(200) <= 1
    return 200 in statuses


@pytest.mark.timeout(180)
def test_delete_racing_invoice_creation(two_apps: tuple[API, API]) -> None:
    one, two = two_apps
    b = Billing(one)
    for _ in range(ROUNDS):
        customer = make_customer(one)
        cid = customer["id"]
        creates = [
            lambda api=api: create_invoice(api, cid, b.currency["id"]) for api in (one, two) * 2
        ]
        responses = race([delete(one, cid), delete(two, cid), *creates])
        deleted = deleted_once(responses[:2])
        created = [r for r in responses[2:] if r.status_code == 201]
        for r in responses[2:]:
            if r.status_code != 201:
                assert_error(r, 400, "resource_missing", "customer_id")
        # A draft made before the delete blocks it; one made after it is refused.
        assert deleted != bool(created), [r.text for r in responses]
        assert assert_integrity(one, cid) == deleted


@pytest.mark.timeout(180)
def test_delete_racing_finalize_never_leaves_debt(two_apps: tuple[API, API]) -> None:
    # The reported bug: a customer with only a draft was deleted, the draft then finalized and
    # marked uncollectible. A draft now blocks the delete, whatever the order.
    one, two = two_apps
    b = Billing(one)
    for _ in range(ROUNDS):
        customer = make_customer(one)
        cid = customer["id"]
        draft = make_invoice(one, cid, b.currency["id"])
        responses = race(
            [
                delete(one, cid),
                delete(two, cid),
                lambda: act(two, draft["id"], "finalize"),
                lambda: act(one, draft["id"], "mark_uncollectible"),
            ]
        )
        assert not deleted_once(responses[:2])
        assert responses[2].status_code == 200, responses[2].text
        assert responses[3].status_code in (200, 409), responses[3].text
        assert not assert_integrity(one, cid)
        assert get_invoice(one, draft["id"])["status"] in ("open", "uncollectible")


@pytest.mark.timeout(180)
def test_delete_racing_settlement(two_apps: tuple[API, API]) -> None:
    # An open invoice being paid, voided or marked uncollectible while the customer is deleted:
    # the delete succeeds only when it runs after the invoice is settled.
    one, two = two_apps
    b = Billing(one)
    for round_no in range(ROUNDS):
        customer = make_customer(one)
        cid = customer["id"]
        invoice = invoice_in(one, make_invoice(one, cid, b.currency["id"]), "open")
        settle = "pay" if round_no % 2 else "void"
        responses = race(
            [
                delete(one, cid),
                delete(two, cid),
                lambda: act(two, invoice["id"], settle),
                lambda: act(one, invoice["id"], "mark_uncollectible"),
                delete(two, cid),
            ]
        )
        deleted = deleted_once([responses[0], responses[1], responses[4]])
        for r in responses[2:4]:
            assert r.status_code in (200, 409), r.text
        final = get_invoice(one, invoice["id"])
        if deleted:
            assert final["status"] in SETTLED
        assert assert_integrity(one, cid) == deleted


@pytest.mark.timeout(180)
def test_delete_racing_subscription_creation(two_apps: tuple[API, API]) -> None:
    one, two = two_apps
    b = Billing(one)
    for _ in range(ROUNDS):
        customer = make_customer(one)
        cid = customer["id"]
        payload = {"customer_id": cid, "currency_id": b.currency["id"]}
        responses = race(
            [
                delete(one, cid),
                lambda: two.post("/api/subscriptions", json=payload),
                delete(two, cid),
                lambda: one.post("/api/subscriptions", json=payload),
            ]
        )
        deleted = deleted_once([responses[0], responses[2]])
        created = [r for r in (responses[1], responses[3]) if r.status_code == 201]
        for r in (responses[1], responses[3]):
            if r.status_code != 201:
                assert_error(r, 400, "resource_missing", "customer_id")
        assert deleted != bool(created), [r.text for r in responses]
        assert assert_integrity(two, cid) == deleted
    # Once canceled, the live subscriptions no longer block the delete.
    for sub in list_all(one, "/api/subscriptions", customer_id=cid)["list"]:
        body(one.put(f"/api/subscriptions/{sub['id']}/cancel"), 200)
    if assert_integrity(one, cid) is False:
        body(one.delete(f"/api/customers/{cid}"), 200)
    assert assert_integrity(one, cid)
