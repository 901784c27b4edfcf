"""Subscription routes."""

from __future__ import annotations

from typing import get_args

from paymentkit.schemas.billing import (
    Subscription,
    SubscriptionCreate,
    SubscriptionList,
    SubscriptionStatus,
)
from paymentkit.schemas.common import NoBody
from paymentkit.server import errors, params
from paymentkit.server.http import (
    READ_ERRORS,
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


@api.route(
    "GET",
    "/api/subscriptions",
    "List subscriptions",
    response=SubscriptionList,
    query=(
        *params.PAGING_PARAMS,
        QueryParam("customer_id", {"type": "string"}),
        QueryParam("status", {"type": "string", "enum": list(STATUSES)}),
        params.ORDER_PARAM,
        *_MODE,
    ),
    errors=READ_ERRORS,
)
async def list_(call: Call) -> Reply:
    """Lists subscriptions, newest first, optionally of one customer and/or in one status."""
    request = params.billing_list_request(
        call.query, ("customer_id", "status"), {"status": STATUSES}
    )
    result = await call.services.db.transaction(
        lambda tx: service.list_subscriptions(tx, call.livemode, request)
    )
    return Reply(200, result)


@api.route(
    "GET",
    "/api/subscriptions/{id}",
    "Retrieve a subscription",
    response=Subscription,
    query=_MODE,
    errors=(*READ_ERRORS, errors.NotFound),
)
async def retrieve(call: Call) -> Reply:
    """Retrieves a subscription."""
    params.reject_unknown(call.query, {"livemode"})
    subscription_id = call.path("id")
    result = await call.services.db.transaction(
        lambda tx: service.retrieve(tx, call.livemode, subscription_id)
    )
    return Reply(200, result)


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
    params.reject_unknown(call.query, {"livemode"})
    subscription_id = call.path("id")
    convert(await call.json(), NoBody)
    return await call.write(lambda tx: service.cancel(tx, call.livemode, subscription_id), 200)
