"""Subscription routes."""

from __future__ import annotations

from typing import get_args

from paymentkit.schemas.billing import (
    Subscription,
    SubscriptionCreate,
    SubscriptionStatus,
)
from paymentkit.server import errors, params, resource
from paymentkit.server.http import (
    WRITE_ERRORS,
    Call,
    QueryParam,
    Registry,
    Reply,
    convert,
)
from paymentkit.server.subscriptions import service

api = Registry("Subscriptions")

STATUSES = get_args(SubscriptionStatus)
_MODE = (params.LIVEMODE_PARAM,)


@api.route(
    "POST",
    "/api/subscriptions",
    "Create a subscription",
    status=201,
    response=Subscription,
    body=SubscriptionCreate,
    query=_MODE,
    errors=(*WRITE_ERRORS, errors.MissingReference),
)
async def create(call: Call) -> Reply:
    """Creates a subscription of an existing customer in an existing currency of the same mode."""
    params.reject_unknown(call.query, {"livemode"})
    data = convert(await call.json(), SubscriptionCreate)
    return await call.write(lambda tx: service.create(tx, call.livemode, data), 201)


resource.list_route(
    api,
    service.RESOURCE,
    "/api/subscriptions",
    "List subscriptions",
    """Lists subscriptions, newest first, optionally of one customer and/or in one status.""",
    filters=(
        QueryParam("customer_id", {"type": "string"}),
        QueryParam("status", {"type": "string", "enum": list(STATUSES)}),
    ),
)


resource.retrieve_route(
    api,
    service.RESOURCE,
    "/api/subscriptions/{id}",
    "Retrieve a subscription",
    """Retrieves a subscription.""",
    Subscription,
)


@api.route(
    "PUT",
    "/api/subscriptions/{id}/cancel",
    "Cancel a subscription",
    response=Subscription,
    query=_MODE,
    errors=(*WRITE_ERRORS, errors.NotFound, errors.InvalidState),
)
async def cancel(call: Call) -> Reply:
    """Cancels now: status `canceled`, `canceled_at` set (unix seconds). A subscription already
    `canceled` or `incomplete_expired` cannot be canceled (409 `invalid_state`)."""
    return await resource.act(call, service.cancel)
