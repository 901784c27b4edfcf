"""The customer's overdue invoices: every uncollectible invoice, oldest first, with exact sums of
`amount_remaining` per currency (Python integers, so no width limit on either database)."""

from __future__ import annotations

from paymentkit.schemas.billing import OverdueInvoices, OverdueSummary
from paymentkit.server import errors
from paymentkit.server.customers import service as customers
from paymentkit.server.db.engine import Tx
from paymentkit.server.invoices import repository as invoices
from paymentkit.server.invoices.service import to_wire as invoice_to_wire
from paymentkit.server.payment_currencies import repository as currencies
from paymentkit.server.payment_currencies.service import to_wire as currency_to_wire
from paymentkit.server.payment_methods import repository as methods
from paymentkit.server.payment_methods.service import to_wire as method_to_wire


def overdue_invoices(tx: Tx, livemode: bool, id_or_did: str) -> OverdueInvoices:
    customer = customers.retrieve(tx, livemode, id_or_did)
    overdue = [invoice_to_wire(row) for row in invoices.uncollectible_of(tx, customer.id)]
    totals: dict[str, int] = {}
    for invoice in overdue:
        totals[invoice.currency_id] = totals.get(invoice.currency_id, 0) + int(
            invoice.amount_remaining
        )
    currency_by_id = {
        c.id: c for c in map(currency_to_wire, currencies.get_many(tx, sorted(totals)))
    }
    method_ids = sorted({c.payment_method_id for c in currency_by_id.values()})
    method_by_id = {m.id: m for m in map(method_to_wire, methods.get_many(tx, method_ids))}
    summary: dict[str, OverdueSummary] = {}
    for currency_id, total in totals.items():
        currency = currency_by_id.get(currency_id)
        if currency is None:  # the foreign key makes this impossible; say so loudly if not
            raise errors.InternalError(f"invoice currency {currency_id} is missing")
        summary[currency_id] = OverdueSummary(
            amount=str(total), currency=currency, method=method_by_id[currency.payment_method_id]
        )
    return OverdueInvoices(
        customer=customer,
        invoices=overdue,
        summary=summary,
        subscriptionCount=len({i.subscription_id for i in overdue if i.subscription_id}),
    )
