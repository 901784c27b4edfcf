"""Payment currency routes."""

from __future__ import annotations

from paymentkit.schemas.billing import (
    PaymentCurrency,
    PaymentCurrencyCreate,
    PaymentCurrencyList,
    PaymentCurrencyUpdate,
)
from paymentkit.server import errors, params
from paymentkit.server.http import READ_ERRORS, WRITE_ERRORS, Call, Registry, Reply, convert
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


@api.route(
    "GET",
    "/api/payment-currencies",
    "List payment currencies",
    response=PaymentCurrencyList,
    query=(*params.PAGING_PARAMS, params.ORDER_PARAM, *_MODE),
    errors=READ_ERRORS,
)
async def list_(call: Call) -> Reply:
    """Lists payment currencies of the key's mode, newest first."""
    request = params.billing_list_request(call.query)
    result = await call.services.db.transaction(
        lambda tx: service.list_currencies(tx, call.livemode, request)
    )
    return Reply(200, result)


@api.route(
    "GET",
    "/api/payment-currencies/{id}",
    "Retrieve a payment currency",
    response=PaymentCurrency,
    query=_MODE,
    errors=(*READ_ERRORS, errors.NotFound),
)
async def retrieve(call: Call) -> Reply:
    """Retrieves a payment currency."""
    params.reject_unknown(call.query, {"livemode"})
    currency_id = call.path("id")
    currency = await call.services.db.transaction(
        lambda tx: service.retrieve(tx, call.livemode, currency_id)
    )
    return Reply(200, currency)


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
