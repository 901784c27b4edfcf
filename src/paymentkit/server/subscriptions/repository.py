"""All SQL on subscriptions."""

from __future__ import annotations

from paymentkit.server.db.engine import Tx
from paymentkit.server.db.records import Records

records = Records(
    "subscriptions",
    (
        "id",
        "livemode",
        "customer_id",
        "currency_id",
        "status",
        "canceled_at",
        "metadata",
        "created_at",
        "updated_at",
    ),
)
get, insert, page = records.get, records.insert, records.page
ENDED = ("canceled", "incomplete_expired")


def cancel(tx: Tx, id: str, canceled_at: int, now: int) -> None:
    tx.execute(
        "UPDATE subscriptions SET status = 'canceled', canceled_at = ?, updated_at = ? WHERE id = ?",
        (canceled_at, now, id),
    )


def has_unended(tx: Tx, customer_id: str) -> bool:
    return (
        tx.one(
            "SELECT 1 FROM subscriptions WHERE customer_id = ? AND status NOT IN (?, ?) LIMIT 1",
            (customer_id, *ENDED),
        )
        is not None
    )
