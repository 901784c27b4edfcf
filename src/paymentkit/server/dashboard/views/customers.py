"""The customers list (search, filters, order, cursor pages, CSV export) and a customer's page
(profile and its edit form, overdue panel, invoices, subscriptions, events, delete)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.responses import Response, StreamingResponse

from paymentkit.schemas.customers import Customer, CustomerInput, CustomerList
from paymentkit.server import errors, http, params
from paymentkit.server.customers import bulk, lifecycle, overdue, service
from paymentkit.server.customers import repository as customers_repo
from paymentkit.server.customers.rules import ADDRESS_FIELDS
from paymentkit.server.dashboard import rules
from paymentkit.server.dashboard.web import HOME, Page, pages, redirect
from paymentkit.server.db.engine import Tx
from paymentkit.server.db.paging import ListRequest
from paymentkit.server.events import service as events
from paymentkit.server.invoices import rules as invoice_rules
from paymentkit.server.invoices import service as invoices
from paymentkit.server.payment_currencies import repository as currencies
from paymentkit.server.payment_currencies.service import to_wire as currency_to_wire
from paymentkit.server.subscriptions import repository as subscriptions_repo
from paymentkit.server.subscriptions import service as subscriptions
from paymentkit.server.webhooks import service as webhooks

NEWEST = [("created_at", True)]
# The API's orders (customers/repository.SORTABLE) as the list offers them.
ORDERS = {
    "created_at:DESC": "Newest first",
    "created_at:ASC": "Oldest first",
    "updated_at:DESC": "Recently updated",
    "name:ASC": "Name A–Z",
    "name:DESC": "Name Z–A",
    "email:ASC": "Email A–Z",
    "email:DESC": "Email Z–A",
}
FILTERS = ("q", "email", "did", "metadata", "delinquent", "order")
PAGE_SIZES = ("20", "50", "100")
INVOICES_SHOWN = 50
SUBSCRIPTIONS_SHOWN = 50
EVENTS_SHOWN = 30
ACTIONS = ("finalize", "pay", "mark_uncollectible", "void")
ACTION_LABELS = {
    "finalize": "Finalize",
    "pay": "Pay",
    "mark_uncollectible": "Mark uncollectible",
    "void": "Void",
}


@dataclass(frozen=True)
class Listing:
    """What the list form asked for, as the API's filters and paging."""

    values: dict[str, str]
    filters: Any  # customers_repo.Filters | None (None: nothing can match)
    request: ListRequest
    searching: bool


def _listing(page: Page) -> Listing:
    values = {name: (page.query(name) or "").strip() for name in FILTERS}
    size = page.query("pageSize") or PAGE_SIZES[0]
    values["pageSize"] = size if size in PAGE_SIZES else PAGE_SIZES[0]
    paging = {"pageSize": values["pageSize"]}
    for cursor in ("starting_after", "ending_before"):
        value = page.query(cursor)
        if value:
            paging[cursor] = value
    if values["order"] not in ORDERS:
        values["order"] = ""
    if values["q"]:
        request = params.list_request(paging, NEWEST)
        return Listing(values, service.search_filters(page.livemode, values["q"]), request, True)
    ordering = params.order(values["order"] or None, set(customers_repo.SORTABLE), NEWEST)
    request = params.list_request(paging, ordering)
    return Listing(values, _filters(page.livemode, values), request, False)


def _filters(livemode: bool, values: dict[str, str]) -> Any:
    metadata: tuple[tuple[str, str], ...] = ()
    if values["metadata"]:
        key, sep, value = values["metadata"].partition("=")
        if not sep or not key.strip():
            raise errors.InvalidRequest("the metadata filter is key=value", "metadata")
        metadata = ((key.strip(), value.strip()),)
    delinquent = {"true": True, "false": False}.get(values["delinquent"])
    if delinquent is None:
        values["delinquent"] = ""
    return service.list_filters(
        livemode, values["did"] or None, values["email"] or None, metadata, delinquent
    )


