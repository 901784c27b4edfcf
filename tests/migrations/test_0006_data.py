"""Migration 0006 on a database that already holds customers: search text refolded, search index
rebuilt for live customers only, metadata rows completed and counted (a deployment upgrading in
place must find everything it had)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.customers.rules import search_text
from paymentkit.server.db.engine import Database
from paymentkit.server.db.migrate import upgrade
from paymentkit.server.keys import service as keys
from tests.migrations.test_schema import empty_url  # noqa: F401  (fixture)

OLD = [  # seq, id, livemode, did, name, email, deleted_at, metadata
    (
        1,
        "cus_aaaaaaaaaaaaaaaaaaaaaaaa",
        False,
        None,
        "Straße Müller",
        "Mu@Example.com",
        None,
        {"tier": "gold"},
    ),
    (
        2,
        "cus_bbbbbbbbbbbbbbbbbbbbbbbb",
        False,
        None,
        "Gone Person",
        "gone@example.com",
        5,
        {"tier": "gold"},
    ),
    (
        3,
        "cus_cccccccccccccccccccccccc",
        True,
        None,
        "Live Mode",
        "live@example.com",
        None,
        {"tier": "gold"},
    ),
]


def _seed(db: Database) -> None:
    def work(tx: Any) -> None:
        for seq, id_, live, did, name, email, deleted, meta in OLD:
            # The 0005 shape: search text lower-cased with the id, metadata rows of three columns.
            text = "\x1f".join(x.lower() for x in (id_, "", name, email, ""))
            tx.execute(
                "INSERT INTO customers (seq, id, livemode, did, name, email, email_lower, phone,"
                " address, description, balance, metadata, search_text, created_at, updated_at,"
                " deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, '{}', ?, ?, ?, ?)",
                (
                    seq,
                    id_,
                    live,
                    did,
                    name,
                    email,
                    email.lower(),
                    tx.money_in(0),
                    text,
                    seq,
                    seq,
                    deleted,
                ),
            )
            for key, value in meta.items():
                tx.execute(
                    "INSERT INTO customer_metadata (customer_seq, key, value) VALUES (?, ?, ?)",
                    (seq, key, value),
                )

    db.run_sync(work, write=True)


def test_upgrade_keeps_every_customer_findable(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url, "0005")
    db = Database(empty_url)
    try:
        _seed(db)
    finally:
        db.close()
    upgrade(empty_url)
    db = Database(empty_url)
    try:
        rows = db.run_sync(lambda tx: tx.all("SELECT seq, name, email, search_text FROM customers"))
        for seq, name, email, text in rows:
            assert text == search_text(name, email, None), seq
        meta = db.run_sync(
            lambda tx: tx.all(
                "SELECT customer_seq, livemode, created_at FROM customer_metadata ORDER BY 1"
            )
        )
        assert [(s, bool(live), c) for s, live, c in meta] == [(1, False, 1), (3, True, 3)]
        _, test_key = db.run_sync(lambda tx: keys.create(tx, False, "t"), write=True)
        _, live_key = db.run_sync(lambda tx: keys.create(tx, True, "l"), write=True)
        app = create_app(Settings(database_url=empty_url), db=db)
        with TestClient(app) as client:

            def get(key: str, path: str, **params: Any) -> Any:
                r = client.get(path, params=params, headers={"Authorization": f"Bearer {key}"})
                assert r.status_code == 200, r.text
                return r.json()

            assert [
                c["id"] for c in get(test_key, "/api/customers/search", query="STRASSE")["list"]
            ] == [OLD[0][1]]
            assert get(test_key, "/api/customers/search", query="gone")["list"] == []
            assert [
                c["id"] for c in get(live_key, "/api/customers/search", query="mode")["list"]
            ] == [OLD[2][1]]
            gold = get(test_key, "/api/customers", **{"metadata.tier": "gold"})
            assert (gold["count"], [c["id"] for c in gold["list"]]) == (1, [OLD[0][1]])
            assert get(live_key, "/api/customers", **{"metadata.tier": "gold"})["count"] == 1
    finally:
        db.close()
