"""`client.payment_currencies`: create, retrieve, update and list."""

from __future__ import annotations

from typing import Unpack

from paymentkit.sdk import _params as p
from paymentkit.sdk._endpoint import K, Resource, Spec, endpoint, get, get_page, post, put
from paymentkit.sdk._pagination import Page
from paymentkit.sdk._params import NOT_GIVEN, NotGiven
from paymentkit.sdk.types import PaymentCurrency


class PaymentCurrencies(Resource[K]):
    """Currencies of payment methods. Amounts in a currency are integers of its smallest unit,
    10^-`decimal` of one."""

    @endpoint
    def create(
        self,
        *,
        payment_method_id: str,
        name: str,
        symbol: str,
        decimal: int,
        active: bool | NotGiven = NOT_GIVEN,
        metadata: p.MetadataParam | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Spec[PaymentCurrency]:
        """Create a currency of a payment method; `decimal` is 0–18."""
        data = p.body(
            payment_method_id=payment_method_id,
            name=name,
            symbol=symbol,
            decimal=decimal,
            active=active,
            metadata=metadata,
        )
        return post("/api/payment-currencies", PaymentCurrency, data, idempotency_key)

    @endpoint
    def retrieve(self, id: str) -> Spec[PaymentCurrency]:
        """The payment currency with this id."""
        return get(f"/api/payment-currencies/{p.path_id(id)}", PaymentCurrency)

    @endpoint
    def update(
        self,
        id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        symbol: str | NotGiven = NOT_GIVEN,
        active: bool | NotGiven = NOT_GIVEN,
        metadata: p.MetadataParam | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Spec[PaymentCurrency]:
        """Change the given fields; `metadata` merges key by key (None removes a key)."""
        data = p.body(name=name, symbol=symbol, active=active, metadata=metadata)
        return put(
            f"/api/payment-currencies/{p.path_id(id)}", PaymentCurrency, data, idempotency_key
        )

    @endpoint
    def list(
        self,
        *,
        order: str | None = None,
        **paging: Unpack[p.Paging],
    ) -> Spec[Page[PaymentCurrency]]:
        """One page of payment currencies, newest first. A page is `page`/`page_size`, or a cursor
        (`starting_after` or `ending_before` an id) and `limit`, as for `customers.list`."""
        return get_page(
            "/api/payment-currencies",
            PaymentCurrency,
            p.paging(**paging) + p.query(order=order),
        )
