"""Fixtures of the billing tests: two apps (as two server workers would be) on one database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from tests.conftest import API, make_key


@pytest.fixture
def two_apps(database_url: str, db: Database) -> Iterator[tuple[API, API]]:
    """Two independent apps (each its own Database, pool, connections and per-process caches) on
    the same database, with the same test-mode key."""
    secret = make_key(db, False)
    with (
        TestClient(
            create_app(Settings(database_url=database_url), db=Database(database_url)),
            raise_server_exceptions=False,
        ) as one,
        TestClient(
            create_app(Settings(database_url=database_url), db=Database(database_url)),
            raise_server_exceptions=False,
        ) as two,
    ):
        yield API(one, secret), API(two, secret)
