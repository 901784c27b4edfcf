"""SDK clients on the real app, in process: `PaymentKit` through Starlette's TestClient and
`AsyncPaymentKit` through `httpx.ASGITransport`, on SQLite and PostgreSQL (`database_url`).

`client` runs a test once per client kind. Its `resolve(x)` awaits `x` when the call returned an
awaitable (the async client), so one test body covers both:

    customer = await client.resolve(client.pk.customers.create(name="Ada"))
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from paymentkit import AsyncPaymentKit, PaymentKit
from paymentkit.sdk import _transport
from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from tests.conftest import make_key


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries wait no real time; the delays asked for are recorded."""
    slept: list[float] = []

    async def async_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(_transport, "sync_sleep", slept.append)
    monkeypatch.setattr(_transport, "async_sleep", async_sleep)
    return slept


@dataclass
class Both:
    """One client of either kind, with `resolve` to write the test once."""

    kind: str
    pk: Any  # PaymentKit | AsyncPaymentKit

    async def resolve(self, value: Any) -> Any:
        return await value if inspect.isawaitable(value) else value

    async def collect(self, page: Any) -> list[Any]:
        """Every object of `page.auto_paging_iter()`, with `for` or `async for`."""
        pager = page.auto_paging_iter()
        if self.kind == "sync":
            return list(pager)
        return [x async for x in pager]


@pytest.fixture
def secret(db: Database) -> str:
    return make_key(db, False)


@pytest.fixture
def sync_pk(app_client: TestClient, secret: str) -> Iterator[PaymentKit]:
    with PaymentKit(secret, http_client=app_client) as pk:
        yield pk


@pytest.fixture
async def async_pk(database_url: str, db: Database, secret: str) -> AsyncIterator[AsyncPaymentKit]:
    app = create_app(Settings(database_url=database_url), db=db)
    async with AsyncPaymentKit(secret, transport=httpx.ASGITransport(app=app)) as pk:
        yield pk


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, database_url: str) -> Both:
    pk = request.getfixturevalue(f"{request.param}_pk")
    return Both(request.param, pk)
