"""All SQL on payment_methods."""

from __future__ import annotations

from paymentkit.server.db.engine import Tx
from paymentkit.server.db.records import Records

records = Records(
    "payment_methods",
    (
        "id",
        "livemode",
        "type",
        "name",
        "description",
        "active",
        "settings_keys",
        "metadata",
        "created_at",
        "updated_at",
    ),
)
get, get_many, insert, update, page = (
    records.get,
    records.get_many,
    records.insert,
    records.update,
    records.page,
)


def encrypted_settings(tx: Tx, id: str) -> str | None:
    value = tx.scalar("SELECT settings_encrypted FROM payment_methods WHERE id = ?", (id,))
    return None if value is None else str(value)