def _link(values: dict[str, str], **extra: str) -> str:
    query = {k: v for k, v in values.items() if v and k != "pageSize"}
    if values.get("pageSize", PAGE_SIZES[0]) != PAGE_SIZES[0]:
        query["pageSize"] = values["pageSize"]
    query.update(extra)
    return HOME + ("?" + urllib.parse.urlencode(query) if query else "")


def _pager(listing: Listing, result: CustomerList) -> dict[str, str | None]:
    """Links to the pages before and after this one (cursor paging both ways)."""
    cursor = listing.request.cursor
    ids = [c.id for c in result.list]
    if not ids:
        return {"newer": None, "older": None}
    backwards = cursor is not None and cursor.before
    newer = (result.has_more if backwards else cursor is not None) and _link(
        listing.values, ending_before=ids[0]
    )
    older = (cursor is not None if backwards else result.has_more) and _link(
        listing.values, starting_after=ids[-1]
    )
    return {"newer": newer or None, "older": older or None}


@pages.get("/")
async def customer_list(page: Page) -> Response:
    """Customers: search (the API's search) or filters, an order, cursor pages, the count."""
    error: errors.APIError | None = None
    result: CustomerList | None = None
    listing: Listing | None = None
    values = {name: (page.query(name) or "").strip() for name in FILTERS}
    values["pageSize"] = PAGE_SIZES[0]
    try:
        listing = _listing(page)
        values = listing.values
        filters = listing.filters
        if filters is None:
            result = service.empty_page(listing.request)
        else:
            result = await page.read(
                lambda tx: service.list_customers(tx, filters, listing.request)
            )
    except errors.InvalidRequest as exc:
        error = exc
    export = None
    if listing is not None and not listing.searching:
        export = "/dashboard/customers/export.csv" + (
            "?" + urllib.parse.urlencode(q) if (q := _export_query(values)) else ""
        )
    return page.render(
        "customers.html",
        400 if error else 200,
        values=values,
        orders=ORDERS,
        page_sizes=PAGE_SIZES,
        result=result,
        pager=_pager(listing, result) if listing and result else {},
        error=error,
        error_field=rules.field_of(error.param) if error else None,
        searching=bool(values.get("q")),
        filtered=any(values.get(k) for k in ("email", "did", "metadata", "delinquent")),
        export=export,
    )


def _export_query(values: dict[str, str]) -> dict[str, str]:
    return {k: values[k] for k in ("email", "did", "metadata", "delinquent") if values.get(k)}


