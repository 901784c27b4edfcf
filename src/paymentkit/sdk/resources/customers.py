"""`client.customers`: create, retrieve (by id or DID), update, list, search, delete, and a
customer's overdue invoices."""

from __future__ import annotations

from typing import Unpack

from paymentkit.sdk import _params as p
from paymentkit.sdk._endpoint import K, Resource, Spec, delete, endpoint, get, get_page, post, put
from paymentkit.sdk._pagination import Page
from paymentkit.sdk._params import NOT_GIVEN, NotGiven
from paymentkit.sdk.types import Address, Customer, DeletedObject, OverdueInvoices

_Text = str | None | NotGiven


class Customers(Resource[K]):
    """Customers of the API key's mode."""

    @endpoint
    def create(
        self,
        *,
        did: _Text = NOT_GIVEN,
        name: _Text = NOT_GIVEN,
        email: _Text = NOT_GIVEN,
        phone: _Text = NOT_GIVEN,
        address: p.AddressParams | Address | NotGiven | None = NOT_GIVEN,
        description: _Text = NOT_GIVEN,
        metadata: p.MetadataParam | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Spec[Customer]:
        """Create a customer; every field is optional.

        `did` is a DID (base58 starting with `z`, `did:abt:` prefix allowed), `phone` a number
        with its country code (`+1…`), `address["country"]` an ISO alpha-2 code. A DID already
        used in this mode raises `ConflictError` (`resource_exists`); a bad value
        `InvalidRequestError` naming it in `.param`.
        """
        data = p.body(
            did=did,
            name=name,
            email=email,
            phone=phone,
            address=p.address(address),
            description=description,
            metadata=metadata,
        )
        return post("/api/customers", Customer, data, idempotency_key)

    @endpoint
    def retrieve(self, id: str, *, create: bool = False) -> Spec[Customer]:
        """The customer with this id (`cus_…`) or DID (with or without `did:abt:`).

        With `create=True` a DID that names no customer gets one, atomically (two racing calls
        make one customer). Raises `NotFoundError` when there is none.
        """
        query = (("create", "true"),) if create else ()
        return get(f"/api/customers/{p.path_id(id)}", Customer, query)

    @endpoint
    def update(
        self,
        id: str,
        *,
        did: _Text = NOT_GIVEN,
        name: _Text = NOT_GIVEN,
        email: _Text = NOT_GIVEN,
        phone: _Text = NOT_GIVEN,
        address: p.AddressParams | Address | NotGiven | None = NOT_GIVEN,
        description: _Text = NOT_GIVEN,
        metadata: p.MetadataParam | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Spec[Customer]:
        """Change the given fields; the others stay. Returns the whole customer.

        `None` clears a field. `metadata` and `address` merge key by key: a key set to None (or
        "" in metadata) is removed; `metadata=None` clears all metadata and `address=None` the
        address. `did` can be set only while the customer has none.
        """
        data = p.body(
            did=did,
            name=name,
            email=email,
            phone=phone,
            address=p.address(address),
            description=description,
            metadata=metadata,
        )
        return put(f"/api/customers/{p.path_id(id)}", Customer, data, idempotency_key)

    @endpoint
    def delete(self, id: str, *, idempotency_key: str | None = None) -> Spec[DeletedObject]:
        """Delete a customer: it leaves lists, search and retrieve. Refused (`ConflictError`,
        `invalid_state`) while it has an invoice that is not paid or void (drafts included) or a
        live subscription."""
        return delete(f"/api/customers/{p.path_id(id)}", DeletedObject, idempotency_key)

    @endpoint
    def overdue_invoices(self, id: str) -> Spec[OverdueInvoices]:
        """The customer (by id or DID), its uncollectible invoices oldest first, the exact sum
        still owed per currency (`summary[currency_id].amount`, an int) and
        `subscription_count`."""
        return get(f"/api/customers/{p.path_id(id)}/overdue/invoices", OverdueInvoices)

    @endpoint
    def search(
        self,
        query: str,
        **paging: Unpack[p.Paging],
    ) -> Spec[Page[Customer]]:
        """Customers whose id, DID, name, email or phone contains `query` (case-insensitive;
        `%`, `_` and `\\` match themselves), newest first. One page, chosen as for `list`;
        `auto_paging_iter()` walks them all."""
        return get_page(
            "/api/customers/search",
            Customer,
            p.query(query=query) + p.paging(**paging),
        )

    @endpoint
    def list(
        self,
        *,
        did: str | None = None,
        email: str | None = None,
        metadata: p.MetadataFilter | None = None,
        order: str | None = None,
        **paging: Unpack[p.Paging],
    ) -> Spec[Page[Customer]]:
        """One page of customers, newest first unless `order` says otherwise.

        The page is `page` (from 1) of `page_size` (1–100, default 20), or with a cursor the
        `limit` (1–100, default 20) customers after the customer `starting_after` or before the
        customer `ending_before`, in the list's order. A cursor with `page`, or both cursors,
        raise `ValueError`; a cursor naming no customer `InvalidRequestError`. Filters: `did`,
        `email` (case-insensitive exact), `metadata={"KEY": "VALUE"}` (each must match). `order`
        is `"FIELD:ASC"` or `"FIELD:DESC"` with FIELD one of created_at, updated_at, name, email.
        `auto_paging_iter()` on the page walks every page with the same filters.
        """
        return get_page(
            "/api/customers",
            Customer,
            p.paging(**paging) + p.query(metadata, did=did, email=email, order=order),
        )
