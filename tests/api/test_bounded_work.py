"""Work per request is bounded: a statement that runs past `statement_timeout` is 503 `timeout`
and writes nothing; on PostgreSQL a request whose client goes away has its statement cancelled and
its connection back in the pool, healthy.

A statement is made to run long by another connection holding `LOCK TABLE customers` (PostgreSQL
counts the wait against statement_timeout), or by a recursive query straight on the engine. The
server's own backends are found by the unique `application_name` each test gives its database URL.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import psycopg
import pytest
import uvicorn

from paymentkit.server import errors
from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from tests.conftest import WAIT, _truncate_postgres, app_on, make_key, wait_until

SLOW_SQL = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000)"
    " SELECT count(*) FROM n"
)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("postgres_schema_url")
    _truncate_postgres(url)
    return url


def named(url: str) -> tuple[str, str]:
    """`url` with a unique application_name, and that name."""
    name = f"pk-test-{uuid.uuid4().hex[:12]}"
    return f"{url}&application_name={name}", name


def backends(url: str, name: str) -> list[tuple[int, str, str | None]]:
    """(pid, state, wait_event_type) of the backends of the server under test, and only those."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, state, wait_event_type FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [name],
        ).fetchall()
    return [(int(pid), str(state), wait) for pid, state, wait in rows]


@contextmanager
def customers_locked(url: str) -> Iterator[None]:
    """Another connection holds an exclusive lock on `customers` until the block ends."""
    with psycopg.connect(url) as holder:
        holder.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            holder.rollback()


@pytest.mark.postgres
def test_a_statement_past_the_timeout_is_503_timeout_and_writes_nothing(pg_url: str) -> None:
    url, _ = named(pg_url)
    with app_on(Database(url, statement_timeout=0.3, pool_size=1), url) as (client, headers):
        ada = client.post("/api/customers", headers=headers, json={"name": "Ada"}).json()
        with customers_locked(pg_url):
            attempts = [
                client.get("/api/customers", headers=headers),
                client.post("/api/customers", headers=headers, json={"name": "B"}),
                client.put(f"/api/customers/{ada['id']}", headers=headers, json={"name": "X"}),
            ]
            for answer in attempts:
                assert answer.status_code == 503, answer.text
                assert answer.json()["code"] == "timeout"
                assert answer.json()["param"] is None
                assert answer.headers["retry-after"] == "1"
        # One pooled connection, cancelled three times, and still healthy:
        listed = client.get("/api/customers", headers=headers).json()
        assert listed["count"] == 1 and listed["list"] == [ada]


def test_the_engine_bounds_a_long_statement_on_both_databases(database_url: str) -> None:
    db = Database(database_url, statement_timeout=0.2)
    try:

        def slow_write(tx: Any) -> None:
            tx.execute("UPDATE customer_counts SET n = n + 1")
            tx.one(SLOW_SQL)

        with pytest.raises(errors.StatementTimeout, match="statement timeout"):
            anyio.run(lambda: db.transaction(slow_write, write=True))
        # Nothing written, and the connection works (the same one: SQLite's per thread).
        total = anyio.run(
            lambda: db.transaction(lambda tx: tx.scalar("SELECT sum(n) FROM customer_counts"))
        )
        assert int(total) == 0
        # Commands without an event loop (imports, exports) are not bounded.
        longer = SLOW_SQL.replace("100000000", "3000000")
        assert int(db.run_sync(lambda tx: tx.scalar(longer))) == 3_000_000
    finally:
        db.close()


@pytest.mark.postgres
def test_postgresql_connections_compile_nothing_just_in_time(pg_url: str) -> None:
    """JIT compiles a statement the planner costs high for tens of milliseconds; every statement
    here is short or bounded, so the pool's connections run without it."""
    db = Database(pg_url)
    try:
        setting = anyio.run(lambda: db.transaction(lambda tx: tx.scalar("SHOW jit")))
        assert setting == "off"
    finally:
        db.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_server(app: Any) -> Iterator[int]:
    """The app under uvicorn in a thread, on a real socket; its port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, "uvicorn started")
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)


def http_get(port: int, path: str, headers: dict[str, str]) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    lines = [f"GET {path} HTTP/1.1", "Host: test", *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


@pytest.mark.postgres
def test_a_client_that_goes_away_has_its_statement_cancelled(pg_url: str) -> None:
    url, name = named(pg_url)
    # No statement timeout to speak of: only the disconnect can end the wait.
    db = Database(url, statement_timeout=600, pool_size=1)
    try:
        headers = {"Authorization": f"Bearer {make_key(db, False)}"}
        with live_server(create_app(Settings(database_url=url), db=db)) as port:
            with customers_locked(pg_url):
                sock = http_get(port, "/api/customers", headers)
                [(pid, _, _)] = wait_until(
                    lambda: [b for b in backends(pg_url, name) if b[2] == "Lock"],
                    "the list waiting for the lock",
                )
                sock.close()
                # Cancelled while the lock is still held: the backend is idle again.
                wait_until(
                    lambda: backends(pg_url, name) == [(pid, "idle", "Client")],
                    "the statement cancelled",
                )
            # The same (only) pooled connection answers the next request.
            sock = http_get(port, "/api/customers", headers)
            answer = sock.recv(65536).decode()
            sock.close()
            assert answer.startswith("HTTP/1.1 200 "), answer
            assert [b[0] for b in backends(pg_url, name)] == [pid]
    finally:
        db.close()
