"""`client.payment_methods`: create, retrieve, update and list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Unpack

from paymentkit.schemas.billing import KnownMethodType
from paymentkit.sdk import _params as p
from paymentkit.sdk._endpoint import K, Resource, Spec, endpoint, get, get_page, post, put
from paymentkit.sdk._pagination import Page
from paymentkit.sdk._params import NOT_GIVEN, NotGiven
from paymentkit.sdk.types import PaymentMethod

_Settings = Mapping[str, str | None] | None | NotGiven


class PaymentMethods(Resource[K]):
    """Payment methods of the API key's mode. `settings` (a processor's API keys, say) are
    encrypted at rest and never returned: answers show each key with the value "[redacted]"."""

    @endpoint
    def create(
        self,
        *,
        type: KnownMethodType | str,
        name: str,
        description: str | NotGiven | None = NOT_GIVEN,
        active: bool | NotGiven = NOT_GIVEN,
        settings: _Settings = NOT_GIVEN,
        metadata: p.MetadataParam | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Spec[PaymentMethod]:
        """Create a payment method. `type` is a lower-case identifier (a letter, then up to 31
        letters, digits or `_`): stripe, arcblock, ethereum, bitcoin, base, or another such as
        card, kept as given."""
        data = p.body(
            type=type,
            name=name,
            description=description,
            active=active,
            settings=settings,
            metadata=metadata,
        )
        return post("/api/payment-methods", PaymentMethod, data, idempotency_key)

    @endpoint
    def retrieve(self, id: str) -> Spec[PaymentMethod]:
        """The payment method with this id (settings redacted)."""
        return get(f"/api/payment-methods/{p.path_id(id)}", PaymentMethod)

    @endpoint
    def update(
        self,
        id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        active: bool | NotGiven = NOT_GIVEN,
        settings: _Settings = NOT_GIVEN,
        metadata: p.MetadataParam | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Spec[PaymentMethod]:
        """Change the given fields; `settings` and `metadata` merge key by key (None removes)."""
        data = p.body(
            name=name, description=description, active=active, settings=settings, metadata=metadata
        )
        return put(f"/api/payment-methods/{p.path_id(id)}", PaymentMethod, data, idempotency_key)

    @endpoint
    def list(
        self,
        *,
        order: str | None = None,
        **paging: Unpack[p.Paging],
    ) -> Spec[Page[PaymentMethod]]:
        """One page of payment methods, newest first. A page is `page`/`page_size`, or a cursor
        (`starting_after` or `ending_before` an id) and `limit`, as for `customers.list`."""
        return get_page(
            "/api/payment-methods",
            PaymentMethod,
            p.paging(**paging) + p.query(order=order),
        )
