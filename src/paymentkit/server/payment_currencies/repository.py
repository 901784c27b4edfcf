"""All SQL on payment_currencies."""

from __future__ import annotations

from paymentkit.server.db.records import Records

records = Records(
    "payment_currencies",
    (
        "id",
        "livemode",
        "payment_method_id",
        "name",
        "symbol",
        "decimal",
        "active",
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
