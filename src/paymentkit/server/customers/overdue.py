"""The customer's overdue invoices: every uncollectible invoice, oldest first, with exact sums of
`amount_remaining` per currency (Python integers, so no width limit on either database).

A customer with thousands of uncollectible invoices makes this the heaviest read of the API (a
megabyte of JSON for 2,000 invoices), so each worker keeps the rendered invoice list, keyed by
the customer's `invoices_version`. Every invoice write bumps that version in its own transaction,
so a reused rendering is never older than the version read in the same request: the answer stays
read-after-write consistent across workers. The customer, currencies and methods are read fresh.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import msgspec

from paymentkit.schemas.billing import OverdueSummary
from paymentkit.schemas.customers import Customer
from paymentkit.server import errors
from paymentkit.server.customers import service
from paymentkit.server.db.engine import Tx
from paymentkit.server.invoices import repository as invoices
from paymentkit.server.invoices.service import to_wire as invoice_to_wire
from paymentkit.server.payment_currencies import repository as currencies
from paymentkit.server.payment_currencies.service import to_wire as currency_to_wire
from paymentkit.server.payment_methods import repository as methods
from paymentkit.server.payment_methods.service import to_wire as method_to_wire

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True)
class Rendered:
    """The part of the answer that depends only on the customer's invoices."""

    invoices_json: bytes
    totals: dict[str, int]
    subscription_count: int


class OverdueResponse(msgspec.Struct):
    """Same shape as `schemas.billing.OverdueInvoices`, with the invoice list pre-rendered."""

    customer: Customer
    invoices: msgspec.Raw
    summary: dict[str, OverdueSummary]
    subscriptionCount: int


class RenderCache:
    """A per-process LRU of `Rendered`, bounded by the bytes it holds."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[int, Rendered]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, customer_id: str, version: int) -> Rendered | None:
        with self._lock:
            item = self._items.get(customer_id)
            if item is None or item[0] != version:
                return None
            self._items.move_to_end(customer_id)
            return item[1]

    def put(self, customer_id: str, version: int, rendered: Rendered) -> None:
        size = len(rendered.invoices_json)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(customer_id, None)
            if old is not None:
                self._bytes -= len(old[1].invoices_json)
            self._items[customer_id] = (version, rendered)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= len(evicted.invoices_json)


def _render(tx: Tx, customer_id: str) -> Rendered:
    overdue = [invoice_to_wire(row) for row in invoices.uncollectible_of(tx, customer_id)]
    totals: dict[str, int] = {}
    for invoice in overdue:
        totals[invoice.currency_id] = totals.get(invoice.currency_id, 0) + int(
            invoice.amount_remaining
        )
    return Rendered(
        invoices_json=_encoder.encode(overdue),
        totals=totals,
        subscription_count=len({i.subscription_id for i in overdue if i.subscription_id}),
    )


def overdue_invoices(tx: Tx, livemode: bool, id_or_did: str, cache: RenderCache) -> OverdueResponse:
    record = service.lookup(tx, livemode, id_or_did)
    rendered = cache.get(record.id, record.invoices_version)
    if rendered is None:
        rendered = _render(tx, record.id)
        cache.put(record.id, record.invoices_version, rendered)
    currency_by_id = {
        c.id: c for c in map(currency_to_wire, currencies.get_many(tx, sorted(rendered.totals)))
    }
    method_ids = sorted({c.payment_method_id for c in currency_by_id.values()})
    method_by_id = {m.id: m for m in map(method_to_wire, methods.get_many(tx, method_ids))}
    summary: dict[str, OverdueSummary] = {}
    for currency_id, total in rendered.totals.items():
        currency = currency_by_id.get(currency_id)
        if currency is None:  # the foreign key makes this impossible; say so loudly if not
            raise errors.InternalError(f"invoice currency {currency_id} is missing")
        summary[currency_id] = OverdueSummary(
            amount=str(total), currency=currency, method=method_by_id[currency.payment_method_id]
        )
    return OverdueResponse(
        customer=service.to_wire(record),
        invoices=msgspec.Raw(rendered.invoices_json),
        summary=summary,
        subscriptionCount=rendered.subscription_count,
    )
