"""Events on the wire (Payment Kit's shape) and the resend request."""

from __future__ import annotations

import builtins
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from paymentkit.schemas.common import ListPage, Metadata


class EventRequest(msgspec.Struct, kw_only=True):
    """What caused the event: the request's id, its Idempotency-Key and the API key's id."""

    id: str | None
    idempotency_key: str | None
    requested_by: str | None


class EventData(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The object after the change; on `*.updated` also the old values of what changed."""

    object: dict[str, Any]
    previous_attributes: dict[str, Any] | UnsetType = UNSET


# `data` goes out as stored (the JSON of an EventData, written once by the outbox): events are
# read far more often than written, and never decoded to be encoded again.
EventDataJSON = Annotated[
    msgspec.Raw,
    msgspec.Meta(
        description="The object after the change; on *.updated also previous_attributes",
        extra_json_schema={
            "type": "object",
            "properties": {
                "object": {"type": "object"},
                "previous_attributes": {"type": "object"},
            },
            "required": ["object"],
        },
    ),
]


class Event(msgspec.Struct, kw_only=True):
    id: str
    object: str = "event"
    livemode: bool
    type: str
    api_version: str
    data: EventDataJSON
    object_type: str
    object_id: str
    request: EventRequest
    pending_webhooks: int
    metadata: Metadata
    created_at: str
    updated_at: str


class EventList(ListPage):
    list: builtins.list[Event]


class EventResend(msgspec.Struct, forbid_unknown_fields=True):
    """Send the event again: to one endpoint, or to every enabled endpoint subscribed to it."""

    webhook_endpoint_id: str | None = None
