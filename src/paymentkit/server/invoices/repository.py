"""All SQL on invoices. Money columns are read back as exact decimal text."""

from __future__ import annotations

from typing import Any

from paymentkit.server.customers import repository as customers
from paymentkit.server.db import paging
from paymentkit.server.db.engine import Row, Tx

_COLUMNS = (
    "id, livemode, customer_id, currency_id, subscription_id, status, {due}, {paid}, {remaining},"
    " due_date, period_start, period_end, description, finalized_at, marked_uncollectible_at,"
    " paid_at, voided_at, metadata, created_at, updated_at"
)
UPDATED_AT = 19  # index of updated_at in a row


def _select(tx: Tx) -> str:
    cols = _COLUMNS.format(
        due=tx.money_out("amount_due"),
        paid=tx.money_out("amount_paid"),
        remaining=tx.money_out("amount_remaining"),
    )
    return f"SELECT {cols} FROM invoices"


def get(tx: Tx, livemode: bool, id: str, *, lock: bool = False) -> Row | None:
    return tx.one(
        f"{_select(tx)} WHERE id = ? AND livemode = ?" + (tx.for_update if lock else ""),
        (id, livemode),
    )


# Every write below also bumps the owner's `customers.invoices_version` in the same transaction,
# which is what lets a rendered overdue list be reused safely (see customers/overdue.py).


def insert(tx: Tx, values: dict[str, Any]) -> None:
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    tx.execute(f"INSERT INTO invoices ({names}) VALUES ({marks})", tuple(values.values()))
    customers.bump_invoices_version(tx, values["customer_id"])


def update(tx: Tx, id: str, customer_id: str, fields: dict[str, Any]) -> None:
    assignments = ", ".join(f"{name} = ?" for name in fields)
    tx.execute(f"UPDATE invoices SET {assignments} WHERE id = ?", (*fields.values(), id))
    customers.bump_invoices_version(tx, customer_id)


def page(tx: Tx, livemode: bool, request: paging.ListRequest) -> tuple[int, list[Row]]:
    return paging.page_of(tx, _select(tx), "invoices", livemode, request)


def uncollectible_of(tx: Tx, customer_id: str) -> list[Row]:
    """Every uncollectible invoice of the customer, oldest first."""
    return tx.all(
        f"{_select(tx)} WHERE customer_id = ? AND status = 'uncollectible'"
        " ORDER BY created_at, seq",
        (customer_id,),
    )


def has_open_or_uncollectible(tx: Tx, customer_id: str) -> bool:
    return (
        tx.one(
            "SELECT 1 FROM invoices WHERE customer_id = ? AND status IN ('open', 'uncollectible')"
            " LIMIT 1",
            (customer_id,),
        )
        is not None
    )
