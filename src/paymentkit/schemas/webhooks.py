"""Webhook endpoints and their delivery attempts on the wire (Payment Kit's shapes, plus the
signing `secret` on the create and rotate_secret answers only)."""

from __future__ import annotations

import builtins
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from paymentkit.schemas.common import ListPage, Metadata, MetadataMap

URL_MAX = 2048
EVENT_NAME_MAX = 64
# Payment Kit's event types (server/events/event_types.txt) and "*", each once.
ENABLED_EVENTS_MAX = 256

EndpointStatus = Literal["enabled", "disabled"]
AttemptStatus = Literal["succeeded", "failed"]
WebhookURL = Annotated[
    str,
    msgspec.Meta(
        max_length=URL_MAX,
        description="An http:// or https:// URL whose host resolves to public addresses only"
        " (loopback, private and link-local ones are refused unless the server sets"
        " PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE=1); no credentials, no #fragment.",
        examples=["https://example.com/webhooks/paymentkit"],
    ),
]
EnabledEvents = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=EVENT_NAME_MAX)]],
    msgspec.Meta(
        max_length=ENABLED_EVENTS_MAX,
        description='Payment Kit event type names, or ["*"] for every event.',
        examples=[["customer.created", "invoice.paid"], ["*"]],
    ),
]
ApiVersion = Annotated[
    str,
    msgspec.Meta(
        max_length=32,
        description="The version events are rendered in (Payment Kit's 2023-09-05, the only one)",
        examples=["2023-09-05"],
    ),
]
MetadataInput = MetadataMap | None | UnsetType


class WebhookEndpointCreate(msgspec.Struct, forbid_unknown_fields=True):
    """`url` and `enabled_events` are required; `status` defaults to enabled."""

    url: WebhookURL
    enabled_events: EnabledEvents
    description: str | UnsetType | None = UNSET
    api_version: ApiVersion | UnsetType = UNSET
    metadata: MetadataInput = UNSET
    status: EndpointStatus | UnsetType = UNSET


class WebhookEndpointUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Partial update; `metadata` merges key by key (null or "" removes a key)."""

    url: WebhookURL | UnsetType = UNSET
    enabled_events: EnabledEvents | UnsetType = UNSET
    description: str | UnsetType | None = UNSET
    api_version: ApiVersion | UnsetType = UNSET
    metadata: MetadataInput = UNSET
    status: EndpointStatus | UnsetType = UNSET


class WebhookEndpoint(msgspec.Struct, kw_only=True):
    id: str
    object: str = "webhook_endpoint"
    livemode: bool
    api_version: str
    url: str
    description: str | None
    enabled_events: builtins.list[str]
    metadata: Metadata
    status: str
    created_via: str
    created_at: str
    updated_at: str


class WebhookEndpointWithSecret(WebhookEndpoint, kw_only=True):
    """The create and rotate_secret answers: the endpoint with its signing secret, which no
    other answer shows."""

    secret: Annotated[
        str,
        msgspec.Meta(
            description="whsec_ + base64 of 32 random bytes: the Standard Webhooks signing key",
            pattern="^whsec_[A-Za-z0-9+/]{43}=$",
        ),
    ]


class WebhookEndpointList(ListPage):
    list: builtins.list[WebhookEndpoint]


class WebhookAttempt(msgspec.Struct, kw_only=True):
    """One try at delivering an event to an endpoint. `response_status` is null when no answer
    came (then `error` says why); `response_body` holds at most the first 2 KB of the answer;
    `retry_count` is 0 for the first attempt of a delivery."""

    id: str
    object: str = "webhook_attempt"
    livemode: bool
    event_id: str
    webhook_endpoint_id: str
    status: str
    response_status: int | None
    response_body: str | None
    retry_count: int
    duration_ms: int
    error: str | None
    created_at: str


class WebhookAttemptList(ListPage):
    list: builtins.list[WebhookAttempt]
