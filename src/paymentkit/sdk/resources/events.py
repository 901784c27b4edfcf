"""`client.events`: list, retrieve and resend the events the server recorded."""

from __future__ import annotations

from typing import Unpack

from paymentkit.sdk import _params as p
from paymentkit.sdk._endpoint import K, Resource, Spec, endpoint, get, get_page, post
from paymentkit.sdk._pagination import Page
from paymentkit.sdk.types import Event


class Events(Resource[K]):
    """Events of the API key's mode, newest first: each change (`customer.created`,
    `invoice.paid`, …) is recorded in the same transaction as the change, and kept for the
    server's retention period (30 days by default)."""

    @endpoint
    def list(
        self,
        *,
        type: str | None = None,
        object_id: str | None = None,
        created_gte: p.Timestamp | None = None,
        created_lte: p.Timestamp | None = None,
        order: str | None = None,
        **paging: Unpack[p.Paging],
    ) -> Spec[Page[Event]]:
        """One page of events, newest first (ties in the order they were recorded), or oldest
        first with `order="created_at:ASC"`.

        `type` is a type name (`invoice.paid`) or a prefix ending in `*` (`invoice.*`);
        `object_id` the id of the object they are about; `created_gte` / `created_lte` bound
        `created_at` (inclusive), each a timezone-aware `datetime`, unix seconds or ISO-8601
        text (sent as `created[gte]` / `created[lte]`). A page is `page`/`page_size`, or a
        cursor (`starting_after` or `ending_before` an event id) and `limit`, as for
        `customers.list`; `auto_paging_iter()` walks them all.
        """
        created = (
            ("created[gte]", p.timestamp(created_gte, "created_gte")),
            ("created[lte]", p.timestamp(created_lte, "created_lte")),
        )
        return get_page(
            "/api/events",
            Event,
            p.paging(**paging)
            + p.query(type=type, object_id=object_id, order=order)
            + tuple((name, value) for name, value in created if value is not None),
        )

    @endpoint
    def retrieve(self, id: str) -> Spec[Event]:
        """The event with this id (`evt_…`); `NotFoundError` when there is none (or it was
        pruned)."""
        return get(f"/api/events/{p.path_id(id)}", Event)

    @endpoint
    def resend(
        self,
        id: str,
        *,
        webhook_endpoint_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Spec[Event]:
        """Deliver the event again, with the same `webhook-id`: to every enabled endpoint
        subscribed to its type, or only to `webhook_endpoint_id`. Returns the event."""
        data = None if webhook_endpoint_id is None else {"webhook_endpoint_id": webhook_endpoint_id}
        return post(f"/api/events/{p.path_id(id)}/resend", Event, data, idempotency_key)
