"""Checked by mypy --strict in test_typing.py (never imported by pytest): one resource method,
written once, types as a plain call on PaymentKit and as an awaitable on AsyncPaymentKit."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Literal, assert_type

from paymentkit import (
    AsyncPaymentKit,
    Customer,
    DeletedObject,
    Event,
    Invoice,
    OverdueInvoices,
    Page,
    PaymentCurrency,
    PaymentKit,
    PaymentMethod,
    Subscription,
    WebhookAttempt,
    WebhookEndpoint,
)


def sync_calls(pk: PaymentKit) -> None:
    assert_type(pk.customers.retrieve("cus_x"), Customer)
    assert_type(pk.customers.create(name="Ada", metadata={"tier": "gold"}), Customer)
    assert_type(pk.customers.update("cus_x", email=None), Customer)
    assert_type(pk.customers.delete("cus_x"), DeletedObject)
    assert_type(pk.customers.overdue_invoices("cus_x"), OverdueInvoices)
    page = pk.customers.list(page_size=10, metadata={"tier": "gold"})
    assert_type(page, Page[Customer])
    assert_type(page.data, list[Customer])
    for customer in page.auto_paging_iter():
        assert_type(customer, Customer)
    assert_type(pk.customers.search("ada", page=2), Page[Customer])
    after = pk.customers.list(starting_after="cus_x", limit=50, email="a@example.com")
    assert_type(after, Page[Customer])
    assert_type(after.has_more, bool)
    assert_type(after.count_is_exact, bool)
    assert_type(after.direction, Literal["forward", "backward"])
    assert_type(pk.customers.search("ada", ending_before="cus_x"), Page[Customer])
    assert_type(pk.invoices.list(starting_after="in_x", status="open"), Page[Invoice])
    assert_type(pk.subscriptions.list(ending_before="sub_x", limit=5), Page[Subscription])
    assert_type(pk.payment_methods.list(starting_after="pm_x"), Page[PaymentMethod])
    assert_type(pk.payment_currencies.list(limit=10), Page[PaymentCurrency])
    invoice = pk.invoices.pay("in_x", amount=10**30)
    assert_type(invoice, Invoice)
    assert_type(invoice.amount_remaining, int)
    assert_type(pk.subscriptions.cancel("sub_x"), Subscription)
    overdue = pk.customers.overdue_invoices("cus_x")
    assert_type(overdue.summary["pc_x"].amount, int)
    # The real keyword signature is checked:
    pk.customers.retrieve(idd="cus_x")  # type: ignore[call-arg]
    pk.customers.list(pageSize=10)  # type: ignore[call-arg]
    pk.customers.list(limit="10")  # type: ignore[arg-type]
    pk.invoices.list(starting_after=None)  # type: ignore[arg-type]
    pk.customers.list(startingAfter="cus_x")  # type: ignore[call-arg]
    pk.invoices.create(customer_id="c", currency_id="p", amount_due=1.5)  # type: ignore[arg-type]
    pk.customers.retrieve("cus_x").nmae  # type: ignore[attr-defined]
    events = pk.events.list(type="invoice.*", created_gte=1_700_000_000, limit=10)
    assert_type(events, Page[Event])
    for event in events.auto_paging_iter():
        assert_type(event.data.object, dict[str, Any])
    assert_type(pk.events.retrieve("evt_x"), Event)
    assert_type(pk.events.resend("evt_x", webhook_endpoint_id="we_x"), Event)
    made = pk.webhook_endpoints.create(url="https://x.test", enabled_events=["*"])
    assert_type(made, WebhookEndpoint)
    assert_type(made.secret, str | None)
    assert_type(pk.webhook_endpoints.update("we_x", status="disabled"), WebhookEndpoint)
    assert_type(pk.webhook_endpoints.list(page_size=5), Page[WebhookEndpoint])
    assert_type(pk.webhook_endpoints.delete("we_x"), WebhookEndpoint)
    assert_type(pk.webhook_endpoints.rotate_secret("we_x"), WebhookEndpoint)
    assert_type(pk.webhook_endpoints.attempts("we_x", limit=5), Page[WebhookAttempt])
    pk.webhook_endpoints.create(url="https://x.test")  # type: ignore[call-arg]
    pk.webhook_endpoints.update("we_x", status="paused")  # type: ignore[arg-type]
    pk.events.list(created_gte=1.5)  # type: ignore[arg-type]


async def async_calls(apk: AsyncPaymentKit) -> None:
    assert_type(apk.customers.retrieve("cus_x"), Awaitable[Customer])
    assert_type(await apk.customers.retrieve("cus_x"), Customer)
    assert_type(await apk.customers.update("cus_x", name="Ada"), Customer)
    page = await apk.customers.list(page_size=10)
    assert_type(page, Page[Customer])
    async for customer in page.auto_paging_iter():
        assert_type(customer, Customer)
    assert_type(apk.customers.list(ending_before="cus_x", limit=5), Awaitable[Page[Customer]])
    back = await apk.invoices.list(ending_before="in_x")
    async for invoice in back.auto_paging_iter():
        assert_type(invoice, Invoice)
    assert_type(await apk.invoices.finalize("in_x"), Invoice)
    assert_type(await apk.customers.overdue_invoices("cus_x"), OverdueInvoices)
    apk.customers.retrieve(idd="cus_x")  # type: ignore[call-arg]
    assert_type(apk.events.retrieve("evt_x"), Awaitable[Event])
    attempts = await apk.webhook_endpoints.attempts("we_x")
    async for attempt in attempts.auto_paging_iter():
        assert_type(attempt, WebhookAttempt)
    assert_type(await apk.webhook_endpoints.rotate_secret("we_x"), WebhookEndpoint)
