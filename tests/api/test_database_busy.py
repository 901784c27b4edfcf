"""Another process holds SQLite's write lock (`BEGIN IMMEDIATE`): reads and `/healthz` keep being
answered, a write waits for the lock off the event loop, and one that cannot get it within
`lock_timeout` is 503 `database_busy` with `Retry-After`, changing nothing. `/readyz` answers 503
only while the database cannot be reached."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from tests.conftest import app_on

HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


@contextmanager
def write_lock_held_elsewhere(path: Path) -> Iterator[None]:
    """Another process holds the database's write lock until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "paymentkit.db"
    path.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{path}"


def db_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def test_reads_and_healthz_are_answered_while_a_write_waits_for_the_lock(sqlite_url: str) -> None:
    with app_on(Database(sqlite_url, lock_timeout=120), sqlite_url) as (client, headers):
        existing = client.post("/api/customers", headers=headers, json={"name": "Ada"}).json()
        with write_lock_held_elsewhere(db_path(sqlite_url)):
            answers: list[Any] = []
            writer = threading.Thread(
                target=lambda: answers.append(
                    client.post("/api/customers", headers=headers, json={"name": "Waiting"})
                )
            )
            writer.start()
            # Keep reading while the write waits; on the event loop it would have frozen these.
            reads = 0
            until = time.monotonic() + 1.0
            while reads < 5 or time.monotonic() < until:
                assert client.get("/healthz").status_code == 200
                listed = client.get("/api/customers", headers=headers)
                assert listed.status_code == 200, listed.text
                assert [c["id"] for c in listed.json()["list"]] == [existing["id"]]
                got = client.get(f"/api/customers/{existing['id']}", headers=headers)
                assert got.json() == existing
                assert client.get("/readyz").status_code == 200  # busy is not unreachable
                reads += 1
            assert writer.is_alive() and answers == []  # still waiting for the lock
        writer.join(timeout=60)
        assert [a.status_code for a in answers] == [201]
        assert client.get("/api/customers", headers=headers).json()["count"] == 2


def test_a_write_that_cannot_get_the_lock_is_503_database_busy_and_changes_nothing(
    sqlite_url: str,
) -> None:
    with app_on(Database(sqlite_url, lock_timeout=0.3), sqlite_url) as (client, headers):
        ada = client.post("/api/customers", headers=headers, json={"name": "Ada"}).json()
        with write_lock_held_elsewhere(db_path(sqlite_url)):
            attempts = [
                client.post("/api/customers", headers=headers, json={"name": "B"}),
                client.post(
                    "/api/customers",
                    headers={**headers, "Idempotency-Key": "busy-1"},
                    json={"name": "C"},
                ),
                client.put(f"/api/customers/{ada['id']}", headers=headers, json={"name": "X"}),
                client.delete(f"/api/customers/{ada['id']}", headers=headers),
            ]
            for answer in attempts:
                assert answer.status_code == 503, answer.text
                assert answer.headers["retry-after"] == "1"
                body = answer.json()
                assert body["code"] == "database_busy"
                assert body["param"] is None and body["request_id"].startswith("req_")
                assert "nothing was changed" in body["error"]
            # a read still answers at once
            assert client.get(f"/api/customers/{ada['id']}", headers=headers).json() == ada
        listed = client.get("/api/customers", headers=headers).json()
        assert [c["id"] for c in listed["list"]] == [ada["id"]] and listed["count"] == 1
        assert client.get(f"/api/customers/{ada['id']}", headers=headers).json() == ada
        # The busy answer was not stored under its Idempotency-Key: the retry runs.
        retried = client.post(
            "/api/customers", headers={**headers, "Idempotency-Key": "busy-1"}, json={"name": "C"}
        )
        assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers


def test_readyz_and_healthz(app_client: TestClient) -> None:
    ready = app_client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ok": True}
    assert (
        app_client.get("/readyz", headers={"Authorization": "Bearer nonsense"}).status_code == 200
    )
    refused = app_client.post("/readyz")
    assert refused.status_code == 405 and refused.json()["code"] == "invalid_request"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_readyz_is_503_while_the_database_cannot_be_reached(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        path = tmp_path / "paymentkit.db"
        path.write_bytes(b"this is not a database" * 100)
        url = f"sqlite:///{path}"
    else:  # nothing listens on this port
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/test?connect_timeout=1"
    db = Database(url, lock_timeout=0.5)
    try:
        app = create_app(Settings(database_url=url, secret_key=None), db=db)
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/healthz").status_code == 200  # alive, just not ready
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.headers["retry-after"] == "1"
            assert ready.json()["code"] == "database_unavailable"
            if kind == "postgresql":  # and every request is a 503 too, not a 500
                answer = client.get(
                    "/api/customers", headers={"Authorization": "Bearer sk_test_abc"}
                )
                assert answer.status_code == 503, answer.text
                assert answer.json()["code"] == "database_unavailable"
    finally:
        db.close()
