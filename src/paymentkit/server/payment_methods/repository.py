"""All SQL on payment_methods."""

from __future__ import annotations

from typing import Any

from paymentkit.server.db import paging
from paymentkit.server.db.engine import Row, Tx

SELECT = (
    "SELECT id, livemode, type, name, description, active, settings_keys, metadata, created_at,"
    " updated_at FROM payment_methods"
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


def encrypted_settings(tx: Tx, id: str) -> str | None:
    value = tx.scalar("SELECT settings_encrypted FROM payment_methods WHERE id = ?", (id,))
    return None if value is None else str(value)


def insert(tx: Tx, values: dict[str, Any]) -> None:
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    tx.execute(f"INSERT INTO payment_methods ({names}) VALUES ({marks})", tuple(values.values()))


def update(tx: Tx, id: str, fields: dict[str, Any]) -> None:
    assignments = ", ".join(f"{name} = ?" for name in fields)
    tx.execute(f"UPDATE payment_methods SET {assignments} WHERE id = ?", (*fields.values(), id))


def page(tx: Tx, livemode: bool, request: paging.ListRequest) -> tuple[int, list[Row]]:
    return paging.page_of(tx, SELECT, "payment_methods", livemode, request)
