"""`client.subscriptions`: create, retrieve, list and cancel."""

from __future__ import annotations

from typing import Unpack

from paymentkit.schemas.billing import SubscriptionStatus
from paymentkit.sdk import _params as p
from paymentkit.sdk._endpoint import K, Resource, Spec, endpoint, get, get_page, post, put
from paymentkit.sdk._pagination import Page
from paymentkit.sdk._params import NOT_GIVEN, NotGiven
from paymentkit.sdk.types import Subscription


class Subscriptions(Resource[K]):
    """Subscriptions of the API key's mode."""

    @endpoint
    def create(
        self,
        *,
        customer_id: str,
        currency_id: str,
        status: SubscriptionStatus | NotGiven = NOT_GIVEN,
        metadata: p.MetadataParam | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Spec[Subscription]:
        """Create a subscription of an existing customer in an existing currency (status
        `active` unless given; it cannot be created `canceled`: cancel it instead)."""
        data = p.body(
            customer_id=customer_id, currency_id=currency_id, status=status, metadata=metadata
        )
        return post("/api/subscriptions", Subscription, data, idempotency_key)

    @endpoint
    def retrieve(self, id: str) -> Spec[Subscription]:
        """The subscription with this id; `NotFoundError` when there is none."""
        return get(f"/api/subscriptions/{p.path_id(id)}", Subscription)

    @endpoint
    def cancel(self, id: str, *, idempotency_key: str | None = None) -> Spec[Subscription]:
        """Cancel now: status `canceled`, `canceled_at` set. Already canceled or
        `incomplete_expired` raises `ConflictError` (`invalid_state`)."""
        return put(
            f"/api/subscriptions/{p.path_id(id)}/cancel", Subscription, None, idempotency_key
        )

    @endpoint
    def list(
        self,
        *,
        customer_id: str | None = None,
        status: SubscriptionStatus | None = None,
        order: str | None = None,
        **paging: Unpack[p.Paging],
    ) -> Spec[Page[Subscription]]:
        """One page of subscriptions, newest first, optionally of one customer and/or status.
        A page is `page`/`page_size`, or a cursor (`starting_after` or `ending_before` an id)
        and `limit`, as for `customers.list`."""
        return get_page(
            "/api/subscriptions",
            Subscription,
            p.paging(**paging) + p.query(customer_id=customer_id, status=status, order=order),
        )
