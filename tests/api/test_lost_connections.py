"""PostgreSQL connections terminated under the server (a restart, a failover, an operator's
`pg_terminate_backend`) are survived: a request that meets a dead connection runs again on a fresh
one, as its transaction was rolled back by the server; a second loss is 503
`database_unavailable`, changing nothing.

Only the server under test's own backends are terminated: each test's database URL carries a
unique `application_name`, and the helpers' own connections do not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from paymentkit.server.db.engine import Database
from tests.api.test_bounded_work import (
    backends,
    customers_locked,
    named,
    pg_url,
    wait_until,
)
from tests.conftest import app_on

pytestmark = pytest.mark.postgres
__all__ = ["pg_url"]  # the fixture


def terminate(url: str, name: str, pids: list[int] | None = None) -> int:
    """Terminate the backends named `name` (those of `pids` when given); how many were."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()"
            " AND (%s::int[] IS NULL OR pid = ANY(%s::int[]))",
            [name, pids, pids],
        ).fetchone()
    assert row is not None
    return int(row[0])


def in_background(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    return thread, answers


def waiting_backends(url: str, name: str, n: int) -> list[int]:
    found: list[int] = wait_until(
        lambda: (
            (pids := [pid for pid, _, wait in backends(url, name) if wait == "Lock"])
            and len(pids) == n
            and pids
        ),
        f"{n} requests waiting for the lock",
    )
    return found


def names(client: TestClient, headers: dict[str, str]) -> list[str]:
    listed = client.get("/api/customers", headers=headers)
    assert listed.status_code == 200, listed.text
    return sorted(c["name"] for c in listed.json()["list"])


def test_every_dead_pooled_connection_is_replaced_without_an_error(pg_url: str) -> None:
    url, name = named(pg_url)
    with app_on(Database(url, pool_size=4), url) as (client, headers):
        # Four requests at once, each held on the lock, fill the pool with four connections.
        with customers_locked(pg_url):
            started = [
                in_background(lambda: client.get("/api/customers", headers=headers))
                for _ in range(4)
            ]
            waiting_backends(pg_url, name, 4)
        for thread, answers in started:
            thread.join(timeout=60)
            assert [a.status_code for a in answers] == [200]

        assert terminate(pg_url, name) == 4
        for i in range(6):
            made = client.post("/api/customers", headers=headers, json={"name": f"after-{i}"})
            assert made.status_code == 201, made.text
            assert client.get(f"/api/customers/{made.json()['id']}", headers=headers).is_success
        assert names(client, headers) == [f"after-{i}" for i in range(6)]  # each made once
        assert client.get("/readyz").status_code == 200


def test_a_write_whose_connection_dies_before_commit_runs_again_once(pg_url: str) -> None:
    url, name = named(pg_url)
    with app_on(Database(url, pool_size=2), url) as (client, headers):
        with customers_locked(pg_url):
            thread, answers = in_background(
                lambda: client.post("/api/customers", headers=headers, json={"name": "Ada"})
            )
            [first] = waiting_backends(pg_url, name, 1)
            assert terminate(pg_url, name, [first]) == 1
            [second] = waiting_backends(pg_url, name, 1)  # the retry, on a new connection
            assert second != first
        thread.join(timeout=60)
        assert [a.status_code for a in answers] == [201], answers[0].text
        assert names(client, headers) == ["Ada"]


def test_a_connection_lost_twice_is_503_database_unavailable_and_changes_nothing(
    pg_url: str,
) -> None:
    url, name = named(pg_url)
    with app_on(Database(url, pool_size=2), url) as (client, headers):
        keyed = {**headers, "Idempotency-Key": "lost-twice"}
        with customers_locked(pg_url):
            thread, answers = in_background(
                lambda: client.post("/api/customers", headers=keyed, json={"name": "Ada"})
            )
            for _ in range(2):
                [pid] = waiting_backends(pg_url, name, 1)
                assert terminate(pg_url, name, [pid]) == 1
            thread.join(timeout=60)
        [answer] = answers
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["code"] == "database_unavailable"
        assert names(client, headers) == []
        # The key was released: the client's retry runs the create.
        retried = client.post("/api/customers", headers=keyed, json={"name": "Ada"})
        assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
        assert names(client, headers) == ["Ada"]
