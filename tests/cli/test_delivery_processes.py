"""Where delivery runs (issue 10, item 5), as an operator runs it: `paymentkit serve` delivers by
default, `serve --no-deliver` does not, `paymentkit worker` delivers alone and stops cleanly on
SIGTERM; and kill -9 of a delivering process mid-stream loses no event (SQLite and PostgreSQL).
Endpoints are rows in the server's database, pointing at local receivers."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paymentkit.server.db.engine import Database
from tests.api.delivery.receivers import (
    Answer,
    Received,
    Receiver,
    add_endpoint,
    receiving,
    verifies,
)
from tests.cli.test_crash import Load, server_database
from tests.cli.test_serve import PAYMENTKIT, Start, clean_env, servers, the_printed_key

__all__ = ["server_database", "servers"]  # fixtures


@pytest.fixture(autouse=True)
def delivery_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the processes started here read: local receivers allowed, a sub-second schedule."""
    monkeypatch.setenv("PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("PAYMENTKIT_WEBHOOK_RETRY_DELAYS", "0.2,0.5")


class Worker:
    """A `paymentkit worker` process."""

    def __init__(self, cwd: Path, database_url: str) -> None:
        self.log = cwd / f"worker-{time.monotonic_ns()}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(PAYMENTKIT), "worker", "--database-url", database_url],
                cwd=cwd,
                env=clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_started(self) -> None:
        deadline = time.monotonic() + 60
        while "Delivering webhooks" not in self.output():
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.1)


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(timeout=15)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def create_customer(base: str, key: str, name: str) -> str:
    r = httpx.post(
        f"{base}/api/customers",
        json={"name": name},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
        trust_env=False,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_serve_delivers_by_default_and_not_with_no_deliver(
    tmp_path: Path, servers: Start, server_database: str
) -> None:
    with receiving() as receiver:
        quiet = servers(tmp_path, "--database-url", server_database, "--no-deliver")
        assert "--no-deliver" in quiet.output()
        key = the_printed_key(quiet)
        db = Database(server_database)
        try:
            _, _, secret = add_endpoint(quiet.http, db, receiver.url, headers=auth(key))
        finally:
            db.close()
        create_customer(quiet.base, key, "waits")
        time.sleep(1.0)
        assert receiver.requests() == []  # nothing delivers yet
        delivering = servers(tmp_path, "--database-url", server_database)
        create_customer(delivering.base, key, "goes")
        got = receiver.wait_count(2)
        assert sorted(r.event["data"]["object"]["name"] for r in got) == ["goes", "waits"]
        assert all(verifies(r, secret) for r in got)


def test_paymentkit_worker_delivers_alone_and_stops_cleanly_on_sigterm(
    tmp_path: Path, servers: Start, server_database: str, workers: list[Worker]
) -> None:
    with receiving() as receiver:
        server = servers(tmp_path, "--database-url", server_database, "--no-deliver")
        key = the_printed_key(server)
        db = Database(server_database)
        try:
            _, _, secret = add_endpoint(server.http, db, receiver.url, headers=auth(key))
        finally:
            db.close()
        worker = Worker(tmp_path, server_database)
        workers.append(worker)
        worker.wait_started()
        create_customer(server.base, key, "one")
        (request,) = receiver.wait_count(1)
        assert verifies(request, secret)
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.proc.wait(timeout=30) == 0, worker.output()
        assert "Stopping" in worker.output() and "Traceback" not in worker.output()
        create_customer(server.base, key, "two")
        time.sleep(1.0)
        assert len(receiver.requests()) == 1  # the worker is gone
        again = Worker(tmp_path, server_database)
        workers.append(again)
        receiver.wait_count(2)


def test_worker_refuses_a_missing_database(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(PAYMENTKIT), "worker", "--database-url", f"sqlite:///{tmp_path / 'none.db'}"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error: no database at")


def test_kill_9_of_a_delivering_server_mid_stream_loses_no_event(
    tmp_path: Path, servers: Start, server_database: str
) -> None:
    """Writers create and update customers while the server delivers to a slow receiver; the
    server is killed -9 mid-stream, then started again: every event arrives, a repeat has the
    same webhook-id, and each object's events arrive in commit order."""

    def slow(request: Received, seen: int) -> Answer:
        time.sleep(0.02)
        return 200, {}, b""

    receiver: Receiver
    with receiving(slow) as receiver:
        server = servers(tmp_path, "--database-url", server_database)
        key = the_printed_key(server)
        db = Database(server_database)
        try:
            _, endpoint_seq, secret = add_endpoint(server.http, db, receiver.url, headers=auth(key))
            load = Load(server.base, key)
            load.start()
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline or len(receiver.requests()) < 10:
                assert all(t.is_alive() for t in load.threads), "a writer failed before the kill"
                time.sleep(0.05)
            server.kill9()
            load.join()
            before = len(receiver.requests())

            servers(tmp_path, "--database-url", server_database)
            committed = db.run_sync(
                lambda tx: [
                    (str(i), str(o))
                    for i, o in tx.all(
                        "SELECT e.id, e.object_id FROM webhook_deliveries d"
                        " JOIN events e ON e.seq = d.event_seq WHERE d.endpoint_seq = ?"
                        " ORDER BY d.seq",
                        (endpoint_seq,),
                    )
                ]
            )
            assert len(committed) >= 20 and before > 0
            wanted = {event_id for event_id, _ in committed}
            got = receiver.wait_for(lambda got: wanted <= {r.webhook_id for r in got}, timeout=120)
        finally:
            db.close()
    assert all(verifies(r, secret) for r in got[:50])
    position = {event_id: i for i, (event_id, _) in enumerate(committed)}
    per_object: dict[str, list[int]] = defaultdict(list)
    for r in got:
        per_object[r.event["object_id"]].append(position[r.webhook_id])
    for object_id, order in per_object.items():
        assert order == sorted(order), (object_id, order)  # repeats too, never out of order
    assert {r.webhook_id for r in got} == wanted  # nothing but committed events
