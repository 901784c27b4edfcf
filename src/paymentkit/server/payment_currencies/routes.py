"""Payment currency routes."""

from __future__ import annotations

from paymentkit.schemas.billing import (
    PaymentCurrency,
    PaymentCurrencyCreate,
    PaymentCurrencyUpdate,
)
from paymentkit.server import errors, params, resource
from paymentkit.server.http import WRITE_ERRORS, Call, Registry, Reply, convert
from paymentkit.server.payment_currencies import service

api = Registry("Payment currencies")

_MODE = (params.LIVEMODE_PARAM,)


@api.route(
    "POST",
    "/api/payment-currencies",
    "Create a payment currency",
    status=201,
    response=PaymentCurrency,
    body=PaymentCurrencyCreate,
    query=_MODE,
    errors=(*WRITE_ERRORS, errors.MissingReference),
)
async def create(call: Call) -> Reply:
    """Creates a currency of an existing payment method of the same mode (400 `resource_missing` otherwise)."""
    params.reject_unknown(call.query, {"livemode"})
    data = convert(await call.json(), PaymentCurrencyCreate)
    return await call.write(lambda tx: service.create(tx, call.livemode, data), 201)


resource.list_route(
    api,
    service.RESOURCE,
    "/api/payment-currencies",
    "List payment currencies",
    """Lists payment currencies of the key's mode, newest first.""",
)


resource.retrieve_route(
    api,
    service.RESOURCE,
    "/api/payment-currencies/{id}",
    "Retrieve a payment currency",
    """Retrieves a payment currency.""",
    PaymentCurrency,
)


@api.route(
    "PUT",
    "/api/payment-currencies/{id}",
    "Update a payment currency",
    response=PaymentCurrency,
    body=PaymentCurrencyUpdate,
    query=_MODE,
    errors=(*WRITE_ERRORS, errors.NotFound),
)
async def update(call: Call) -> Reply:
    """Partial update; `metadata` merges key by key. The method and `decimal` are fixed at creation."""
    params.reject_unknown(call.query, {"livemode"})
    currency_id = call.path("id")
    data = convert(await call.json(), PaymentCurrencyUpdate)
    return await call.write(lambda tx: service.update(tx, call.livemode, currency_id, data), 200)
