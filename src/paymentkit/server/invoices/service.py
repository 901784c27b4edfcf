"""Invoice rules and transactions. Transitions lock the row (SELECT … FOR UPDATE on PostgreSQL; the
write transaction's lock on SQLite) so racing calls see each other's result: two `pay` calls can
never pay more than is due."""

from __future__ import annotations

from typing import Any

from msgspec import UnsetType

from paymentkit.schemas.billing import Invoice, InvoiceCreate, InvoiceList, StatusTransitions
from paymentkit.server import errors, validation
from paymentkit.server.customers import lifecycle
from paymentkit.server.db import codec
from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.events import outbox, types
from paymentkit.server.ids import MAX_UNIX_SECONDS, iso_ms, new_id, now_ms
from paymentkit.server.invoices import repository as repo
from paymentkit.server.invoices import rules
from paymentkit.server.resource import Resource
from paymentkit.server.subscriptions import repository as subscriptions
from paymentkit.server.subscriptions.service import require_currency

DESCRIPTION_MAX = 1000


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def to_wire(row: Row) -> Invoice:
    (
        id_,
        livemode,
        customer_id,
        currency_id,
        subscription_id,
        status,
        due,
        paid,
        remaining,
        due_date,
        period_start,
        period_end,
        description,
        finalized_at,
        uncollectible_at,
        paid_at,
        voided_at,
        metadata,
        created,
        updated,
    ) = row
    return Invoice(
        id=id_,
        customer_id=customer_id,
        currency_id=currency_id,
        subscription_id=subscription_id,
        status=status,
        amount_due=str(due),
        amount_paid=str(paid),
        amount_remaining=str(remaining),
        due_date=_opt_int(due_date),
        period_start=_opt_int(period_start),
        period_end=_opt_int(period_end),
        description=description,
        status_transitions=StatusTransitions(
            finalized_at=_opt_int(finalized_at),
            marked_uncollectible_at=_opt_int(uncollectible_at),
            paid_at=_opt_int(paid_at),
            voided_at=_opt_int(voided_at),
        ),
        livemode=bool(livemode),
        metadata=codec.object_of(metadata),
        created_at=iso_ms(created),
        updated_at=iso_ms(updated),
    )


RESOURCE = Resource("invoice", repo.records, to_wire, InvoiceList)
retrieve = RESOURCE.retrieve


def _unix(value: int | UnsetType | None, param: str) -> int | None:
    if value is None or isinstance(value, UnsetType):
        return None
    if not 0 <= value <= MAX_UNIX_SECONDS:
        raise errors.InvalidRequest(f"{param} must be unix seconds between 0 and year 9999", param)
    return value


def create(tx: Tx, livemode: bool, data: InvoiceCreate) -> Invoice:
    lifecycle.lock_live_customer(tx, livemode, data.customer_id)
    require_currency(tx, livemode, data.currency_id)
    subscription_id = validation.given(data.subscription_id)
    if subscription_id is not None:
        sub = subscriptions.get(tx, livemode, subscription_id)
        if sub is None:
            raise errors.MissingReference(
                f"No such subscription: {subscription_id}", "subscription_id"
            )
        if subscriptions.records.value(sub, "customer_id") != data.customer_id:
            raise errors.InvalidRequest(
                "the subscription belongs to another customer", "subscription_id"
            )
    due = validation.amount(data.amount_due, "amount_due")
    period_start = _unix(data.period_start, "period_start")
    period_end = _unix(data.period_end, "period_end")
    if period_start is not None and period_end is not None and period_end < period_start:
        raise errors.InvalidRequest("period_end may not be before period_start", "period_end")
    metadata = validation.metadata({}, validation.given(data.metadata))
    now = now_ms()
    invoice_id = new_id("in")
    repo.insert(
        tx,
        {
            "id": invoice_id,
            "livemode": livemode,
            "customer_id": data.customer_id,
            "currency_id": data.currency_id,
            "subscription_id": subscription_id,
            "status": "draft",
            "amount_due": tx.money_in(due),
            "amount_paid": tx.money_in(0),
            "amount_remaining": tx.money_in(due),
            "due_date": _unix(data.due_date, "due_date"),
            "period_start": period_start,
            "period_end": period_end,
            "description": validation.text(
                validation.given(data.description),
                "description",
                DESCRIPTION_MAX,
            ),
            "metadata": codec.to_text(metadata),
            "created_at": now,
            "updated_at": now,
        },
    )
    invoice = retrieve(tx, livemode, invoice_id)
    outbox.record(tx, livemode, types.INVOICE_CREATED, invoice)
    return invoice


