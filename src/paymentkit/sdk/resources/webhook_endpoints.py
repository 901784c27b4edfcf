"""`client.webhook_endpoints`: create, retrieve, update, list, delete, rotate_secret, and the
delivery attempts of an endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Unpack

from paymentkit.sdk import _params as p
from paymentkit.sdk._endpoint import K, Resource, Spec, delete, endpoint, get, get_page, post, put
from paymentkit.sdk._pagination import Page
from paymentkit.sdk._params import NOT_GIVEN, NotGiven
from paymentkit.sdk.types import WebhookAttempt, WebhookEndpoint

EndpointStatus = Literal["enabled", "disabled"]
AttemptStatus = Literal["succeeded", "failed"]


class WebhookEndpoints(Resource[K]):
    """The URLs the server POSTs events to, signed with each endpoint's secret (check them with
    `paymentkit.webhooks.verify`)."""

    @endpoint
    def create(
        self,
        *,
        url: str,
        enabled_events: Sequence[str],
        description: str | NotGiven | None = NOT_GIVEN,
        metadata: p.MetadataParam | NotGiven | None = NOT_GIVEN,
        status: EndpointStatus | NotGiven = NOT_GIVEN,
        api_version: str | NotGiven = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Spec[WebhookEndpoint]:
        """Create an endpoint for the events whose types are in `enabled_events` (type names
        such as `"invoice.paid"`, or `["*"]` for all). The answer's `secret` (`whsec_…`) is
        shown now and never again by retrieve or list: keep it for the receiver.

        `status` is `"enabled"` (the default) or `"disabled"`. A URL that is not http(s), or
        that resolves to a private address (unless the server allows those), and an unknown
        event type raise `InvalidRequestError` with `.param` naming the field.
        """
        data = p.body(
            url=url,
            enabled_events=p.names(enabled_events, "enabled_events"),
            description=description,
            metadata=metadata,
            status=status,
            api_version=api_version,
        )
        return post("/api/webhook-endpoints", WebhookEndpoint, data, idempotency_key)

    @endpoint
    def retrieve(self, id: str) -> Spec[WebhookEndpoint]:
        """The endpoint with this id (`we_…`), without its secret."""
        return get(f"/api/webhook-endpoints/{p.path_id(id)}", WebhookEndpoint)

    @endpoint
    def update(
        self,
        id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        enabled_events: Sequence[str] | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        metadata: p.MetadataParam | NotGiven | None = NOT_GIVEN,
        status: EndpointStatus | NotGiven = NOT_GIVEN,
        api_version: str | NotGiven = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Spec[WebhookEndpoint]:
        """Change the given fields; the others stay. `enabled_events` replaces the list;
        `metadata` merges key by key (None removes a key). `status="disabled"` stops
        deliveries to it: those still pending are given up (resend their events after enabling
        it again)."""
        data = p.body(
            url=url,
            enabled_events=p.names(enabled_events, "enabled_events"),
            description=description,
            metadata=metadata,
            status=status,
            api_version=api_version,
        )
        return put(
            f"/api/webhook-endpoints/{p.path_id(id)}", WebhookEndpoint, data, idempotency_key
        )

    @endpoint
    def list(
        self, *, status: EndpointStatus | None = None, **paging: Unpack[p.Paging]
    ) -> Spec[Page[WebhookEndpoint]]:
        """One page of endpoints, newest first, without their secrets, optionally only those
        with `status`. A page is `page`/`page_size`, or a cursor (`starting_after` or
        `ending_before` an id) and `limit`, as for `customers.list`."""
        return get_page(
            "/api/webhook-endpoints",
            WebhookEndpoint,
            p.paging(**paging) + p.query(status=status),
        )

    @endpoint
    def delete(self, id: str, *, idempotency_key: str | None = None) -> Spec[WebhookEndpoint]:
        """Delete the endpoint, its pending deliveries and its attempts: nothing more is
        delivered to it. Returns the endpoint as it was (as Payment Kit does)."""
        return delete(f"/api/webhook-endpoints/{p.path_id(id)}", WebhookEndpoint, idempotency_key)

    @endpoint
    def rotate_secret(
        self, id: str, *, idempotency_key: str | None = None
    ) -> Spec[WebhookEndpoint]:
        """Give the endpoint a new secret, returned in the answer's `secret` (shown only now).
        For 24 hours deliveries carry signatures by both the old and the new secret, so the
        receiver can switch over without losing a message."""
        return post(
            f"/api/webhook-endpoints/{p.path_id(id)}/rotate_secret",
            WebhookEndpoint,
            None,
            idempotency_key,
        )

    @endpoint
    def attempts(
        self,
        id: str,
        *,
        event_id: str | None = None,
        status: AttemptStatus | None = None,
        order: str | None = None,
        **paging: Unpack[p.Paging],
    ) -> Spec[Page[WebhookAttempt]]:
        """One page of the endpoint's delivery attempts, newest first (`order="created_at:ASC"`
        for oldest first), optionally of one event and/or one `status`: each with its event
        id, the receiver's `response_status` and the start of its `response_body`, or the
        `error` when no answer came. Paging as for `list`; `auto_paging_iter()` walks them
        all."""
        return get_page(
            f"/api/webhook-endpoints/{p.path_id(id)}/attempts",
            WebhookAttempt,
            p.paging(**paging) + p.query(event_id=event_id, status=status, order=order),
        )
