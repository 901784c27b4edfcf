"""Every method of invoices, subscriptions, payment_methods and payment_currencies, on both
clients, against the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from paymentkit import (
    ConflictError,
    InvalidRequestError,
    Invoice,
    NotFoundError,
    PaymentCurrency,
    PaymentMethod,
    StatusTransitions,
    Subscription,
)
from tests.sdk.conftest import Both

pytestmark = pytest.mark.anyio


async def _setup(client: Both) -> tuple[Any, PaymentMethod, PaymentCurrency]:
    pk, r = client.pk, client.resolve
    customer = await r(pk.customers.create(name="Jane"))
    method = await r(
        pk.payment_methods.create(
            type="stripe", name="Stripe", settings={"secret_key": "sk_live_x"}
        )
    )
    currency = await r(
        pk.payment_currencies.create(
            payment_method_id=method.id, name="US Dollar", symbol="USD", decimal=2
        )
    )
    return customer, method, currency


async def test_payment_methods(client: Both) -> None:
    pk, r = client.pk, client.resolve
    _, method, _ = await _setup(client)
    assert isinstance(method, PaymentMethod)
    assert method.settings == {"secret_key": "[redacted]"} and method.active is True
    assert await r(pk.payment_methods.retrieve(method.id)) == method
    updated = await r(
        pk.payment_methods.update(
            method.id, name="Stripe EU", active=False, settings={"webhook": "whsec"}
        )
    )
    assert updated.name == "Stripe EU" and updated.active is False
    assert updated.settings == {"secret_key": "[redacted]", "webhook": "[redacted]"}
    second = await r(pk.payment_methods.create(type="arcblock", name="ABT"))
    page = await r(pk.payment_methods.list(page_size=1))
    assert page.count == 2 and [m.id for m in page.data] == [second.id]
    assert [m.id for m in await client.collect(page)] == [second.id, method.id]
    card = await r(pk.payment_methods.create(type="card", name="Card"))  # any identifier
    assert card.type == "card"
    with pytest.raises(InvalidRequestError) as info:
        await r(pk.payment_methods.create(type="Pay Pal", name="x"))
    assert info.value.param == "type"


async def test_payment_currencies(client: Both) -> None:
    pk, r = client.pk, client.resolve
    _, method, currency = await _setup(client)
    assert (currency.symbol, currency.decimal, currency.payment_method_id) == ("USD", 2, method.id)
    assert await r(pk.payment_currencies.retrieve(currency.id)) == currency
    updated = await r(pk.payment_currencies.update(currency.id, symbol="USDX", metadata={"a": 1}))
    assert updated.symbol == "USDX" and updated.metadata == {"a": 1}
    page = await r(pk.payment_currencies.list())
    assert [c.id for c in page.data] == [currency.id]
    with pytest.raises(NotFoundError):
        await r(pk.payment_currencies.retrieve("pc_missing"))


async def test_subscriptions(client: Both) -> None:
    pk, r = client.pk, client.resolve
    customer, _, currency = await _setup(client)
    sub = await r(
        pk.subscriptions.create(
            customer_id=customer.id, currency_id=currency.id, metadata={"plan": "pro"}
        )
    )
    assert isinstance(sub, Subscription)
    assert sub.status == "active" and sub.canceled_at is None
    trial = await r(
        pk.subscriptions.create(customer_id=customer.id, currency_id=currency.id, status="trialing")
    )
    assert await r(pk.subscriptions.retrieve(sub.id)) == sub
    canceled = await r(pk.subscriptions.cancel(sub.id))
    assert canceled.status == "canceled" and isinstance(canceled.canceled_at, int)
    with pytest.raises(ConflictError) as info:
        await r(pk.subscriptions.cancel(sub.id))
    assert info.value.code == "invalid_state"
    listed = await r(pk.subscriptions.list(customer_id=customer.id, status="trialing"))
    assert [s.id for s in listed.data] == [trial.id]
    assert (await r(pk.subscriptions.list(order="created_at:ASC"))).data[0].id == sub.id
    with pytest.raises(InvalidRequestError) as missing:
        await r(pk.subscriptions.create(customer_id="cus_nobody", currency_id=currency.id))
    assert (missing.value.code, missing.value.param) == ("resource_missing", "customer_id")


async def test_invoices_and_their_transitions(client: Both) -> None:
    pk, r = client.pk, client.resolve
    customer, _, currency = await _setup(client)
    sub = await r(pk.subscriptions.create(customer_id=customer.id, currency_id=currency.id))
    big = 2**70 + 1  # beyond 64 bits: exact all the way
    invoice = await r(
        pk.invoices.create(
            customer_id=customer.id,
            currency_id=currency.id,
            amount_due=big,
            subscription_id=sub.id,
            description="Pro plan",
            due_date=1_900_000_000,
            period_start=1_800_000_000,
            period_end=1_800_100_000,
            metadata={"order": "A-1"},
        )
    )
    assert isinstance(invoice, Invoice)
    assert invoice.status == "draft" and invoice.amount_due == big
    assert (invoice.amount_paid, invoice.amount_remaining) == (0, big)
    assert invoice.status_transitions == StatusTransitions()
    assert invoice.to_dict()["amount_due"] == str(big)
    assert await r(pk.invoices.retrieve(invoice.id)) == invoice

    opened = await r(pk.invoices.finalize(invoice.id))
    assert opened.status == "open" and opened.status_transitions.finalized_at is not None
    part = await r(pk.invoices.pay(invoice.id, amount="1000"))
    assert (part.amount_paid, part.amount_remaining) == (1000, big - 1000)
    with pytest.raises(InvalidRequestError) as too_much:
        await r(pk.invoices.pay(invoice.id, amount=big))
    assert too_much.value.param == "amount"
    with pytest.raises(TypeError):
        await r(pk.invoices.pay(invoice.id, amount=1.5))  # type: ignore[arg-type]
    uncollectible = await r(pk.invoices.mark_uncollectible(invoice.id))
    assert uncollectible.status == "uncollectible"
    assert (await r(pk.customers.retrieve(customer.id))).delinquent is True
    paid = await r(pk.invoices.pay(invoice.id))
    assert paid.status == "paid" and paid.amount_remaining == 0
    with pytest.raises(ConflictError):
        await r(pk.invoices.void(invoice.id))

    other = await r(
        pk.invoices.create(customer_id=customer.id, currency_id=currency.id, amount_due=700)
    )
    await r(pk.invoices.finalize(other.id))
    voided = await r(pk.invoices.void(other.id))
    assert voided.status == "void" and voided.status_transitions.voided_at is not None

    assert [i.id for i in (await r(pk.invoices.list(status="void"))).data] == [other.id]
    by_sub = await r(pk.invoices.list(subscription_id=sub.id, customer_id=customer.id))
    assert [i.id for i in by_sub.data] == [invoice.id]
    by_currency = await r(pk.invoices.list(currency_id=currency.id, order="created_at:ASC"))
    assert [i.id for i in by_currency.data] == [invoice.id, other.id]
