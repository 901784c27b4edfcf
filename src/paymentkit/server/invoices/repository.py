"""All SQL on invoices. Money columns are read back as exact decimal text."""

from __future__ import annotations

from typing import Any

from paymentkit.server.customers import repository as customers
from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.db.records import Records

records = Records(
    "invoices",
    (
        "id",
        "livemode",
        "customer_id",
        "currency_id",
        "subscription_id",
        "status",
        "amount_due",
        "amount_paid",
        "amount_remaining",
        "due_date",
        "period_start",
        "period_end",
        "description",
        "finalized_at",
        "marked_uncollectible_at",
        "paid_at",
        "voided_at",
        "metadata",
        "created_at",
        "updated_at",
    ),
    money=frozenset({"amount_due", "amount_paid", "amount_remaining"}),
)
get, page = records.get, records.page

# Every write below also bumps the owner's `customers.invoices_version` and sets its
# `delinquent` flag in the same transaction: that is what lets a rendered overdue list be reused
# safely (see customers/overdue.py) and the delinquent filter read an index.


def insert(tx: Tx, values: dict[str, Any]) -> None:
    records.insert(tx, values)
    customers.invoices_changed(tx, values["customer_id"], values["status"] == "uncollectible")


def update(tx: Tx, id: str, customer_id: str, fields: dict[str, Any]) -> None:
    records.update(tx, id, fields)
    customers.invoices_changed(tx, customer_id, "status" in fields)


def uncollectible_of(tx: Tx, customer_id: str) -> list[Row]:
    """Every uncollectible invoice of the customer, oldest first."""
    return tx.all(
        f"{records.select(tx)} WHERE customer_id = ? AND status = 'uncollectible'"
        " ORDER BY created_at, seq",
        (customer_id,),
    )


def has_unsettled(tx: Tx, customer_id: str) -> bool:
    """An invoice of the customer that is not paid or void: a draft, open or uncollectible."""
    return (
        tx.one(
            "SELECT 1 FROM invoices WHERE customer_id = ? AND status NOT IN ('paid', 'void')"
            " LIMIT 1",
            (customer_id,),
        )
        is not None
    )
