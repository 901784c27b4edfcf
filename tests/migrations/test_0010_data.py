"""Migration 0010 on a database with invoices in it: the customers with an uncollectible invoice
come out delinquent (and only they), the `delinquent` filter lists them at once, and the flag
follows the invoices afterwards; downgrading and upgrading again keeps it right."""

from __future__ import annotations

from typing import Any

from alembic import command
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database, Tx
from paymentkit.server.db.migrate import alembic_config, upgrade
from paymentkit.server.ids import now_ms
from paymentkit.server.keys import service as keys
from tests.migrations.test_schema import empty_url  # noqa: F401  (fixture)

# customer → the statuses of its invoices (the 0009 shape, written straight)
INVOICES = {
    "cus_late": ["uncollectible", "paid"],
    "cus_twice": ["uncollectible", "uncollectible"],
    "cus_settled": ["paid", "void", "open"],
    "cus_none": [],
}


def _old_rows(tx: Tx) -> None:
    now = now_ms()
    tx.execute(
        "INSERT INTO payment_methods (id, livemode, type, name, active, created_at, updated_at)"
        " VALUES ('pm_1', ?, 'card', 'Card', ?, ?, ?)",
        (False, True, now, now),
    )
    tx.execute(
        "INSERT INTO payment_currencies (id, livemode, payment_method_id, name, symbol, decimal,"
        " active, created_at, updated_at) VALUES ('pc_1', ?, 'pm_1', 'Dollar', 'USD', 2, ?, ?, ?)",
        (False, True, now, now),
    )
    n = 0
    for i, (customer, statuses) in enumerate(INVOICES.items()):
        tx.execute(
            "INSERT INTO customers (id, livemode, name, search_text, created_at, updated_at)"
            " VALUES (?, ?, ?, '', ?, ?)",
            (customer, False, customer, now + i, now + i),
        )
        for status in statuses:
            n += 1
            tx.execute(
                "INSERT INTO invoices (id, livemode, customer_id, currency_id, status, amount_due,"
                " amount_paid, amount_remaining, created_at, updated_at)"
                " VALUES (?, ?, ?, 'pc_1', ?, ?, ?, ?, ?, ?)",
                (f"in_{n}", False, customer, status, *map(tx.money_in, (100, 0, 100)), now, now),
            )

    # what the write path kept in 0009 too
    tx.execute(
        "UPDATE customer_counts SET n = ? WHERE livemode = ? AND shard = 0", (len(INVOICES), False)
    )


def _flags(db: Database) -> dict[str, bool]:
    rows = db.run_sync(lambda tx: tx.all("SELECT id, delinquent FROM customers"))
    return {str(r[0]): bool(r[1]) for r in rows}


def test_upgrade_sets_the_flag_from_the_invoices(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url, "0009")
    db = Database(empty_url)
    try:
        db.run_sync(_old_rows, write=True)
        upgrade(empty_url)
        expected = {c: "uncollectible" in s for c, s in INVOICES.items()}
        assert _flags(db) == expected
        _, secret = db.run_sync(lambda tx: keys.create(tx, False, "t"), write=True)
        with TestClient(create_app(Settings(database_url=empty_url), db=db)) as client:
            headers = {"Authorization": f"Bearer {secret}"}

            def late() -> list[str]:
                r = client.get("/api/customers", params={"delinquent": "true"}, headers=headers)
                assert r.status_code == 200, r.text
                return sorted(c["id"] for c in r.json()["list"])

            assert late() == ["cus_late", "cus_twice"]
            counted = client.get("/api/customers", params={"delinquent": "false"}, headers=headers)
            assert counted.json()["count"] == 2  # the counters: 4 customers, 2 delinquent
            paid: Any = client.post("/api/invoices/in_1/pay", json={}, headers=headers)
            assert paid.status_code == 200, paid.text
            assert late() == ["cus_twice"]
            counted = client.get("/api/customers", params={"delinquent": "true"}, headers=headers)
            assert counted.json()["count"] == 1
            r = client.get("/api/customers/cus_late", headers=headers)
            assert r.json()["delinquent"] is False
    finally:
        db.close()
    command.downgrade(alembic_config(empty_url), "0009")
    upgrade(empty_url)
    db = Database(empty_url)  # the app closed the other one
    try:
        assert _flags(db) == {**expected, "cus_late": False}
    finally:
        db.close()
