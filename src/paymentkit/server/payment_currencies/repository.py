"""All SQL on payment_currencies."""

from __future__ import annotations

from typing import Any

from paymentkit.server.db import paging
from paymentkit.server.db.engine import Row, Tx

SELECT = (
    "SELECT id, livemode, payment_method_id, name, symbol, decimal, active, metadata, created_at,"
    " updated_at FROM payment_currencies"
)


def get(tx: Tx, livemode: bool, id: str, *, lock: bool = False) -> Row | None:
    return tx.one(
        f"{SELECT} WHERE id = ? AND livemode = ?" + (tx.for_update if lock else ""), (id, livemode)
    )


def get_many(tx: Tx, ids: list[str]) -> list[Row]:
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    return tx.all(f"{SELECT} WHERE id IN ({marks})", ids)


def insert(tx: Tx, values: dict[str, Any]) -> None:
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    tx.execute(f"INSERT INTO payment_currencies ({names}) VALUES ({marks})", tuple(values.values()))


def update(tx: Tx, id: str, fields: dict[str, Any]) -> None:
    assignments = ", ".join(f"{name} = ?" for name in fields)
    tx.execute(f"UPDATE payment_currencies SET {assignments} WHERE id = ?", (*fields.values(), id))


def page(tx: Tx, livemode: bool, request: paging.ListRequest) -> tuple[int, list[Row]]:
    return paging.page_of(tx, SELECT, "payment_currencies", livemode, request)
