"""The SDK and the CLI against `paymentkit serve` in its own process, over real HTTP; and what
happens when that process is killed: an `APIConnectionError`, quickly, not a hang."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from paymentkit import APIConnectionError, AsyncPaymentKit, NotFoundError, PaymentKit
from paymentkit.cli.main import main
from tests.cli.test_serve import Server, the_printed_key

pytestmark = pytest.mark.anyio
_PROXIES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture
def no_sleep() -> list[float]:
    """Real backoff here (the package-wide fixture would skip it): a dead server must still give
    up within seconds."""
    return []


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    for name in _PROXIES:
        monkeypatch.delenv(name, raising=False)
    running = Server(tmp_path, ("--database-url", f"sqlite:///{tmp_path / 'pk.db'}"))
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def test_the_sync_client_over_http_then_the_server_dies(server: Server) -> None:
    key = the_printed_key(server)
    with PaymentKit(key, server.base, timeout=5, max_retries=2) as pk:
        made = [
            pk.customers.create(name=f"live-{i:02d}", email=f"l{i}@example.com") for i in range(23)
        ]
        assert pk.customers.retrieve(made[0].id) == made[0]
        page = pk.customers.list(page_size=10)
        assert page.count == 23
        assert [c.id for c in page.auto_paging_iter()] == [c.id for c in made[::-1]]
        updated = pk.customers.update(made[0].id, metadata={"tier": "gold"})
        assert updated.metadata == {"tier": "gold"}
        assert pk.customers.search("LIVE-2").count == 3  # live-20, live-21, live-22
        overdue = pk.customers.overdue_invoices(made[0].id)
        assert overdue.invoices == [] and overdue.summary == {}
        with pytest.raises(NotFoundError):
            pk.customers.retrieve("cus_000000000000000000000000")

        server.kill9()  # the pooled keep-alive connection is now dead too
        started = time.monotonic()
        with pytest.raises(APIConnectionError) as info:
            pk.customers.create(name="after")
        assert time.monotonic() - started < 10
        assert info.value.__cause__ is None and info.value.__suppress_context__
        assert "POST" in str(info.value)
        with pytest.raises(APIConnectionError):
            pk.customers.list()


async def test_the_async_client_over_http_then_the_server_dies(server: Server) -> None:
    key = the_printed_key(server)
    async with AsyncPaymentKit(key, server.base, timeout=5, max_retries=2) as pk:
        made = [await pk.customers.create(name=f"a-{i:02d}") for i in range(12)]
        page = await pk.customers.list(page_size=5)
        assert [c.id async for c in page.auto_paging_iter()] == [c.id for c in made[::-1]]
        updated = await pk.customers.update(made[3].id, email="a3@example.com")
        assert (await pk.customers.list(email="A3@example.com")).data == [updated]
        assert (await pk.customers.overdue_invoices(made[3].id)).subscription_count == 0

        server.kill9()
        started = time.monotonic()
        with pytest.raises(APIConnectionError), anyio.fail_after(15):
            await pk.customers.retrieve(made[0].id)
        assert time.monotonic() - started < 10


def test_a_server_killed_while_the_client_is_busy_gives_an_api_connection_error(
    server: Server,
) -> None:
    key = the_printed_key(server)
    outcome: list[BaseException] = []
    written: list[str] = []

    def busy() -> None:
        with PaymentKit(key, server.base, timeout=5, max_retries=2) as pk:
            try:
                while True:
                    written.append(pk.customers.create(name="busy").id)
                    pk.customers.list(page_size=5)
            except BaseException as exc:
                outcome.append(exc)

    worker = threading.Thread(target=busy, daemon=True)
    worker.start()
    while len(written) < 20:
        time.sleep(0.01)
    server.kill9()
    worker.join(timeout=15)
    assert not worker.is_alive(), "the client hung after the server died"
    assert len(outcome) == 1 and isinstance(outcome[0], APIConnectionError), outcome


async def test_an_async_client_busy_when_the_server_dies(server: Server) -> None:
    key = the_printed_key(server)
    outcome: list[BaseException] = []
    written: list[str] = []

    async def busy() -> None:
        async with AsyncPaymentKit(key, server.base, timeout=5, max_retries=2) as pk:
            try:
                while True:
                    written.append((await pk.customers.create(name="busy")).id)
            except Exception as exc:
                outcome.append(exc)

    with anyio.fail_after(15):
        async with anyio.create_task_group() as tg:
            tg.start_soon(busy)
            while len(written) < 20:
                await anyio.sleep(0.01)
            await anyio.to_thread.run_sync(server.kill9)
    assert len(outcome) == 1 and isinstance(outcome[0], APIConnectionError), outcome


def test_the_cli_over_http(server: Server) -> None:
    key = the_printed_key(server)
    env = {"PAYMENTKIT_API_KEY": key, "PAYMENTKIT_BASE_URL": server.base}
    runner = CliRunner(env=env)
    made = runner.invoke(main, ["customers", "create", "--name", "Cli", "--json"])
    assert made.exit_code == 0, made.output
    customer_id = json.loads(made.stdout)["id"]
    listed = runner.invoke(main, ["customers", "list"])
    assert listed.exit_code == 0 and customer_id in listed.stdout
    server.kill9()
    gone = runner.invoke(main, ["customers", "get", customer_id])
    assert gone.exit_code == 1
    assert gone.stderr.startswith("Error: ") and "Traceback" not in gone.output
