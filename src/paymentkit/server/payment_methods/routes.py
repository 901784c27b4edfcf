"""Payment method routes."""

from __future__ import annotations

from paymentkit.schemas.billing import (
    PaymentMethod,
    PaymentMethodCreate,
    PaymentMethodUpdate,
)
from paymentkit.server import errors, params, resource
from paymentkit.server.http import WRITE_ERRORS, Call, Registry, Reply, convert
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


resource.list_route(
    api,
    service.RESOURCE,
    "/api/payment-methods",
    "List payment methods",
    """Lists payment methods of the key's mode, newest first.""",
)


resource.retrieve_route(
    api,
    service.RESOURCE,
    "/api/payment-methods/{id}",
    "Retrieve a payment method",
    """Retrieves a payment method (settings redacted).""",
    PaymentMethod,
)


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
