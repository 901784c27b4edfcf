"""A delivering app: the API on a test database with the delivery worker running in its
lifespan (as `serve` runs it), the test retry schedule, and private receivers allowed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from tests.conftest import API, make_key

TEST_DELAYS = (0.2, 0.4)  # two retries: three attempts in all

Delivering = Callable[..., Any]


@pytest.fixture
def delivering(database_url: str, db: Database) -> Iterator[Callable[..., Any]]:
    """`with delivering(**settings) as api:` an app whose worker delivers, and a test-mode key;
    the worker stops when the block ends."""
    secret = make_key(db, False)

    @contextmanager
    def start(**overrides: Any) -> Iterator[API]:
        options: dict[str, Any] = {
            "deliver": True,
            "webhook_retry_delays": TEST_DELAYS,
            "webhook_allow_private": True,
            **overrides,
        }
        app = create_app(Settings(database_url=database_url, **options), db=Database(database_url))
        with TestClient(app, raise_server_exceptions=False) as client:
            yield API(client, secret)

    yield start
