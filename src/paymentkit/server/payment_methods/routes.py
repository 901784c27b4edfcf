"""Payment method routes."""

from __future__ import annotations

from paymentkit.schemas.billing import (
    PaymentMethod,
    PaymentMethodCreate,
    PaymentMethodList,
    PaymentMethodUpdate,
)
from paymentkit.server import errors, params
from paymentkit.server.http import READ_ERRORS, WRITE_ERRORS, Call, Registry, Reply, convert
from paymentkit.server.payment_methods import service

api = Registry("Payment methods")

_MODE = (params.LIVEMODE_PARAM,)


@api.route(
    "POST",
    "/api/payment-methods",
    "Create a payment method",
    status=201,
    response=PaymentMethod,
    body=PaymentMethodCreate,
    query=_MODE,
    errors=WRITE_ERRORS,
)
async def create(call: Call) -> Reply:
    """Creates a payment method; `settings` are encrypted at rest and never returned."""
    params.reject_unknown(call.query, {"livemode"})
    data = convert(await call.json(), PaymentMethodCreate)
    return await call.write(
        lambda tx: service.create(tx, call.services.box, call.livemode, data), 201
    )


@api.route(
    "GET",
    "/api/payment-methods",
    "List payment methods",
    response=PaymentMethodList,
    query=(*params.PAGING_PARAMS, params.ORDER_PARAM, *_MODE),
    errors=READ_ERRORS,
)
async def list_(call: Call) -> Reply:
    """Lists payment methods of the key's mode, newest first."""
    request = params.billing_list_request(call.query)
    result = await call.services.db.transaction(
        lambda tx: service.list_methods(tx, call.livemode, request)
    )
    return Reply(200, result)


@api.route(
    "GET",
    "/api/payment-methods/{id}",
    "Retrieve a payment method",
    response=PaymentMethod,
    query=_MODE,
    errors=(*READ_ERRORS, errors.NotFound),
)
async def retrieve(call: Call) -> Reply:
    """Retrieves a payment method (settings redacted)."""
    params.reject_unknown(call.query, {"livemode"})
    method_id = call.path("id")
    method = await call.services.db.transaction(
        lambda tx: service.retrieve(tx, call.livemode, method_id)
    )
    return Reply(200, method)


@api.route(
    "PUT",
    "/api/payment-methods/{id}",
    "Update a payment method",
    response=PaymentMethod,
    body=PaymentMethodUpdate,
    query=_MODE,
    errors=(*WRITE_ERRORS, errors.NotFound),
)
async def update(call: Call) -> Reply:
    """Partial update; `settings` and `metadata` merge key by key."""
    params.reject_unknown(call.query, {"livemode"})
    method_id = call.path("id")
    data = convert(await call.json(), PaymentMethodUpdate)
    return await call.write(
        lambda tx: service.update(tx, call.services.box, call.livemode, method_id, data), 200
    )
