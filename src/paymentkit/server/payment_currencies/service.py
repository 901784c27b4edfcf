"""Payment currency rules: each belongs to an existing payment method of the same mode."""

from __future__ import annotations

from typing import Any

from msgspec import UnsetType

from paymentkit.schemas.billing import (
    PaymentCurrency,
    PaymentCurrencyCreate,
    PaymentCurrencyList,
    PaymentCurrencyUpdate,
)
from paymentkit.server import errors, validation
from paymentkit.server.db import codec
from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.ids import iso_ms, new_id, now_ms
from paymentkit.server.payment_currencies import repository as repo
from paymentkit.server.payment_methods import repository as methods
from paymentkit.server.resource import Resource

NAME_MAX = 256
SYMBOL_MAX = 32


def to_wire(row: Row) -> PaymentCurrency:
    id_, livemode, method_id, name, symbol, decimal, active, metadata, created, updated = row
    return PaymentCurrency(
        id=id_,
        payment_method_id=method_id,
        name=name,
        symbol=symbol,
        decimal=int(decimal),
        active=bool(active),
        livemode=bool(livemode),
        metadata=codec.object_of(metadata),
        created_at=iso_ms(created),
        updated_at=iso_ms(updated),
    )


RESOURCE = Resource("payment currency", repo.records, to_wire, PaymentCurrencyList)
retrieve = RESOURCE.retrieve


def create(tx: Tx, livemode: bool, data: PaymentCurrencyCreate) -> PaymentCurrency:
    if methods.get(tx, livemode, data.payment_method_id) is None:
        raise errors.MissingReference(
            f"No such payment method: {data.payment_method_id}", "payment_method_id"
        )
    now = now_ms()
    currency_id = new_id("pc")
    metadata = validation.metadata({}, validation.given(data.metadata))
    repo.insert(
        tx,
        {
            "id": currency_id,
            "livemode": livemode,
            "payment_method_id": data.payment_method_id,
            "name": validation.required_text(data.name, "name", NAME_MAX),
            "symbol": validation.required_text(data.symbol, "symbol", SYMBOL_MAX),
            "decimal": data.decimal,
            "active": validation.given(data.active, True),
            "metadata": codec.to_text(metadata),
            "created_at": now,
            "updated_at": now,
        },
    )
    return retrieve(tx, livemode, currency_id)


def update(
    tx: Tx, livemode: bool, currency_id: str, data: PaymentCurrencyUpdate
) -> PaymentCurrency:
    row = RESOURCE.require(tx, livemode, currency_id, lock=True)
    fields: dict[str, Any] = {}
    if not isinstance(data.name, UnsetType):
        fields["name"] = validation.required_text(data.name, "name", NAME_MAX)
    if not isinstance(data.symbol, UnsetType):
        fields["symbol"] = validation.required_text(data.symbol, "symbol", SYMBOL_MAX)
    if not isinstance(data.active, UnsetType):
        fields["active"] = data.active
    if not isinstance(data.metadata, UnsetType):
        metadata = validation.metadata(
            codec.object_of(repo.records.value(row, "metadata")), data.metadata
        )
        fields["metadata"] = codec.to_text(metadata)
    if fields:
        fields["updated_at"] = max(now_ms(), int(repo.records.value(row, "updated_at")))
        repo.update(tx, currency_id, fields)
    return retrieve(tx, livemode, currency_id)