@pages.get("/customers/export.csv")
async def export_csv(page: Page) -> Response:
    """The list's filters as CSV, streamed through the API's export."""
    values = {name: (page.query(name) or "").strip() for name in FILTERS}
    filters = _filters(page.livemode, values)
    return StreamingResponse(
        bulk.stream(page.services.db, filters, "csv"),
        media_type=bulk.media_type("csv"),
        headers={
            "Content-Disposition": 'attachment; filename="customers.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@dataclass
class CustomerView:
    customer: Customer
    overdue: overdue.OverdueResponse
    overdue_invoices: list[Any]
    invoices: Any
    subscriptions: Any
    currencies: dict[str, Any]
    events: Any
    actions: dict[str, list[str]]  # per invoice, the transitions its status allows
    cancellable: set[str]  # the subscriptions that have not ended
    attempts: dict[str, list[Any]]  # per event, its webhook attempts


def load_customer(
    tx: Tx, livemode: bool, id_or_did: str, cache: overdue.RenderCache
) -> CustomerView:
    """Everything the customer page shows, read in one transaction through the API's services."""
    summary = overdue.overdue_invoices(tx, livemode, id_or_did, cache)
    customer = summary.customer
    invoice_page = invoices.RESOURCE.list(
        tx, livemode, ListRequest(1, INVOICES_SHOWN, filters={"customer_id": customer.id})
    )
    subscription_page = subscriptions.RESOURCE.list(
        tx, livemode, ListRequest(1, SUBSCRIPTIONS_SHOWN, filters={"customer_id": customer.id})
    )
    currency_ids = sorted(
        {i.currency_id for i in invoice_page.list} | {s.currency_id for s in subscription_page.list}
    )
    by_id = {c.id: c for c in map(currency_to_wire, currencies.get_many(tx, currency_ids))}
    for entry in summary.summary.values():
        by_id.setdefault(entry.currency.id, entry.currency)
    objects = [
        customer.id,
        *(i.id for i in invoice_page.list),
        *(s.id for s in subscription_page.list),
    ]
    timeline = events.list_for_objects(tx, livemode, objects, ListRequest(1, EVENTS_SHOWN))
    # only counted on the page: its items stay undecoded JSON
    overdue_list = msgspec.json.decode(summary.invoices, type=list[msgspec.Raw])
    actions = {
        i.id: [a for a in ACTIONS if invoice_rules.allowed(a, i.status)] for i in invoice_page.list
    }
    return CustomerView(
        customer,
        summary,
        overdue_list,
        invoice_page,
        subscription_page,
        by_id,
        timeline,
        actions,
        {s.id for s in subscription_page.list if s.status not in subscriptions_repo.ENDED},
        webhooks.attempts_of_events(tx, livemode, [e.id for e in timeline.list]),
    )


async def render_customer(
    page: Page,
    id_or_did: str,
    *,
    status: int = 200,
    form: dict[str, str] | None = None,
    error: errors.APIError | None = None,
) -> Response:
    cache = page.services.overdue_cache
    view = await page.read(lambda tx: load_customer(tx, page.livemode, id_or_did, cache))
    customer = view.customer
    address = customer.address
    shown = {
        "name": customer.name or "",
        "email": customer.email or "",
        "phone": customer.phone or "",
        "description": customer.description or "",
        "did": "",
        "metadata": rules.metadata_lines(customer.metadata),
        **{f"address.{f}": (getattr(address, f) or "") if address else "" for f in ADDRESS_FIELDS},
    }
    if form is not None:
        shown.update({k: v for k, v in form.items() if k in shown})
    return page.render(
        "customer.html",
        status,
        view=view,
        c=customer,
        form=shown,
        error=error,
        error_field=rules.field_of(error.param) if error else None,
        action_labels=ACTION_LABELS,
    )


@pages.get("/customers/{id}")
async def customer_page(page: Page) -> Response:
    """A customer: profile, edit form, overdue panel, invoices, subscriptions, events."""
    return await render_customer(page, page.path("id"))


@pages.post("/customers/{id}")
async def update_customer(page: Page) -> Response:
    """The edit form, as the API's update: its validation errors are shown at their fields."""
    id_or_did = page.path("id")
    livemode = page.livemode

    def work(tx: Tx) -> Customer:
        current = service.retrieve(tx, livemode, id_or_did)
        body = rules.customer_changes(page.form, msgspec.to_builtins(current))
        return service.update(tx, livemode, current.id, http.convert(body, CustomerInput))

    try:
        customer = await page.write(work)
    except (errors.InvalidRequest, errors.ResourceExists) as exc:
        return await render_customer(page, id_or_did, status=exc.status, form=page.form, error=exc)
    return redirect(f"/dashboard/customers/{customer.id}", notice="saved")


@pages.get("/customers/{id}/delete")
async def confirm_delete(page: Page) -> Response:
    """Asks before deleting."""
    customer = await page.read(lambda tx: service.retrieve(tx, page.livemode, page.path("id")))
    return page.render("confirm_delete.html", c=customer, error=None)


@pages.post("/customers/{id}/delete")
async def delete_customer(page: Page) -> Response:
    """Deletes with the API's rule (409 while invoices are unsettled or subscriptions run)."""
    customer_id = page.path("id")
    try:
        await page.write(lambda tx: lifecycle.delete(tx, page.livemode, customer_id))
    except errors.InvalidState as exc:
        customer = await page.read(lambda tx: service.retrieve(tx, page.livemode, customer_id))
        return page.render("confirm_delete.html", 409, c=customer, error=exc)
    return redirect(HOME, notice="deleted")
