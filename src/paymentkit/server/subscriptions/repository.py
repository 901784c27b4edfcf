"""All SQL on subscriptions."""

from __future__ import annotations

from typing import Any

from paymentkit.server.db import paging
from paymentkit.server.db.engine import Row, Tx

SELECT = (
    "SELECT id, livemode, customer_id, currency_id, status, canceled_at, metadata, created_at,"
    " updated_at FROM subscriptions"
)
ENDED = ("canceled", "incomplete_expired")


def get(tx: Tx, livemode: bool, id: str, *, lock: bool = False) -> Row | None:
    return tx.one(
        f"{SELECT} WHERE id = ? AND livemode = ?" + (tx.for_update if lock else ""), (id, livemode)
    )


def insert(tx: Tx, values: dict[str, Any]) -> None:
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    tx.execute(f"INSERT INTO subscriptions ({names}) VALUES ({marks})", tuple(values.values()))


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


def page(tx: Tx, livemode: bool, request: paging.ListRequest) -> tuple[int, list[Row]]:
    return paging.page_of(tx, SELECT, "subscriptions", livemode, request)
