"""Migration 0012 on a database with customers in it: the word counts come out equal to the
live customers' words (deleted ones not counted), and writes after it keep them."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.customers.rules import search_text
from paymentkit.server.db.engine import Database, Tx
from paymentkit.server.db.migrate import upgrade
from paymentkit.server.ids import now_ms
from paymentkit.server.keys import service as keys
from tests.api.test_search_properties import word_counts
from tests.migrations.test_schema import empty_url  # noqa: F401  (fixture)

# (id, livemode, name, email, deleted)
CUSTOMERS = [
    ("cus_a", False, "Ada Lovelace", "ada@example.com", False),
    ("cus_b", False, "Ada Byron", None, False),
    ("cus_c", True, "Ada Live", "ada@example.com", False),
    ("cus_d", False, "Gone Lovelace", None, True),
    ("cus_e", False, None, None, False),
]


def _old_rows(tx: Tx) -> None:
    now = now_ms()
    for i, (id_, livemode, name, email, deleted) in enumerate(CUSTOMERS):
        text = search_text(name, email, None)
        seq = tx.scalar(
            "INSERT INTO customers (id, livemode, name, email, email_lower, search_text,"
            " created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING seq",
            (
                id_,
                livemode,
                name,
                email,
                None if email is None else email.lower(),
                text,
                now + i,
                now + i,
                now if deleted else None,
            ),
        )
        if tx.dialect == "sqlite" and not deleted:  # what the write path kept in 0011 too
            table = "customers_search_live" if livemode else "customers_search_test"
            tx.execute(f"INSERT INTO {table} (rowid, search_text) VALUES (?, ?)", (seq, text))


def test_upgrade_counts_the_live_customers_words(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url, "0011")
    db = Database(empty_url)
    try:
        db.run_sync(_old_rows, write=True)
        upgrade(empty_url)
        kept, counted = word_counts(db)
        assert kept == counted
        assert kept[(False, "ada")] == 2 and kept[(True, "ada")] == 1
        assert kept[(False, "lovelace")] == 1  # the deleted one is not counted
        _, secret = db.run_sync(lambda tx: keys.create(tx, False, "t"), write=True)
        with TestClient(create_app(Settings(database_url=empty_url), db=db)) as client:
            headers = {"Authorization": f"Bearer {secret}"}
            r: Any = client.put("/api/customers/cus_a", json={"name": "Ada King"}, headers=headers)
            assert r.status_code == 200, r.text
            assert client.delete("/api/customers/cus_b", headers=headers).status_code == 200
        db = Database(empty_url)  # the app closed the other one
        kept, counted = word_counts(db)
        assert kept == counted and (False, "lovelace") not in kept
        assert kept[(False, "ada")] == 1 and kept[(False, "king")] == 1
    finally:
        db.close()
