"""Events API routes: list, retrieve, resend."""

from __future__ import annotations

from paymentkit.schemas.events import Event, EventList, EventResend
from paymentkit.server import errors, params, resource
from paymentkit.server.events import service
from paymentkit.server.http import (
    READ_ERRORS,
    WRITE_ERRORS,
    Call,
    QueryParam,
    Registry,
    Reply,
    convert,
)

api = Registry("Events")

_MODE = (params.LIVEMODE_PARAM,)
_INSTANT = {"type": "string", "description": "ISO-8601 with a time zone, or unix seconds"}


@api.route(
    "GET",
    "/api/events",
    "List events",
    response=EventList,
    query=(
        *params.PAGING_PARAMS,
        QueryParam(
            "type",
            {"type": "string", "maxLength": 64},
            "An event type, or a prefix ending in * (invoice.*)",
        ),
        QueryParam("object_id", {"type": "string"}, "Events of this object"),
        QueryParam("created[gte]", _INSTANT, "Created at or after"),
        QueryParam("created[lte]", _INSTANT, "Created at or before"),
        params.ORDER_PARAM,
        *_MODE,
    ),
    errors=READ_ERRORS,
)
async def list_(call: Call) -> Reply:
    """Lists the mode's events, newest first (kept `PAYMENTKIT_EVENT_RETENTION_DAYS`, default
    30). `count` is exact up to 10,000; above that it is a bound (`count_is_exact: false`)."""
    request, filters = service.list_request(call.query)
    result = await call.services.db.transaction(
        lambda tx: service.list_events(tx, call.livemode, request, filters)
    )
    return Reply(200, result)


resource.retrieve_route(
    api, service.RESOURCE, "/api/events/{id}", "Retrieve an event", "Retrieves an event.", Event
)


@api.route(
    "POST",
    "/api/events/{id}/resend",
    "Resend an event",
    response=Event,
    body=EventResend,
    query=_MODE,
    errors=(*WRITE_ERRORS, errors.NotFound, errors.MissingReference),
)
async def resend(call: Call) -> Reply:
    """Queues the event for delivery again, with the same `webhook-id`: to `webhook_endpoint_id`
    (any enabled endpoint of the mode, subscribed to the type or not), or to every enabled
    endpoint subscribed to its type. It goes after the deliveries already queued for the same
    object at each endpoint. Answers the event with its new `pending_webhooks`."""
    params.reject_unknown(call.query, {"livemode"})
    event_id = call.path("id")
    data = convert(await call.json(), EventResend)
    return await call.write(
        lambda tx: service.resend(tx, call.livemode, event_id, data.webhook_endpoint_id), 200
    )
