"""Customer rules and transactions. Functions take an open `Tx`; the route owns the transaction."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UnsetType

from paymentkit.schemas.customers import (
    Address,
    AddressInput,
    Customer,
    CustomerInput,
    CustomerList,
)
from paymentkit.server import errors, listing, validation
from paymentkit.server.customers import repository as repo
from paymentkit.server.customers import rules, search_stats
from paymentkit.server.customers.repository import NewCustomer
from paymentkit.server.db import codec
from paymentkit.server.db.engine import Tx, UniqueViolation
from paymentkit.server.db.paging import ListRequest, Page
from paymentkit.server.events import outbox, types
from paymentkit.server.ids import iso_ms, new_id, now_ms

_address = msgspec.json.Decoder(Address)


def to_wire(r: repo.CustomerRecord) -> Customer:
    return Customer(
        id=r.id,
        did=r.did,
        name=r.name,
        email=r.email,
        phone=r.phone,
        address=None if r.address is None else _address.decode(r.address),
        description=r.description,
        balance=r.balance,
        delinquent=r.delinquent,
        livemode=r.livemode,
        metadata=codec.object_of(r.metadata),
        created_at=iso_ms(r.created_at),
        updated_at=iso_ms(r.updated_at),
    )


def _address_changes(value: AddressInput | UnsetType | None) -> dict[str, Any] | None:
    if value is None or isinstance(value, UnsetType):
        return None
    return {f: getattr(value, f) for f in rules.ADDRESS_FIELDS}


def _not_found(id_or_did: str) -> errors.NotFound:
    return errors.NotFound(f"No such customer: {id_or_did}")


def _did_taken(did: str) -> errors.ResourceExists:
    return errors.ResourceExists(f"A customer with did {did} already exists", "did")


def prepare(livemode: bool, data: CustomerInput, created_at: int) -> NewCustomer:
    """A validated new customer (every rule of create, no I/O): raises InvalidRequest naming the
    field. `paymentkit import` runs the same function on each row."""
    did = rules.did(validation.given(data.did))
    name = rules.text(validation.given(data.name), "name", rules.NAME_MAX)
    email = rules.email(validation.given(data.email))
    phone = rules.phone(validation.given(data.phone))
    description = rules.text(
        validation.given(data.description), "description", rules.DESCRIPTION_MAX
    )
    address = rules.address(None, _address_changes(data.address))
    metadata = rules.metadata({}, validation.given(data.metadata))
    return NewCustomer(
        id=new_id("cus"),
        livemode=livemode,
        did=did,
        name=name,
        email=email,
        phone=phone,
        address=None if address is None else codec.to_text(address),
        description=description,
        metadata=codec.to_text(metadata),
        search_text=rules.search_text(name, email, phone),
        created_at=created_at,
        metadata_rows=_metadata_rows(metadata),
    )


def create(tx: Tx, livemode: bool, data: CustomerInput) -> Customer:
    new = prepare(livemode, data, now_ms())
    try:
        seq = repo.insert(tx, new)
    except UniqueViolation:
        assert new.did is not None
        raise _did_taken(new.did) from None
    if new.metadata_rows:
        # a new customer has no invoices, so is not delinquent
        repo.replace_metadata(tx, seq, livemode, new.created_at, new.metadata_rows, False)
    customer = _fetch(tx, livemode, new.id)
    outbox.record(tx, livemode, types.CUSTOMER_CREATED, customer)
    return customer


def _metadata_rows(metadata: dict[str, Any]) -> dict[str, str]:
    return {k: rules.metadata_text(v) for k, v in metadata.items()}


def _fetch(tx: Tx, livemode: bool, customer_id: str) -> Customer:
    record = repo.get_by_id(tx, livemode, customer_id)
    if record is None:
        raise _not_found(customer_id)
    return to_wire(record)


def _lookup(tx: Tx, livemode: bool, id_or_did: str) -> repo.CustomerRecord | None:
    if id_or_did.startswith("cus_"):
        return repo.get_by_id(tx, livemode, id_or_did)
    did = did_or_none(id_or_did)
    return None if did is None else repo.get_by_did(tx, livemode, did)


def did_or_none(value: str) -> str | None:
    try:
        return rules.did(value)
    except errors.InvalidRequest:
        return None


def email_or_none(value: str) -> str | None:
    """An email as storage holds it (`rules.email`); None when it is none create would store."""
    try:
        return rules.email(value)
    except errors.InvalidRequest:
        return None


def list_filters(
    livemode: bool,
    did: str | None,
    email: str | None,
    metadata: tuple[tuple[str, str], ...] = (),
    delinquent: bool | None = None,
) -> repo.Filters | None:
    """The filters of a list or export, their values normalised exactly as create stores them
    (a `did:abt:` prefix, an email's IDN domain in punycode or any case), so any form create
    accepts finds the customer. None when no customer can match: a value create would refuse
    or store as "not set" (an empty string)."""
    did_value = None if did is None else did_or_none(did)
    email_value = None if email is None else email_or_none(email)
    if (did is not None and did_value is None) or (email is not None and email_value is None):
        return None
    return repo.Filters(
        livemode=livemode,
        did=did_value,
        email=email_value,
        metadata=metadata,
        delinquent=delinquent,
    )


def search_filters(livemode: bool, text: str | None) -> repo.Filters | None:
    """The filters of a search for `text` (400 naming `query` when it is missing, blank or too
    long); None when nothing can match (a term that would span two fields)."""
    if text is None or not text.strip():
        raise errors.InvalidRequest("query is required and may not be empty", "query")
    if len(text) > rules.SEARCH_MAX:
        raise errors.InvalidRequest(f"query must be at most {rules.SEARCH_MAX} characters", "query")
    term = rules.search_term(text)
    return None if term is None else repo.Filters(livemode=livemode, search=term)


def lookup(tx: Tx, livemode: bool, id_or_did: str) -> repo.CustomerRecord:
    record = _lookup(tx, livemode, id_or_did)
    if record is None:
        raise _not_found(id_or_did)
    return record


def retrieve(tx: Tx, livemode: bool, id_or_did: str) -> Customer:
    return to_wire(lookup(tx, livemode, id_or_did))


def retrieve_or_create(tx: Tx, livemode: bool, id_or_did: str) -> tuple[Customer, bool]:
    """Get the customer with this DID, making it if none exists; (customer, created)."""
    if id_or_did.startswith("cus_"):
        return retrieve(tx, livemode, id_or_did), False
    did = rules.did(id_or_did, "id")
    assert did is not None
    existing = repo.get_by_did(tx, livemode, did)
    if existing is not None:
        return to_wire(existing), False
    customer_id = new_id("cus")
    created = repo.insert_unless_did_taken(
        tx,
        NewCustomer(
            id=customer_id,
            livemode=livemode,
            did=did,
            name=None,
            email=None,
            phone=None,
            address=None,
            description=None,
            metadata="{}",
            search_text=rules.search_text(None, None, None),
            created_at=now_ms(),
            metadata_rows={},
        ),
    )
    record = repo.get_by_did(tx, livemode, did)
    assert record is not None
    customer = to_wire(record)
    if created:
        outbox.record(tx, livemode, types.CUSTOMER_CREATED, customer)
    return customer, created


def update(tx: Tx, livemode: bool, customer_id: str, data: CustomerInput) -> Customer:
    current = (
        repo.get_by_id(tx, livemode, customer_id, lock=True)
        if customer_id.startswith("cus_")
        else None
    )
    if current is None:
        raise _not_found(customer_id)
    fields: dict[str, Any] = {}
    if not isinstance(data.did, UnsetType):
        did = rules.did(data.did)
        if did != current.did:
            if current.did is not None:
                raise errors.InvalidRequest(
                    "did can be set only while the customer has none", "did"
                )
            fields["did"] = did
    if not isinstance(data.name, UnsetType):
        fields["name"] = rules.text(data.name, "name", rules.NAME_MAX)
    if not isinstance(data.email, UnsetType):
        fields["email"] = rules.email(data.email)
    if not isinstance(data.phone, UnsetType):
        fields["phone"] = rules.phone(data.phone)
    if not isinstance(data.description, UnsetType):
        fields["description"] = rules.text(data.description, "description", rules.DESCRIPTION_MAX)
    if not isinstance(data.address, UnsetType):
        old = None if current.address is None else codec.object_of(current.address)
        new = rules.address(old, _address_changes(data.address))
        fields["address"] = None if new is None else codec.to_text(new)
    metadata: dict[str, Any] | None = None
    if not isinstance(data.metadata, UnsetType):
        metadata = rules.metadata(codec.object_of(current.metadata), data.metadata)
        fields["metadata"] = codec.to_text(metadata)
    fields = {k: v for k, v in fields.items() if getattr(current, k) != v}
    if not fields:
        return to_wire(current)
    if fields.keys() & {"name", "email", "phone"}:  # what search matches against changed
        merged = {**vars(current), **fields}
        fields["search_text"] = rules.search_text(merged["name"], merged["email"], merged["phone"])
    fields["updated_at"] = max(now_ms(), current.updated_at)
    try:
        repo.update(tx, current.seq, livemode, fields)
    except UniqueViolation:
        raise _did_taken(str(fields["did"])) from None
    if metadata is not None:
        repo.replace_metadata(
            tx,
            current.seq,
            livemode,
            current.created_at,
            _metadata_rows(metadata),
            current.delinquent,  # read from the row `current` holds locked
        )
    customer = _fetch(tx, livemode, customer_id)
    before = to_wire(current)
    outbox.record(tx, livemode, types.CUSTOMER_UPDATED, customer, outbox.changes(before, customer))
    return customer


def list_customers(tx: Tx, filters: repo.Filters, request: ListRequest) -> CustomerList:
    return listing.answer(CustomerList, request, repo.page(tx, filters, request), to_wire)


def empty_page(request: ListRequest) -> CustomerList:
    """The answer of a filter nothing can match (a DID filter that is no DID, say)."""
    return listing.answer(CustomerList, request, Page([], False, 0, True), to_wire)


def search_sample(tx: Tx, livemode: bool, *, force: bool = False) -> search_stats.Sample | None:
    """A new sample of the mode's search trigrams when `force` (after an import that grew the
    mode) or when its figures are stale (the mode grew or shrank by a fifth since the last, or
    was never sampled); None otherwise. It only reads: the caller stores it with
    `search_stats.store` in a write of its own, so sampling holds no write lock."""
    population = repo.live_count(tx, livemode)
    if not force and not search_stats.stale(
        search_stats.sampled_population(tx, livemode), population
    ):
        return None
    return search_stats.take(tx, livemode, population)
