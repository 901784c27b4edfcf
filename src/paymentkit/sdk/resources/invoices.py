"""`client.invoices`: create (as draft), retrieve, list, and the transitions finalize, pay,
mark_uncollectible and void."""

from __future__ import annotations

from typing import Unpack

from paymentkit.schemas.billing import InvoiceStatus
from paymentkit.sdk import _params as p
from paymentkit.sdk._endpoint import K, Resource, Spec, endpoint, get, get_page, post
from paymentkit.sdk._pagination import Page
from paymentkit.sdk._params import NOT_GIVEN, NotGiven
from paymentkit.sdk.types import Invoice


class Invoices(Resource[K]):
    """Invoices of the API key's mode. Amounts are ints (or decimal strings) in the currency's
    smallest unit, of any size; they are sent as exact strings, never floats."""

    @endpoint
    def create(
        self,
        *,
        customer_id: str,
        currency_id: str,
        amount_due: p.Amount,
        subscription_id: str | NotGiven | None = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        due_date: int | NotGiven | None = NOT_GIVEN,
        period_start: int | NotGiven | None = NOT_GIVEN,
        period_end: int | NotGiven | None = NOT_GIVEN,
        metadata: p.MetadataParam | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Spec[Invoice]:
        """Create a `draft` invoice for a customer in a currency (optionally for one of the
        customer's subscriptions). `due_date`, `period_start` and `period_end` are unix seconds.
        An id that names nothing raises `InvalidRequestError` with `.param` naming it."""
        data = p.body(
            customer_id=customer_id,
            currency_id=currency_id,
            amount_due=p.amount(amount_due, "amount_due"),
            subscription_id=subscription_id,
            description=description,
            due_date=due_date,
            period_start=period_start,
            period_end=period_end,
            metadata=metadata,
        )
        return post("/api/invoices", Invoice, data, idempotency_key)

    @endpoint
    def retrieve(self, id: str) -> Spec[Invoice]:
        """The invoice with this id; `NotFoundError` when there is none."""
        return get(f"/api/invoices/{p.path_id(id)}", Invoice)

    @endpoint
    def finalize(self, id: str, *, idempotency_key: str | None = None) -> Spec[Invoice]:
        """draft → open. An invoice of zero becomes paid at once. Any other status raises
        `ConflictError` (`invalid_state`)."""
        return post(f"/api/invoices/{p.path_id(id)}/finalize", Invoice, None, idempotency_key)

    @endpoint
    def pay(
        self, id: str, *, amount: p.Amount | None = None, idempotency_key: str | None = None
    ) -> Spec[Invoice]:
        """Pay an open or uncollectible invoice: `amount` (an int) or, without it, all that
        remains. Paid in full, it becomes `paid`. An amount above what remains, zero or negative
        raises `InvalidRequestError` with `.param == "amount"`."""
        data = {} if amount is None else {"amount": p.amount(amount, "amount")}
        return post(f"/api/invoices/{p.path_id(id)}/pay", Invoice, data, idempotency_key)

    @endpoint
    def mark_uncollectible(self, id: str, *, idempotency_key: str | None = None) -> Spec[Invoice]:
        """open → uncollectible; the customer becomes delinquent and the invoice shows in its
        overdue invoices."""
        return post(
            f"/api/invoices/{p.path_id(id)}/mark_uncollectible", Invoice, None, idempotency_key
        )

    @endpoint
    def void(self, id: str, *, idempotency_key: str | None = None) -> Spec[Invoice]:
        """open or uncollectible → void."""
        return post(f"/api/invoices/{p.path_id(id)}/void", Invoice, None, idempotency_key)

    @endpoint
    def list(
        self,
        *,
        customer_id: str | None = None,
        status: InvoiceStatus | None = None,
        currency_id: str | None = None,
        subscription_id: str | None = None,
        order: str | None = None,
        **paging: Unpack[p.Paging],
    ) -> Spec[Page[Invoice]]:
        """One page of invoices, newest first, filtered by customer, status, currency and/or
        subscription. `order`: `"created_at:ASC"` and the like (created_at, updated_at, id).
        A page is `page`/`page_size`, or a cursor (`starting_after` or `ending_before` an id)
        and `limit`, as for `customers.list`."""
        return get_page(
            "/api/invoices",
            Invoice,
            p.paging(**paging)
            + p.query(
                customer_id=customer_id,
                status=status,
                currency_id=currency_id,
                subscription_id=subscription_id,
                order=order,
            ),
        )
