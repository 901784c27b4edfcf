"""The SDK against the real app while another process holds SQLite's write lock: the 503
`database_busy` is retried after its Retry-After with the same Idempotency-Key, then raised as an
`InternalServerError` naming the code; once the lock is free the same call creates one customer."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from paymentkit import InternalServerError, PaymentKit
from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from tests.api.test_database_busy import db_path, sqlite_url, write_lock_held_elsewhere
from tests.conftest import make_key

__all__ = ["sqlite_url"]  # the fixture


def test_database_busy_is_retried_after_retry_after_then_raised(
    sqlite_url: str, no_sleep: list[float]
) -> None:
    db = Database(sqlite_url, lock_timeout=0.2)
    try:
        secret = make_key(db, False)
        app = create_app(Settings(database_url=sqlite_url), db=db)
        with (
            TestClient(app, raise_server_exceptions=False) as client,
            PaymentKit(secret, http_client=client, max_retries=2) as pk,
        ):
            with write_lock_held_elsewhere(db_path(sqlite_url)):
                with pytest.raises(InternalServerError) as info:
                    pk.customers.create(name="Ada", idempotency_key="create-ada")
                assert info.value.status == 503 and info.value.code == "database_busy"
                assert no_sleep == [1.0, 1.0]  # the server's Retry-After, twice
                assert pk.customers.list().count == 0  # reads go on
            ada = pk.customers.create(name="Ada", idempotency_key="create-ada")
            assert [c.id for c in pk.customers.list().data] == [ada.id]
    finally:
        db.close()
