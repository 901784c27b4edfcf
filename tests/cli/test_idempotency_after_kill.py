"""An Idempotency-Key retry right after the server was killed -9 in the middle of the write
(issue 9): the dead server's claim is taken over at once, the write runs once, on SQLite and on
PostgreSQL. The first server is `paymentkit serve` with a test-only hook that hangs inside the
write transaction (tests/cli/hang_in_write.py); the second is plain `paymentkit serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paymentkit import PaymentKit
from paymentkit.server.db.engine import Database
from tests.cli.test_serve import PAYMENTKIT, clean_env, free_port
from tests.conftest import make_key

ROOT = Path(__file__).resolve().parents[2]


class Process:
    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"serve-{self.port}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*argv, "serve", "--port", str(self.port)],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited:\n{self.log.read_text(errors='replace')}")
            try:
                if httpx.get(self.base + "/healthz", trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"server not ready:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=15)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()


def test_a_retry_right_after_kill_9_mid_write_runs_once(
    database_url: str, db: Database, tmp_path: Path, processes: list[Process]
) -> None:
    secret = make_key(db, False)
    marker = tmp_path / "inside-the-write"
    env = {**clean_env(), "PAYMENTKIT_DATABASE_URL": database_url}
    hanging = Process(
        [sys.executable, "-m", "tests.cli.hang_in_write"],
        tmp_path,
        {**env, "HANG_MARKER": str(marker), "PYTHONPATH": str(ROOT)},
    )
    processes.append(hanging)
    hanging.wait_ready()
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "order-7"}
    lost: list[Any] = []

    def first_try() -> None:
        try:
            httpx.post(
                hanging.base + "/api/customers",
                json={"name": "Once"},
                headers=headers,
                timeout=60,
                trust_env=False,
            )
        except httpx.TransportError as exc:
            lost.append(exc)

    thread = threading.Thread(target=first_try)
    thread.start()
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline, hanging.log.read_text(errors="replace")
        time.sleep(0.02)
    claim = db.run_sync(lambda tx: tx.one("SELECT state, owner FROM idempotency_keys"))
    assert claim is not None and claim[0] == "running" and claim[1]

    os.kill(hanging.proc.pid, signal.SIGKILL)
    hanging.proc.wait(timeout=15)
    thread.join(30)
    assert len(lost) == 1  # the client never got an answer

    restarted = Process([str(PAYMENTKIT)], tmp_path, env)
    processes.append(restarted)
    restarted.wait_ready()
    # At once, through the SDK, which would also retry a 409 idempotency_key_in_use.
    with PaymentKit(secret, base_url=restarted.base, max_retries=0) as pk:
        made = pk.customers.create(name="Once", idempotency_key="order-7")
        assert made.name == "Once"
        listed = pk.customers.list()
        assert listed.count == 1 and [c.id for c in listed.data] == [made.id]
    again = httpx.post(
        restarted.base + "/api/customers", json={"name": "Once"}, headers=headers, trust_env=False
    )
    assert again.status_code == 201 and again.json()["id"] == made.id
    assert again.headers["idempotent-replayed"] == "true"
