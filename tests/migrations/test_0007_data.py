"""Migration 0007 on a database with Idempotency-Key claims in it: a claim left running by the
old code keeps the old rule (taken over 120 s after it was made), answered keys still replay, and
the replay cache of component signatures starts empty."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from paymentkit.server.db.migrate import upgrade
from paymentkit.server.idempotency import service as idempotency
from paymentkit.server.ids import now_ms
from paymentkit.server.keys import service as keys
from tests.migrations.test_schema import empty_url  # noqa: F401  (fixture)

FP = idempotency.fingerprint("POST", "/api/customers", b"", b"{}")


def test_upgrade_gives_running_claims_the_old_lease(
    empty_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.0)
    upgrade(empty_url, "0006")
    now = now_ms()
    old = [  # key, state, status, response, created_at (the 0004 shape)
        ("abandoned", "running", None, None, now - 121_000),
        ("recent", "running", None, None, now - 1_000),
        ("answered", "done", 201, '{"id":"cus_x"}', now - 5_000),
    ]
    db = Database(empty_url)
    try:
        db.run_sync(
            lambda tx: [
                tx.execute(
                    "INSERT INTO idempotency_keys (livemode, key, fingerprint, state, status,"
                    " response, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (False, key, FP, state, status, response, created),
                )
                for key, state, status, response, created in old
            ],
            write=True,
        )
    finally:
        db.close()
    upgrade(empty_url)
    db = Database(empty_url)
    try:
        rows = db.run_sync(
            lambda tx: tx.all(
                "SELECT key, owner, lease_until, created_at FROM idempotency_keys ORDER BY key"
            )
        )
        assert [(k, o, lease) for k, o, lease, _ in rows] == [
            ("abandoned", None, now - 1_000),
            ("answered", None, None),
            ("recent", None, now + 119_000),
        ]
        assert db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM component_signatures")) == 0
        _, secret = db.run_sync(lambda tx: keys.create(tx, False, "t"), write=True)
        with TestClient(create_app(Settings(database_url=empty_url), db=db)) as client:

            def post(key: str) -> Any:
                headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": key}
                return client.post("/api/customers", content=b"{}", headers=headers)

            assert post("abandoned").status_code == 201
            busy = post("recent")
            assert (busy.status_code, busy.json()["code"]) == (409, "idempotency_key_in_use")
            replayed = post("answered")
            assert replayed.status_code == 201 and replayed.json() == {"id": "cus_x"}
            assert replayed.headers["idempotent-replayed"] == "true"
    finally:
        db.close()
