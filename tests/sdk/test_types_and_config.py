"""Typed objects (amounts as int, unknown fields kept, wire form back) and client configuration."""

from __future__ import annotations

import httpx
import pytest

from paymentkit import (
    AsyncPaymentKit,
    ConfigurationError,
    Customer,
    Invoice,
    OverdueInvoices,
    PaymentKit,
)
from tests.sdk.test_paging import _customer

pytestmark = pytest.mark.anyio


def _invoice(**extra: object) -> dict[str, object]:
    return {
        "id": "in_1",
        "object": "invoice",
        "customer_id": "cus_1",
        "currency_id": "pc_1",
        "subscription_id": None,
        "status": "open",
        "amount_due": "340282366920938463463374607431768211457",
        "amount_paid": "0",
        "amount_remaining": "340282366920938463463374607431768211457",
        "due_date": None,
        "period_start": None,
        "period_end": None,
        "description": None,
        "status_transitions": {
            "finalized_at": 1700000000,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "livemode": False,
        "metadata": {"order": "7"},
        "created_at": "2024-01-01T00:00:00.000Z",
        "updated_at": "2024-01-01T00:00:00.000Z",
        **extra,
    }


def test_amounts_are_exact_ints_and_strings_again_on_the_wire() -> None:
    wire = _invoice()
    invoice = Invoice.from_wire(wire)
    assert invoice.amount_due == 2**128 + 1 and type(invoice.amount_due) is int
    assert invoice.status_transitions.finalized_at == 1700000000
    assert invoice.to_dict() == wire


def test_unknown_fields_a_newer_server_adds_are_kept() -> None:
    wire = _customer("cus_1") | {"tax_ids": ["x"], "to_dict": "clash", "class": 1}
    wire["address"] = {"country": "US", "plus_code": "87G8"}
    customer = Customer.from_wire(wire)
    assert customer.tax_ids == ["x"]  # type: ignore[attr-defined]
    assert customer.extra_fields == {"tax_ids": ["x"], "to_dict": "clash", "class": 1}
    assert callable(customer.to_dict)  # a field named like a method does not shadow it
    assert customer.address is not None and customer.address.extra_fields == {"plus_code": "87G8"}
    assert customer.to_dict()["address"] == {
        "country": "US",
        "state": None,
        "city": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "plus_code": "87G8",
    }
    assert customer.to_dict() | {"address": wire["address"]} == wire


def test_nested_objects_and_renamed_fields() -> None:
    currency = {
        "id": "pc_1",
        "object": "payment_currency",
        "payment_method_id": "pm_1",
        "name": "Token",
        "symbol": "TKN",
        "decimal": 18,
        "active": True,
        "livemode": False,
        "metadata": {},
        "created_at": "t",
        "updated_at": "t",
        "chain": "base",
    }
    method = {
        "id": "pm_1",
        "object": "payment_method",
        "type": "base",
        "name": "Base",
        "description": None,
        "active": True,
        "settings": {},
        "livemode": False,
        "metadata": {},
        "created_at": "t",
        "updated_at": "t",
    }
    wire = {
        "customer": _customer("cus_1"),
        "invoices": [_invoice()],
        "summary": {"pc_1": {"amount": "10" + "0" * 30, "currency": currency, "method": method}},
        "subscriptionCount": 2,
    }
    overdue = OverdueInvoices.from_wire(wire)
    assert overdue.subscription_count == 2
    assert overdue.summary["pc_1"].amount == 10**31
    assert overdue.summary["pc_1"].currency.extra_fields == {"chain": "base"}
    assert overdue.to_dict() == wire


def test_objects_made_by_hand_have_a_wire_form() -> None:
    customer = Customer(id="cus_1", livemode=False, balance=5, created_at="t", updated_at="t")
    assert customer.to_dict()["balance"] == "5" and customer.to_dict()["metadata"] == {}
    assert customer.extra_fields == {}


def test_a_missing_api_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYMENTKIT_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="PAYMENTKIT_API_KEY"):
        PaymentKit()
    with pytest.raises(ConfigurationError, match="PAYMENTKIT_API_KEY"):
        AsyncPaymentKit(api_key="")
    with pytest.raises(ConfigurationError, match="base_url"):
        PaymentKit("sk_test_x", base_url="localhost:8080")


def test_the_environment_and_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYMENTKIT_BASE_URL", raising=False)
    monkeypatch.setenv("PAYMENTKIT_API_KEY", "sk_test_env")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_customer("cus_1"))

    with PaymentKit(transport=httpx.MockTransport(handler)) as pk:
        assert pk.base_url == "http://127.0.0.1:8080" and pk.max_retries == 2
        pk.customers.retrieve("did:abt:z1")
    assert seen[0].headers["authorization"] == "Bearer sk_test_env"
    assert str(seen[0].url) == "http://127.0.0.1:8080/api/customers/did:abt:z1"
    assert seen[0].headers["user-agent"].startswith("paymentkit-python/")

    monkeypatch.setenv("PAYMENTKIT_BASE_URL", "http://pk.internal:9000/")
    with PaymentKit("sk_test_arg", transport=httpx.MockTransport(handler)) as pk:
        assert pk.base_url == "http://pk.internal:9000"
        pk.customers.retrieve("cus 1/2")
    assert seen[1].headers["authorization"] == "Bearer sk_test_arg"
    assert seen[1].url.raw_path == b"/api/customers/cus%201%2F2"
    assert "sk_test_arg" not in repr(pk)


def test_the_client_closes_its_connections_but_not_a_borrowed_client() -> None:
    with PaymentKit("sk_test_x") as pk:
        inner = pk._transport._http
    assert inner.is_closed
    borrowed = httpx.Client()
    with PaymentKit("sk_test_x", http_client=borrowed):
        pass
    assert not borrowed.is_closed
    borrowed.close()


async def test_the_async_client_closes_its_connections() -> None:
    async with AsyncPaymentKit("sk_test_x") as apk:
        inner = apk._transport._http
    assert inner.is_closed
