"""Fixtures of the webhook-endpoint tests: apps with and without PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE
on one database, and rows the delivery worker would write (events, deliveries, attempts).

`hooks` (test mode) and `live_hooks` may name loopback receivers (the setting is on); `strict`
is the same database and key as `hooks` under the default setting, where they are refused. Only
loopback URLs are ever accepted here (and public ones only on disabled endpoints): no test makes
the server reach another address.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.crypto import SecretBox
from paymentkit.server.db.engine import Database
from tests.conftest import API, make_key


def _client(database_url: str, db: Database, allow_private: bool) -> TestClient:
    settings = Settings(database_url=database_url, webhook_allow_private=allow_private)
    return TestClient(create_app(settings, db=db), raise_server_exceptions=False)


@pytest.fixture
def apps(database_url: str, db: Database) -> Iterator[tuple[TestClient, TestClient]]:
    """(an app that allows private webhook URLs, one that does not), on the same database."""
    with (
        _client(database_url, db, allow_private=True) as open_,
        _client(database_url, db, allow_private=False) as closed,
    ):
        yield open_, closed


@pytest.fixture
def test_secret(db: Database) -> str:
    return make_key(db, False)


@pytest.fixture
def hooks(apps: tuple[TestClient, TestClient], test_secret: str) -> API:
    return API(apps[0], test_secret)


@pytest.fixture
def live_hooks(apps: tuple[TestClient, TestClient], db: Database) -> API:
    return API(apps[0], make_key(db, True))


@pytest.fixture
def strict(apps: tuple[TestClient, TestClient], test_secret: str) -> API:
    return API(apps[1], test_secret)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(os.environ["PAYMENTKIT_SECRET_KEY"])
