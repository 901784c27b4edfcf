"""A customer's life against its billing objects: the rules that span customers, invoices and
subscriptions, kept here rather than in each resource's service.

- A customer can be deleted only while each of its invoices is `paid` or `void` (a `draft`
  counts: it can still be finalized into debt) and each of its subscriptions has ended
  (`canceled` or `incomplete_expired`); otherwise 409 `invalid_state`.
- A deleted customer takes no new invoice or subscription (400 `resource_missing` on
  `customer_id`, as for an id that names nothing), and no invoice of a deleted customer moves
  (409 `invalid_state`).

Both sides serialise on the customer's row, so no interleaving can break the rules: a delete
locks the row before it looks at invoices and subscriptions, and every invoice write and
subscription creation locks the same row, still live, before it writes. On PostgreSQL that is
`SELECT … FOR UPDATE` (READ COMMITTED: a writer that waited for a delete re-reads the row, finds
`deleted_at` set and is refused; a delete that waited for an invoice write then sees that
invoice). On SQLite every write transaction is `BEGIN IMMEDIATE`, which already serialises them.
Customer row first, then the invoice: one lock order for every path.
"""

from __future__ import annotations

from paymentkit.schemas.customers import DeletedCustomer
from paymentkit.server import errors
from paymentkit.server.customers import repository as customers
from paymentkit.server.customers import service as customer_service
from paymentkit.server.db.engine import Tx
from paymentkit.server.events import outbox, types
from paymentkit.server.ids import now_ms
from paymentkit.server.invoices import repository as invoices
from paymentkit.server.subscriptions import repository as subscriptions


def lock_live_customer(tx: Tx, livemode: bool, customer_id: str) -> customers.CustomerRecord:
    """The customer a new invoice or subscription names, locked until the transaction ends."""
    record = (
        customers.get_by_id(tx, livemode, customer_id, lock=True)
        if customer_id.startswith(customers.ID_PREFIX)
        else None
    )
    if record is None:
        raise errors.MissingReference(f"No such customer: {customer_id}", "customer_id")
    return record


def lock_invoice_owner(tx: Tx, livemode: bool, invoice_id: str) -> None:
    """Before an invoice changes: lock its customer's row, refusing when it is deleted."""
    owner = customers.lock_invoice_owner(tx, livemode, invoice_id)
    if owner is None:
        raise errors.NotFound(f"No such invoice: {invoice_id}")
    if owner.deleted:
        raise errors.InvalidState(
            f"The customer of this invoice ({owner.id}) is deleted; its invoices cannot change"
        )


def delete(tx: Tx, livemode: bool, customer_id: str) -> DeletedCustomer:
    current = customers.get_by_id(tx, livemode, customer_id, lock=True)
    if current is None:
        raise errors.NotFound(f"No such customer: {customer_id}")
    if invoices.has_unsettled(tx, current.id):
        raise errors.InvalidState(
            "The customer has invoices that are not paid or void (drafts included); pay or void"
            " them (finalize a draft first) before deleting"
        )
    if subscriptions.has_unended(tx, current.id):
        raise errors.InvalidState(
            "The customer has subscriptions that are not canceled; cancel them before deleting"
        )
    customers.soft_delete(tx, current.seq, livemode, max(now_ms(), current.updated_at))
    # The event carries the customer as it was when deleted (as Stripe's customer.deleted does).
    outbox.record(tx, livemode, types.CUSTOMER_DELETED, customer_service.to_wire(current))
    return DeletedCustomer(id=current.id)
