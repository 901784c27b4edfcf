"""Small builders and checks shared by the billing tests (API.md, "Billing objects behind it").

Every JSON body goes through `body()`, which refuses any float literal (money and counts are never
floats on the wire) and checks `amount_remaining == amount_due - amount_paid` on every invoice.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from tests.conftest import API

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")
ACTIONS = ("finalize", "pay", "mark_uncollectible", "void")
SUBSCRIPTION_STATUSES = (
    "active",
    "past_due",
    "paused",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "trialing",
)
# The status_transitions member each action sets.
TIMESTAMP_OF = {
    "finalize": "finalized_at",
    "pay": "paid_at",
    "mark_uncollectible": "marked_uncollectible_at",
    "void": "voided_at",
}


class FloatInResponse(AssertionError):
    pass


def _no_float(text: str) -> Any:
    raise FloatInResponse(f"a float appears in a response body: {text}")


def parse(text: str) -> Any:
    """JSON text as Python values; any float (or NaN/Infinity) literal fails the test."""
    return json.loads(text, parse_float=_no_float, parse_constant=_no_float)


def body(r: Any, status: int | None = None) -> Any:
    """The response's JSON body, after checking the status code (when given), that no float
    appears anywhere in it, and that every invoice in it has remaining = due - paid."""
    if status is not None:
        assert r.status_code == status, f"{r.status_code} != {status}: {r.text}"
    value = parse(r.text)
    _check_invoices(value)
    return value


def _check_invoices(value: Any) -> None:
    if isinstance(value, dict):
        if value.get("object") == "invoice":
            assert_consistent(value)
        for item in value.values():
            _check_invoices(item)
    elif isinstance(value, list):
        for item in value:
            _check_invoices(item)


def assert_error(r: Any, status: int, code: str, param: str | None = None) -> dict[str, Any]:
    """A flat error body with this status, code and param (API.md, Errors)."""
    assert r.status_code == status, f"{r.status_code} != {status}: {r.text}"
    err: dict[str, Any] = body(r)
    assert set(err) == {"code", "error", "param", "request_id"}, err
    assert err["code"] == code, err
    assert err["param"] == param, err
    assert isinstance(err["error"], str) and err["error"], err
    assert err["request_id"] == r.headers["x-request-id"], err
    return err


def new_did() -> str:
    return "z" + "".join(secrets.choice(BASE58) for _ in range(35))


def now_s() -> int:
    return time.time_ns() // 1_000_000_000


# -- builders -----------------------------------------------------------------------------------


def make_method(api: API, **fields: Any) -> dict[str, Any]:
    payload = {"type": "stripe", "name": "Stripe", **fields}
    method: dict[str, Any] = body(api.post("/api/payment-methods", json=payload), 201)
    return method


def make_currency(api: API, method_id: str | None = None, **fields: Any) -> dict[str, Any]:
    if method_id is None:
        method_id = make_method(api)["id"]
    payload = {
        "payment_method_id": method_id,
        "name": "US Dollar",
        "symbol": "USD",
        "decimal": 2,
        **fields,
    }
    currency: dict[str, Any] = body(api.post("/api/payment-currencies", json=payload), 201)
    return currency


def make_customer(api: API, **fields: Any) -> dict[str, Any]:
    payload = {"did": new_did(), "name": "Ada", **fields}
    customer: dict[str, Any] = body(api.post("/api/customers", json=payload), 201)
    return customer


def make_subscription(
    api: API, customer_id: str, currency_id: str, **fields: Any
) -> dict[str, Any]:
    payload = {"customer_id": customer_id, "currency_id": currency_id, **fields}
    sub: dict[str, Any] = body(api.post("/api/subscriptions", json=payload), 201)
    return sub


def make_invoice(
    api: API, customer_id: str, currency_id: str, amount_due: Any = "1000", **fields: Any
) -> dict[str, Any]:
    payload = {
        "customer_id": customer_id,
        "currency_id": currency_id,
        "amount_due": amount_due,
        **fields,
    }
    invoice: dict[str, Any] = body(api.post("/api/invoices", json=payload), 201)
    return invoice


class Billing:
    """One method, currency and customer of the API's mode, ready for invoices."""

    def __init__(self, api: API) -> None:
        self.api = api
        self.method = make_method(api)
        self.currency = make_currency(api, self.method["id"])
        self.customer = make_customer(api)

    def invoice(self, amount_due: Any = "1000", **fields: Any) -> dict[str, Any]:
        return make_invoice(
            self.api, self.customer["id"], self.currency["id"], amount_due, **fields
        )

    def invoice_in(self, status: str, amount_due: Any = "1000", **fields: Any) -> dict[str, Any]:
        return invoice_in(self.api, self.invoice(amount_due, **fields), status)


# -- invoice actions ----------------------------------------------------------------------------


def act(api: API, invoice_id: str, action: str, payload: Any = None) -> Any:
    """POST /api/invoices/{id}/{action}; the raw response."""
    if payload is None:
        return api.post(f"/api/invoices/{invoice_id}/{action}")
    return api.post(f"/api/invoices/{invoice_id}/{action}", json=payload)


def do(api: API, invoice_id: str, action: str, payload: Any = None) -> dict[str, Any]:
    """An action that must succeed; the invoice it answers with."""
    invoice: dict[str, Any] = body(act(api, invoice_id, action, payload), 200)
    return invoice


def pay(api: API, invoice_id: str, amount: Any = None) -> Any:
    return act(api, invoice_id, "pay", None if amount is None else {"amount": amount})


def get_invoice(api: API, invoice_id: str) -> dict[str, Any]:
    invoice: dict[str, Any] = body(api.get(f"/api/invoices/{invoice_id}"), 200)
    return invoice


def invoice_in(api: API, invoice: dict[str, Any], status: str) -> dict[str, Any]:
    """Drive a fresh draft invoice to `status` through the public transitions."""
    steps = {
        "draft": [],
        "open": ["finalize"],
        "paid": ["finalize", "pay"],
        "uncollectible": ["finalize", "mark_uncollectible"],
        "void": ["finalize", "void"],
    }[status]
    for step in steps:
        invoice = do(api, invoice["id"], step)
    assert invoice["status"] == status
    return invoice


def uncollectible(api: API, invoice: dict[str, Any], *payments: Any) -> dict[str, Any]:
    """Finalize, make uncollectible, then make the given partial payments."""
    invoice = invoice_in(api, invoice, "uncollectible")
    for amount in payments:
        invoice = body(pay(api, invoice["id"], amount), 200)
    assert invoice["status"] == "uncollectible"
    return invoice


def assert_amounts(invoice: dict[str, Any], due: int, paid: int) -> None:
    """Exact money: decimal strings, remaining = due - paid."""
    for name in ("amount_due", "amount_paid", "amount_remaining"):
        assert isinstance(invoice[name], str), invoice
    assert invoice["amount_due"] == str(due), invoice
    assert invoice["amount_paid"] == str(paid), invoice
    assert invoice["amount_remaining"] == str(due - paid), invoice


def assert_consistent(invoice: dict[str, Any]) -> None:
    due, paid, remaining = (
        int(invoice["amount_due"]),
        int(invoice["amount_paid"]),
        int(invoice["amount_remaining"]),
    )
    assert remaining == due - paid, invoice
    assert 0 <= paid <= due, invoice


def list_all(api: API, path: str, **params: Any) -> dict[str, Any]:
    page: dict[str, Any] = body(api.get(path, params={"pageSize": 100, **params}), 200)
    return page


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["list"]]
