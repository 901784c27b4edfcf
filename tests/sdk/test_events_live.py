"""`pk.events` against the real app in process, on both clients and both databases: the events
the SDK's own writes make, every filter, cursor walks, retrieve and resend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from paymentkit import Customer, Event, InvalidRequestError, NotFoundError
from tests.sdk.conftest import Both

pytestmark = pytest.mark.anyio


async def test_the_sdks_writes_are_events_with_their_request(client: Both) -> None:
    pk, r = client.pk, client.resolve
    ada = await r(pk.customers.create(name="Ada", idempotency_key="make-ada"))
    await r(pk.customers.update(ada.id, name="Ada L"))
    page = await r(pk.events.list(object_id=ada.id))
    assert [e.type for e in page.data] == ["customer.updated", "customer.created"]
    updated, created = page.data
    assert all(isinstance(e, Event) for e in page.data)
    assert (created.object_type, created.object_id, created.livemode) == ("customer", ada.id, False)
    assert Customer.from_wire(created.data.object) == ada
    assert created.data.previous_attributes is None
    assert updated.data.object["name"] == "Ada L"
    assert updated.data.previous_attributes == {"name": "Ada"}
    assert created.request.idempotency_key == "make-ada"
    assert created.request.id is not None and created.request.id.startswith("req_")
    assert created.request.requested_by is not None
    assert await r(pk.events.retrieve(created.id)) == created
    with pytest.raises(NotFoundError):
        await r(pk.events.retrieve("evt_missing"))


async def test_filters_and_cursor_walks(client: Both) -> None:
    pk, r = client.pk, client.resolve
    made = [await r(pk.customers.create(name=f"c{i}")) for i in range(5)]
    method = await r(pk.payment_methods.create(type="stripe", name="Stripe"))
    await r(pk.payment_methods.update(method.id, name="Stripe EU"))
    customers = await r(pk.events.list(type="customer.*", limit=2))
    walked = await client.collect(customers)
    assert [e.object_id for e in walked] == [c.id for c in reversed(made)]
    oldest = await r(pk.events.list(type="customer.created", order="created_at:ASC", limit=2))
    assert [e.object_id for e in await client.collect(oldest)] == [c.id for c in made]
    exact = await r(pk.events.list(type="payment_method.updated"))
    assert [e.object_id for e in exact.data] == [method.id]
    backwards = await r(pk.events.list(ending_before=walked[-1].id, limit=2))
    assert backwards.direction == "backward" and len(backwards.data) == 2

    first = walked[-1]
    since = datetime.fromisoformat(walked[1].created_at)
    recent = await r(pk.events.list(type="customer.created", created_gte=since))
    assert {e.id for e in recent.data} >= {walked[0].id, walked[1].id}
    until = await r(pk.events.list(created_lte=first.created_at, type="customer.*"))
    assert first.id in {e.id for e in until.data}
    later = datetime.now(UTC) + timedelta(hours=1)
    assert (await r(pk.events.list(created_gte=later))).data == []
    seconds = int(datetime.now(UTC).timestamp()) - 3600
    # five customer.created and one payment_method.updated (a method's creation is no event)
    assert len((await r(pk.events.list(created_gte=seconds, limit=100))).data) == 6


async def test_resend_and_what_it_refuses(client: Both) -> None:
    pk, r = client.pk, client.resolve
    ada = await r(pk.customers.create(name="Ada"))
    created = (await r(pk.events.list(object_id=ada.id))).data[0]
    again = await r(pk.events.resend(created.id))  # no endpoint subscribed: nothing queued
    assert again.id == created.id and again.pending_webhooks == 0
    with pytest.raises(InvalidRequestError) as missing:
        await r(pk.events.resend(created.id, webhook_endpoint_id="we_missing"))
    assert missing.value.param == "webhook_endpoint_id"
    with pytest.raises(NotFoundError):
        await r(pk.events.resend("evt_missing"))
    with pytest.raises(InvalidRequestError) as bad_type:
        await r(pk.events.list(type="Invoice.Paid"))
    assert bad_type.value.param == "type"
    assert len((await r(pk.events.list())).data) == 1  # a resend is not a new event
