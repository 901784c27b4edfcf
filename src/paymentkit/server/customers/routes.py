"""Customer routes: HTTP in and out only; rules live in service.py, SQL in repository.py."""

from __future__ import annotations

from typing import Any

import msgspec

from paymentkit.schemas.billing import OverdueInvoices
from paymentkit.schemas.customers import (
    Customer,
    CustomerInput,
    CustomerList,
    DeletedCustomer,
    RetrieveOptions,
)
from paymentkit.server import errors, params
from paymentkit.server.customers import bulk, lifecycle, overdue, rules, service
from paymentkit.server.customers import repository as repo
from paymentkit.server.db.engine import Tx
from paymentkit.server.http import (
    READ_ERRORS,
    WRITE_ERRORS,
    Call,
    QueryParam,
    Registry,
    Reply,
    Stream,
    convert,
)

api = Registry("Customers")


@api.route(
    "POST",
    "/api/customers",
    "Create a customer",
    status=201,
    response=Customer,
    body=CustomerInput,
    query=(params.LIVEMODE_PARAM,),
    errors=(*WRITE_ERRORS, errors.ResourceExists),
)
async def create(call: Call) -> Reply:
    """Creates a customer in the API key's mode. Every field is optional; a DID already used by a
    customer of this mode is a 409 `resource_exists`."""
    params.reject_unknown(call.query, {"livemode"})
    data = convert(await call.json(), CustomerInput)
    return await call.write(lambda tx: service.create(tx, call.livemode, data), 201)


_LIST_QUERY = (
    *params.PAGING_PARAMS,
    QueryParam("did", {"type": "string"}, "Only the customer with this DID"),
    QueryParam(
        "email",
        {"type": "string"},
        "Exact email match, normalised as create stores it: case-insensitive, an IDN domain in"
        " Unicode or punycode alike; a value that is no valid address matches nothing",
    ),
    QueryParam(
        "metadata.KEY",
        {"type": "string"},
        "Only customers whose metadata KEY equals the value (also metadata[KEY]=VALUE)",
    ),
    QueryParam(
        "delinquent",
        {"type": "string", "enum": ["true", "false"]},
        "true: only customers with an uncollectible invoice; false: only those without",
    ),
    QueryParam(
        "order",
        params.order_schema(("created_at", "updated_at", "name", "email", "id")),
        "created_at, updated_at, name or email, with :ASC or :DESC; also the qs list forms "
        "order[0]=field&order[1]=DIR and order[0][0]=field&order[0][1]=DIR",
    ),
    params.LIVEMODE_PARAM,
)

_NEWEST = [("created_at", True)]


@api.route(
    "GET",
    "/api/customers",
    "List customers",
    response=CustomerList,
    query=_LIST_QUERY,
    errors=READ_ERRORS,
)
async def list_(call: Call) -> Reply:
    """Lists customers of the key's mode, newest first by default; ties fall back to creation
    order. `delinquent=true|false` keeps the customers with (without) an uncollectible invoice."""
    q = call.query
    params.reject_unknown(
        q,
        {*params.PAGING_NAMES, "did", "email", "order", "livemode", "metadata", "delinquent"},
        ("metadata.",),
    )
    ordering = params.order(q.get("order"), set(repo.SORTABLE), _NEWEST)
    request = params.list_request(q, ordering)
    filters = service.list_filters(
        call.livemode,
        params.string(q, "did"),
        params.string(q, "email"),
        _metadata_filters(q),
        params.boolean(q, "delinquent"),
    )
    if filters is None:  # a DID or email create would refuse: no customer has it
        return Reply(200, service.empty_page(request))
    result = await call.services.db.transaction(
        lambda tx: service.list_customers(tx, filters, request)
    )
    return Reply(200, result)


