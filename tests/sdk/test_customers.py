"""Every customers method, on both clients, against the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from paymentkit import (
    Address,
    ConflictError,
    Customer,
    DeletedObject,
    InvalidRequestError,
    NotFoundError,
    OverdueInvoices,
    Page,
)
from tests.sdk.conftest import Both

pytestmark = pytest.mark.anyio

DID = "zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ"


async def test_create_retrieve_update_delete(client: Both) -> None:
    pk, r = client.pk, client.resolve
    created = await r(
        pk.customers.create(
            did=f"did:abt:{DID}",
            name="  John Doe ",
            email="john.doe@example.com",
            phone="+15551234567",
            address={"country": "us", "city": "Seattle", "line1": "123 Main St"},
            description="Loyal",
            metadata={"tier": "gold", "n": 3, "vip": True},
        )
    )
    assert isinstance(created, Customer)
    assert created.id.startswith("cus_")
    assert created.did == DID and created.name == "John Doe"
    assert created.phone == "+15551234567"
    assert created.address == Address(country="US", city="Seattle", line1="123 Main St")
    assert created.metadata == {"tier": "gold", "n": 3, "vip": True}
    assert created.balance == 0 and isinstance(created.balance, int)
    assert created.delinquent is False and created.livemode is False
    wire = created.to_dict()
    assert wire["balance"] == "0" and wire["address"]["country"] == "US"

    assert await r(pk.customers.retrieve(created.id)) == created
    assert await r(pk.customers.retrieve(DID)) == created
    assert await r(pk.customers.retrieve(f"did:abt:{DID}")) == created

    updated = await r(
        pk.customers.update(
            created.id,
            email="john.new@example.com",
            phone=None,
            address={"city": None, "state": "WA"},
            metadata={"tier": None, "internal_id": "42"},
        )
    )
    assert updated.id == created.id and updated.name == "John Doe"
    assert updated.email == "john.new@example.com" and updated.phone is None
    assert updated.address == Address(country="US", state="WA", line1="123 Main St")
    assert updated.metadata == {"n": 3, "vip": True, "internal_id": "42"}
    cleared = await r(pk.customers.update(created.id, metadata=None, address=None))
    assert cleared.metadata == {} and cleared.address is None

    deleted = await r(pk.customers.delete(created.id))
    assert deleted == DeletedObject(id=created.id, object="customer", deleted=True)
    with pytest.raises(NotFoundError) as info:
        await r(pk.customers.retrieve(created.id))
    assert info.value.status == 404 and info.value.code == "resource_missing"


async def test_retrieve_with_create_makes_the_customer_once(client: Both) -> None:
    pk, r = client.pk, client.resolve
    with pytest.raises(NotFoundError):
        await r(pk.customers.retrieve(DID))
    made = await r(pk.customers.retrieve(DID, create=True))
    assert made.did == DID
    again = await r(pk.customers.retrieve(f"did:abt:{DID}", create=True))
    assert again.id == made.id
    assert (await r(pk.customers.list())).count == 1


async def test_list_filters_order_and_paging(client: Both) -> None:
    pk, r = client.pk, client.resolve
    names = ["carol", "alice", "bob", "dave"]
    made = [
        await r(
            pk.customers.create(
                name=n, email=f"{n}@example.com", metadata={"team": "a" if i % 2 else "b"}
            )
        )
        for i, n in enumerate(names)
    ]
    page = await r(pk.customers.list(page_size=3))
    assert isinstance(page, Page)
    assert (page.count, page.page, page.page_size, page.has_more) == (4, 1, 3, True)
    assert [c.name for c in page.data] == ["dave", "bob", "alice"]  # newest first
    assert [c.name for c in page] == ["dave", "bob", "alice"] and len(page) == 3
    second = await r(pk.customers.list(page=2, page_size=3))
    assert [c.name for c in second.data] == ["carol"] and not second.has_more

    by_name = await r(pk.customers.list(order="name:ASC"))
    assert [c.name for c in by_name.data] == sorted(names)
    team_a = await r(pk.customers.list(metadata={"team": "a"}))
    assert {c.name for c in team_a.data} == {"alice", "dave"}
    by_email = await r(pk.customers.list(email="BOB@example.com"))
    assert [c.id for c in by_email.data] == [made[2].id]
    assert (await r(pk.customers.list(did=DID))).count == 0
    assert page.to_dict()["paging"] == {"page": 1, "pageSize": 3}


async def test_search(client: Both) -> None:
    pk, r = client.pk, client.resolve
    await r(pk.customers.create(name="Alice Smith", email="alice@example.com"))
    await r(pk.customers.create(name="Bob", email="bob_smith@example.com"))
    await r(pk.customers.create(name="Carol", phone="+15551234567"))
    found = await r(pk.customers.search("SMITH"))
    assert {c.name for c in found.data} == {"Alice Smith", "Bob"} and found.count == 2
    assert (await r(pk.customers.search("b_s"))).count == 1  # `_` is literal
    assert (await r(pk.customers.search("555123"))).data[0].name == "Carol"
    paged = await r(pk.customers.search("smith", page=2, page_size=1))
    assert (paged.count, paged.page, len(paged.data)) == (2, 2, 1)
    with pytest.raises(InvalidRequestError) as info:
        await r(pk.customers.search(" "))
    assert info.value.param == "query"


async def test_overdue_invoices_of_a_customer(client: Both) -> None:
    pk, r = client.pk, client.resolve
    customer = await r(pk.customers.create(name="Jane"))
    empty = await r(pk.customers.overdue_invoices(customer.id))
    assert isinstance(empty, OverdueInvoices)
    assert (empty.invoices, empty.summary, empty.subscription_count) == ([], {}, 0)

    method = await r(pk.payment_methods.create(type="stripe", name="Stripe"))
    usd = await r(
        pk.payment_currencies.create(
            payment_method_id=method.id, name="US Dollar", symbol="USD", decimal=2
        )
    )
    big = 10**30 + 7
    for amount in (5000, big):
        invoice = await r(
            pk.invoices.create(customer_id=customer.id, currency_id=usd.id, amount_due=amount)
        )
        await r(pk.invoices.finalize(invoice.id))
        await r(pk.invoices.pay(invoice.id, amount=1500))
        await r(pk.invoices.mark_uncollectible(invoice.id))

    overdue = await r(pk.customers.overdue_invoices(customer.id))
    assert overdue.customer.id == customer.id and overdue.customer.delinquent is True
    assert [i.amount_remaining for i in overdue.invoices] == [3500, big - 1500]
    entry = overdue.summary[usd.id]
    assert entry.amount == 3500 + big - 1500 and isinstance(entry.amount, int)
    assert entry.currency.symbol == "USD" and entry.method.id == method.id
    assert overdue.subscription_count == 0
    assert overdue.to_dict()["summary"][usd.id]["amount"] == str(3500 + big - 1500)
    assert overdue.to_dict()["subscriptionCount"] == 0

    with pytest.raises(ConflictError) as info:
        await r(pk.customers.delete(customer.id))
    assert info.value.code == "invalid_state"


async def test_errors_carry_status_code_param_and_request_id(client: Both) -> None:
    pk, r = client.pk, client.resolve
    with pytest.raises(InvalidRequestError) as bad:
        await r(pk.customers.create(address={"country": "XX"}))
    err = bad.value
    assert (err.status, err.code, err.param) == (400, "invalid_request", "address.country")
    assert err.request_id is not None and err.request_id.startswith("req_")
    assert err.body["request_id"] == err.request_id
    assert "address.country" in str(err) and err.request_id in str(err)

    await r(pk.customers.create(did=DID))
    with pytest.raises(ConflictError) as taken:
        await r(pk.customers.create(did=DID))
    assert (taken.value.status, taken.value.code) == (409, "resource_exists")

    with pytest.raises(NotFoundError):
        await r(pk.customers.update("cus_000000000000000000000000", name="x"))
    with pytest.raises(ValueError):
        await r(pk.customers.retrieve(""))
