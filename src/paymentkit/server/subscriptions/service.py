"""Subscription rules: references must exist in the same mode; cancel ends it once."""

from __future__ import annotations

from paymentkit.schemas.billing import Subscription, SubscriptionCreate, SubscriptionList
from paymentkit.server import errors, validation
from paymentkit.server.customers import lifecycle
from paymentkit.server.db import codec
from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.events import outbox, types
from paymentkit.server.ids import iso_ms, new_id, now_ms
from paymentkit.server.payment_currencies import repository as currencies
from paymentkit.server.resource import Resource
from paymentkit.server.subscriptions import repository as repo


def to_wire(row: Row) -> Subscription:
    id_, livemode, customer_id, currency_id, status, canceled_at, metadata, created, updated = row
    return Subscription(
        id=id_,
        customer_id=customer_id,
        currency_id=currency_id,
        status=status,
        canceled_at=None if canceled_at is None else int(canceled_at),
        livemode=bool(livemode),
        metadata=codec.object_of(metadata),
        created_at=iso_ms(created),
        updated_at=iso_ms(updated),
    )


RESOURCE = Resource("subscription", repo.records, to_wire, SubscriptionList)
retrieve = RESOURCE.retrieve


def require_currency(tx: Tx, livemode: bool, currency_id: str) -> None:
    if currencies.get(tx, livemode, currency_id) is None:
        raise errors.MissingReference(f"No such payment currency: {currency_id}", "currency_id")


def create(tx: Tx, livemode: bool, data: SubscriptionCreate) -> Subscription:
    lifecycle.lock_live_customer(tx, livemode, data.customer_id)
    require_currency(tx, livemode, data.currency_id)
    status = validation.given(data.status, "active")
    if status == "canceled":
        raise errors.InvalidRequest(
            "a subscription cannot be created canceled; create it and cancel it", "status"
        )
    metadata = validation.metadata({}, validation.given(data.metadata))
    now = now_ms()
    subscription_id = new_id("sub")
    repo.insert(
        tx,
        {
            "id": subscription_id,
            "livemode": livemode,
            "customer_id": data.customer_id,
            "currency_id": data.currency_id,
            "status": status,
            "metadata": codec.to_text(metadata),
            "created_at": now,
            "updated_at": now,
        },
    )
    subscription = retrieve(tx, livemode, subscription_id)
    outbox.record(tx, livemode, types.SUBSCRIPTION_CREATED, subscription)
    return subscription


def cancel(tx: Tx, livemode: bool, subscription_id: str) -> Subscription:
    row = RESOURCE.require(tx, livemode, subscription_id, lock=True)
    status = repo.records.value(row, "status")
    if status in repo.ENDED:
        raise errors.InvalidState(f"A subscription whose status is {status} cannot be canceled")
    now = max(now_ms(), int(repo.records.value(row, "updated_at")))
    repo.cancel(tx, subscription_id, now // 1000, now)
    canceled = retrieve(tx, livemode, subscription_id)
    # Stripe's name for a subscription that ended, which Payment Kit keeps.
    outbox.record(tx, livemode, types.SUBSCRIPTION_DELETED, canceled)
    return canceled