def _metadata_filters(q: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, Any]] = [
        (k[len("metadata.") :], v) for k, v in q.items() if k.startswith("metadata.")
    ]
    nested = q.get("metadata")
    if nested is not None:
        if not isinstance(nested, dict):
            raise errors.InvalidRequest("metadata filters are metadata[KEY]=VALUE", "metadata")
        pairs.extend(nested.items())
    if len(pairs) > params.MAX_METADATA_FILTERS:
        raise errors.InvalidRequest(
            f"at most {params.MAX_METADATA_FILTERS} metadata filters may be combined", "metadata"
        )
    out = []
    for key, value in pairs:
        if not isinstance(value, str) or not key:
            raise errors.InvalidRequest(
                "metadata filters are metadata.KEY=VALUE with a string value", f"metadata.{key}"
            )
        out.append((key, value))
    return tuple(out)


@api.route(
    "GET",
    "/api/customers/search",
    "Search customers",
    response=CustomerList,
    query=(
        QueryParam("query", {"type": "string", "minLength": 1}, "Text to find (alias q)", True),
        QueryParam("q", {"type": "string"}, "Alias of query"),
        *params.PAGING_PARAMS,
        params.LIVEMODE_PARAM,
    ),
    errors=READ_ERRORS,
)
async def search(call: Call) -> Reply:
    """Case-insensitive substring search over id, did, name, email and phone; `%`, `_` and `\\`
    match themselves. Newest first."""
    q = call.query
    params.reject_unknown(q, {"query", "q", *params.PAGING_NAMES, "livemode"})
    text = params.string(q, "query")
    if text is None:
        text = params.string(q, "q")
    filters = service.search_filters(call.livemode, text)
    request = params.list_request(q, _NEWEST)
    if filters is None:  # would match across two fields; nothing can match
        return Reply(200, service.empty_page(request))
    result = await call.services.db.transaction(
        lambda tx: service.list_customers(tx, filters, request)
    )
    return Reply(200, result)


@api.route(
    "GET",
    "/api/customers/export",
    "Export customers",
    response=Customer,
    query=(
        QueryParam(
            "format",
            {"type": "string", "enum": list(bulk.FORMATS), "default": "jsonl"},
            "jsonl: one customer object per line; csv: a header line, then one row each",
        ),
        *(
            p
            for p in _LIST_QUERY
            if p.name in ("did", "email", "metadata.KEY", "delinquent", "livemode")
        ),
    ),
    errors=READ_ERRORS,
    streamed={bulk.media_type("jsonl"): Customer, bulk.media_type("csv"): None},
)
async def export(call: Call) -> Reply:
    """Every customer of the key's mode that the list's filters (`did`, `email`,
    `metadata.KEY=VALUE`, `delinquent`) match, once, newest first, streamed as it is read. JSON Lines: each
    line the customer as retrieve renders it. CSV: columns id, did, name, email, phone,
    description, address.country … address.postal_code, metadata (the JSON object), balance,
    delinquent, livemode, created_at, updated_at. `paymentkit import customers` reads either."""
    q = call.query
    params.reject_unknown(
        q, {"format", "did", "email", "metadata", "delinquent", "livemode"}, ("metadata.",)
    )
    fmt = bulk.parse_format(params.string(q, "format") or "jsonl")
    if fmt is None:
        raise errors.InvalidRequest("format must be jsonl or csv", "format")
    filters = service.list_filters(
        call.livemode,
        params.string(q, "did"),
        params.string(q, "email"),
        _metadata_filters(q),
        params.boolean(q, "delinquent"),
    )
    chunks = bulk.stream(call.services.db, filters, fmt)  # None: nothing can match
    return Reply(200, Stream(chunks, bulk.media_type(fmt), f"customers.{fmt}"))


