"""Webhook endpoint routes (Payment Kit's `webhookEndpoints`), plus rotate_secret and attempts."""

from __future__ import annotations

from typing import get_args

from paymentkit.schemas.webhooks import (
    AttemptStatus,
    EndpointStatus,
    WebhookAttemptList,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from paymentkit.server import errors, params, resource
from paymentkit.server.http import (
    READ_ERRORS,
    WRITE_ERRORS,
    Call,
    QueryParam,
    Registry,
    Reply,
    convert,
)
from paymentkit.server.webhooks import addresses, rules, service
from paymentkit.server.webhooks.repository import ATTEMPT_SORTABLE

api = Registry("Webhook endpoints")

_MODE = (params.LIVEMODE_PARAM,)
_SIZE = {"size": "pageSize"}
_ATTEMPT_FILTERS = ("event_id", "status")
_ATTEMPT_STATUSES = get_args(AttemptStatus)


@api.route(
    "POST",
    "/api/webhook-endpoints",
    "Create a webhook endpoint",
    status=201,
    response=WebhookEndpointWithSecret,
    body=WebhookEndpointCreate,
    query=_MODE,
    errors=WRITE_ERRORS,
)
async def create(call: Call) -> Reply:
    """Creates an endpoint that receives the events named in `enabled_events` (Payment Kit's
    type names, or `["*"]`). The answer carries the endpoint's signing `secret` (`whsec_…`),
    which no later answer shows again: store it (or rotate it later). `url` must be http(s),
    without credentials or a fragment, and its host must resolve, to public addresses only
    (loopback, private, link-local, CGNAT, multicast and reserved ones are refused unless the
    server runs with PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE=1). At most 100 endpoints per mode."""
    params.reject_unknown(call.query, {"livemode"})
    draft = rules.draft(convert(await call.json(), WebhookEndpointCreate))
    await addresses.check_url(draft.url, call.services.webhook_allow_private)
    return await call.write(
        lambda tx: service.create(tx, call.services.box, call.livemode, draft), 201, seal=True
    )


resource.list_route(
    api,
    service.RESOURCE,
    "/api/webhook-endpoints",
    "List webhook endpoints",
    """Lists the endpoints of the key's mode, newest first, optionally in one `status`.
    `size` is accepted as an alias of `pageSize` (Payment Kit's examples send it). No secret
    is shown.""",
    filters=(QueryParam("status", {"type": "string", "enum": list(get_args(EndpointStatus))}),),
    aliases=_SIZE,
)


resource.retrieve_route(
    api,
    service.RESOURCE,
    "/api/webhook-endpoints/{id}",
    "Retrieve a webhook endpoint",
    """Retrieves an endpoint (without its secret).""",
    WebhookEndpoint,
)


@api.route(
    "PUT",
    "/api/webhook-endpoints/{id}",
    "Update a webhook endpoint",
    response=WebhookEndpoint,
    body=WebhookEndpointUpdate,
    query=_MODE,
    errors=(*WRITE_ERRORS, errors.NotFound),
)
async def update(call: Call) -> Reply:
    """Partial update; `metadata` merges key by key. A new `url` is checked as on create.
    Setting `status` to `disabled` stops deliveries: the ones still pending are settled as
    failed at once (their events' `pending_webhooks` drop) and enabling the endpoint again does
    not bring them back — resend those events instead."""
    params.reject_unknown(call.query, {"livemode"})
    endpoint_id = call.path("id")
    changes = rules.changes(convert(await call.json(), WebhookEndpointUpdate))
    if changes.url is not None:
        await addresses.check_url(changes.url, call.services.webhook_allow_private)
    return await call.write(lambda tx: service.update(tx, call.livemode, endpoint_id, changes), 200)


@api.route(
    "DELETE",
    "/api/webhook-endpoints/{id}",
    "Delete a webhook endpoint",
    response=WebhookEndpoint,
    query=_MODE,
    errors=(*WRITE_ERRORS, errors.NotFound),
)
async def delete(call: Call) -> Reply:
    """Deletes the endpoint, its pending deliveries (their events' `pending_webhooks` drop) and
    its attempts; answers the endpoint as it was, as Payment Kit does."""
    return await resource.act(call, service.delete)


@api.route(
    "POST",
    "/api/webhook-endpoints/{id}/rotate_secret",
    "Rotate a webhook endpoint's secret",
    response=WebhookEndpointWithSecret,
    query=_MODE,
    errors=(*WRITE_ERRORS, errors.NotFound),
)
async def rotate_secret(call: Call) -> Reply:
    """Makes a new signing secret, shown in this answer only. The previous one keeps signing
    beside it (a second `v1,` signature) for 24 hours, so receivers can switch over; rotating
    again within those 24 hours ends the older one at once."""
    box = call.services.box
    return await resource.act(
        call, lambda tx, mode, id_: service.rotate_secret(tx, box, mode, id_), seal=True
    )


@api.route(
    "GET",
    "/api/webhook-endpoints/{id}/attempts",
    "List a webhook endpoint's delivery attempts",
    response=WebhookAttemptList,
    query=(
        *params.PAGING_PARAMS,
        QueryParam("size", {"type": "integer"}, "alias of pageSize"),
        QueryParam("event_id", {"type": "string"}, "Only the attempts of this event"),
        QueryParam("status", {"type": "string", "enum": list(_ATTEMPT_STATUSES)}),
        QueryParam(
            "order",
            params.order_schema(tuple(ATTEMPT_SORTABLE)),
            "created_at or id (both creation order), with :ASC or :DESC",
        ),
        *_MODE,
    ),
    errors=(*READ_ERRORS, errors.NotFound),
)
async def attempts(call: Call) -> Reply:
    """Every attempt to deliver an event to this endpoint, newest first: its status, the
    answer's status code and first 2 KB, how long it took and, when no answer came, the error.
    Numbered or cursor paging, as every list."""
    endpoint_id = call.path("id")
    query = params.with_aliases(call.query, _SIZE)
    request = params.billing_list_request(
        query, _ATTEMPT_FILTERS, {"status": _ATTEMPT_STATUSES}, sortable=ATTEMPT_SORTABLE
    )
    result = await call.services.db.transaction(
        lambda tx: service.attempts(tx, call.livemode, endpoint_id, request)
    )
    return Reply(200, result)