def _locked(tx: Tx, livemode: bool, invoice_id: str, action: str) -> tuple[Invoice, int]:
    """The invoice, locked, when `action` is allowed from its status; and a `now` not before its
    last update (clocks of several workers may differ slightly). The customer's row is locked
    first (customers/lifecycle.py): a deleted customer's invoices do not move."""
    lifecycle.lock_invoice_owner(tx, livemode, invoice_id)
    row = RESOURCE.require(tx, livemode, invoice_id, lock=True)
    invoice = to_wire(row)
    if not rules.allowed(action, invoice.status):
        raise errors.InvalidState(
            f"Cannot {action.replace('_', ' ')} an invoice whose status is {invoice.status}"
        )
    return invoice, max(now_ms(), int(repo.records.value(row, "updated_at")))


_TRANSITION_EVENT = {
    "finalize": types.INVOICE_FINALIZED,
    "mark_uncollectible": types.INVOICE_MARKED_UNCOLLECTIBLE,
    "void": types.INVOICE_VOIDED,
}


def transition(tx: Tx, livemode: bool, invoice_id: str, action: str) -> Invoice:
    """finalize, mark_uncollectible or void."""
    invoice, now = _locked(tx, livemode, invoice_id, action)
    fields: dict[str, Any] = {
        "status": rules.TARGET[action],
        rules.TIMESTAMP_OF[action]: now // 1000,
        "updated_at": now,
    }
    if action == "finalize" and int(invoice.amount_due) == 0:
        # Nothing to collect: like Stripe, a zero invoice is paid as soon as it is finalized.
        fields["status"] = "paid"
        fields["paid_at"] = now // 1000
    repo.update(tx, invoice_id, invoice.customer_id, fields)
    after = retrieve(tx, livemode, invoice_id)
    outbox.record(tx, livemode, _TRANSITION_EVENT[action], after)
    if action == "finalize" and after.status == "paid":
        outbox.record(tx, livemode, types.INVOICE_PAID, after)
    return after


def pay(tx: Tx, livemode: bool, invoice_id: str, amount: str | int | None) -> Invoice:
    invoice, now = _locked(tx, livemode, invoice_id, "pay")
    payment = None if amount is None else _payment_amount(amount)
    try:
        after = rules.apply_payment(
            rules.Amounts(int(invoice.amount_due), int(invoice.amount_paid)), payment
        )
    except rules.PaymentRefused as exc:
        raise errors.InvalidRequest(str(exc), "amount") from None
    fields: dict[str, Any] = {
        "amount_paid": tx.money_in(after.paid),
        "amount_remaining": tx.money_in(after.remaining),
        "updated_at": now,
    }
    if after.remaining == 0:
        fields["status"] = "paid"
        fields["paid_at"] = now // 1000
    repo.update(tx, invoice_id, invoice.customer_id, fields)
    paid = retrieve(tx, livemode, invoice_id)
    if paid.status == "paid":
        outbox.record(tx, livemode, types.INVOICE_PAID, paid)
    else:  # a partial payment: the amounts changed
        outbox.record(tx, livemode, types.INVOICE_UPDATED, paid, outbox.changes(invoice, paid))
    return paid


def _payment_amount(value: str | int) -> int:
    """Like `validation.amount` but a zero or negative amount is "must be greater than zero"."""
    text = str(value).strip()
    if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
        raise errors.InvalidRequest("amount must be greater than zero", "amount")
    if text.startswith("-") and text[1:].isdigit():
        raise errors.InvalidRequest("amount must be greater than zero", "amount")
    return validation.amount(value, "amount", allow_zero=False)