@api.route(
    "GET",
    "/api/customers/{id}",
    "Retrieve a customer by id or DID",
    response=Customer,
    body=RetrieveOptions,
    query=(
        QueryParam("create", {"type": "string", "enum": ["true", "false"]}, "Same as body create"),
        params.LIVEMODE_PARAM,
    ),
    errors=(*READ_ERRORS, errors.NotFound),
    extra_statuses={201: Customer},
)
async def retrieve(call: Call) -> Reply:
    """`cus_…` is an id, anything else a DID (`did:abt:` prefix stripped). With `create: true` (body
    or query) a missing DID is created atomically: 201 when made, 200 when it existed."""
    params.reject_unknown(call.query, {"create", "livemode"})
    id_or_did = call.path("id")
    options = convert(await call.json(), RetrieveOptions)
    create = _flag(options.create, "create") or _flag(call.query.get("create"), "create")
    db = call.services.db
    if not create:
        customer = await db.transaction(lambda tx: service.retrieve(tx, call.livemode, id_or_did))
        return Reply(200, customer)
    if not id_or_did.startswith("cus_") and rules.did(id_or_did, "id") is None:
        raise errors.InvalidRequest("id must be a customer id or a DID to get or create", "id")

    def work(tx: Tx) -> tuple[Any, bool]:
        found = service.retrieve_or_create(tx, call.livemode, id_or_did)
        if found[1]:  # only a creation spends a component signature; a lookup may repeat
            call.spend_signature(tx)
        return found

    found = await db.transaction(work, write=True)
    return Reply(201 if found[1] else 200, found[0])


def _flag(value: Any, name: str) -> bool:
    if value is None or value is msgspec.UNSET:
        return False
    if isinstance(value, bool):
        return value
    return bool(params.boolean({name: value}, name))


@api.route(
    "GET",
    "/api/customers/{id}/overdue/invoices",
    "The customer's overdue invoices",
    response=OverdueInvoices,
    query=(params.LIVEMODE_PARAM,),
    errors=(*READ_ERRORS, errors.NotFound),
)
async def overdue_invoices(call: Call) -> Reply:
    """The customer (by id or DID), every `uncollectible` invoice oldest first, a summary per
    currency id with the exact sum of `amount_remaining`, the currency and its payment method
    (settings redacted), and the number of distinct subscriptions among those invoices."""
    params.reject_unknown(call.query, {"livemode"})
    id_or_did = call.path("id")
    await call.json()  # the Node client may send an empty body; anything else is ignored
    result = await call.services.db.transaction(
        lambda tx: overdue.overdue_invoices(
            tx, call.livemode, id_or_did, call.services.overdue_cache
        )
    )
    return Reply(200, result)


@api.route(
    "PUT",
    "/api/customers/{id}",
    "Update a customer",
    response=Customer,
    body=CustomerInput,
    query=(params.LIVEMODE_PARAM,),
    errors=(*WRITE_ERRORS, errors.NotFound, errors.ResourceExists),
)
async def update(call: Call) -> Reply:
    """Partial update: fields not sent stay. `metadata` and `address` merge key by key."""
    params.reject_unknown(call.query, {"livemode"})
    customer_id = call.path("id")
    data = convert(await call.json(), CustomerInput)
    return await call.write(lambda tx: service.update(tx, call.livemode, customer_id, data), 200)


@api.route(
    "DELETE",
    "/api/customers/{id}",
    "Delete a customer",
    response=DeletedCustomer,
    query=(params.LIVEMODE_PARAM,),
    errors=(*READ_ERRORS, errors.NotFound, errors.InvalidState),
)
async def delete(call: Call) -> Reply:
    """Deletes the customer: it leaves lists, search and retrieve (404) and frees its DID.
    Refused with 409 `invalid_state` while any invoice of the customer is not `paid` or `void`
    (drafts included) or any subscription has not ended (`canceled`, `incomplete_expired`).
    A deleted customer takes no new invoices or subscriptions, and its invoices do not move."""
    params.reject_unknown(call.query, {"livemode"})
    customer_id = call.path("id")
    return await call.write(lambda tx: lifecycle.delete(tx, call.livemode, customer_id), 200)
