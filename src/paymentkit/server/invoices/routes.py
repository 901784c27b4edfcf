"""Invoice routes: create, retrieve, list and the four transitions."""

from __future__ import annotations

from typing import get_args

from msgspec import UnsetType

from paymentkit.schemas.billing import (
    Invoice,
    InvoiceCreate,
    InvoicePay,
    InvoiceStatus,
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
from paymentkit.server.invoices import service

api = Registry("Invoices")

STATUSES = get_args(InvoiceStatus)
_MODE = (params.LIVEMODE_PARAM,)
_TRANSITION_ERRORS = (*WRITE_ERRORS, errors.NotFound, errors.InvalidState)


@api.route(
    "POST",
    "/api/invoices",
    "Create a draft invoice",
    status=201,
    response=Invoice,
    body=InvoiceCreate,
    query=_MODE,
    errors=(*WRITE_ERRORS, errors.MissingReference),
)
async def create(call: Call) -> Reply:
    """Creates a `draft` invoice for a customer in a currency (optionally for one of the customer's
    subscriptions). `amount_due` is an integer string in the currency's smallest unit, any size."""
    params.reject_unknown(call.query, {"livemode"})
    data = convert(await call.json(), InvoiceCreate)
    return await call.write(lambda tx: service.create(tx, call.livemode, data), 201)


resource.list_route(
    api,
    service.RESOURCE,
    "/api/invoices",
    "List invoices",
    """Lists invoices newest first, filtered by customer, status, currency and/or subscription.""",
    filters=(
        QueryParam("customer_id", {"type": "string"}),
        QueryParam("status", {"type": "string", "enum": list(STATUSES)}),
        QueryParam("currency_id", {"type": "string"}),
        QueryParam("subscription_id", {"type": "string"}),
    ),
)


resource.retrieve_route(
    api,
    service.RESOURCE,
    "/api/invoices/{id}",
    "Retrieve an invoice",
    """Retrieves an invoice.""",
    Invoice,
)


async def _transition(call: Call, action: str) -> Reply:
    return await resource.act(call, lambda tx, mode, id_: service.transition(tx, mode, id_, action))


@api.route(
    "POST",
    "/api/invoices/{id}/finalize",
    "Finalize a draft invoice",
    response=Invoice,
    query=_MODE,
    errors=_TRANSITION_ERRORS,
)
async def finalize(call: Call) -> Reply:
    """draft → open (`status_transitions.finalized_at`). An invoice of zero is paid at once."""
    return await _transition(call, "finalize")


@api.route(
    "POST",
    "/api/invoices/{id}/pay",
    "Pay an invoice, in full or in part",
    response=Invoice,
    body=InvoicePay,
    query=_MODE,
    errors=_TRANSITION_ERRORS,
)
async def pay(call: Call) -> Reply:
    """open or uncollectible. Without `amount`, pays what remains; a partial payment reduces
    `amount_remaining`; reaching zero makes it `paid`. An amount of zero, below zero or above
    `amount_remaining` is a 400 with `param: "amount"`."""
    params.reject_unknown(call.query, {"livemode"})
    invoice_id = call.path("id")
    data = convert(await call.json(), InvoicePay)
    amount = None if isinstance(data.amount, UnsetType) else data.amount
    return await call.write(lambda tx: service.pay(tx, call.livemode, invoice_id, amount), 200)


@api.route(
    "POST",
    "/api/invoices/{id}/mark_uncollectible",
    "Mark an open invoice uncollectible",
    response=Invoice,
    query=_MODE,
    errors=_TRANSITION_ERRORS,
)
async def mark_uncollectible(call: Call) -> Reply:
    """open → uncollectible (`marked_uncollectible_at`); the customer becomes `delinquent`."""
    return await _transition(call, "mark_uncollectible")


@api.route(
    "POST",
    "/api/invoices/{id}/void",
    "Void an invoice",
    response=Invoice,
    query=_MODE,
    errors=_TRANSITION_ERRORS,
)
async def void(call: Call) -> Reply:
    """open or uncollectible → void (`voided_at`)."""
    return await _transition(call, "void")
