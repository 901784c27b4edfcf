"""Several delivering processes on one database, stopping, timeouts and pruning (issue 10,
items 4 and 5): each app here is what one `serve` worker process or `paymentkit worker` runs."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from typing import Any

import pytest

from paymentkit.server.customers import search_stats
from paymentkit.server.db.engine import Database
from paymentkit.server.delivery import sender, worker
from paymentkit.server.ids import now_ms
from tests.api.billing.helpers import body, make_customer
from tests.api.delivery.conftest import Delivering
from tests.api.delivery.receivers import (
    Answer,
    Received,
    add_endpoint,
    receiving,
    verifies,
)
from tests.api.delivery.test_delivery import attempts, settled


def lease_owner(db: Database) -> Any:
    return db.run_sync(
        lambda tx: tx.scalar("SELECT owner FROM worker_leases WHERE name = 'delivery'")
    )


def test_two_delivering_processes_deliver_each_event_once(
    delivering: Delivering, db: Database, database_url: str
) -> None:
    """PostgreSQL: both claim (SKIP LOCKED) and share the work; SQLite: the lease lets one."""
    with receiving() as receiver, delivering() as one, delivering() as two:
        _, seq, secret = add_endpoint(one, db, receiver.url)
        customers = []
        for i in range(30):
            api = one if i % 2 else two
            customers.append(make_customer(api, name=f"c{i}"))
            if i % 3 == 0:
                body(api.put(f"/api/customers/{customers[-1]['id']}", json={"name": "u"}), 200)
        expected = 30 + 10
        got = receiver.wait_count(expected)
        assert {s for s, _ in settled(db, seq)} == {"succeeded"}
        time.sleep(0.3)
        got = receiver.requests()
        assert len(got) == expected
        assert Counter(r.webhook_id for r in got).most_common(1)[0][1] == 1
        assert all(verifies(r, secret) for r in got)
        if database_url.startswith("sqlite"):
            assert lease_owner(db) is not None


def test_on_sqlite_one_process_delivers_and_another_takes_over_when_it_stops(
    delivering: Delivering, db: Database, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the process lease is SQLite's")
    with receiving() as receiver, contextlib.ExitStack() as stack:
        first = contextlib.ExitStack()
        api = first.enter_context(delivering())
        _, seq, _ = add_endpoint(api, db, receiver.url)
        make_customer(api)
        receiver.wait_count(1)
        holder = lease_owner(db)
        assert holder is not None
        second = stack.enter_context(delivering())
        make_customer(second)
        receiver.wait_count(2)
        assert lease_owner(db) == holder  # the second process waits
        first.close()  # the holder stops and lets go of the lease: the other one delivers now
        make_customer(second)
        receiver.wait_count(3)
        assert lease_owner(db) not in (None, holder)
        assert {s for s, _ in settled(db, seq)} == {"succeeded"}


def test_an_attempt_that_takes_too_long_is_a_failed_attempt(
    delivering: Delivering, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender, "TIMEOUT", 0.5)
    release = threading.Event()

    def hang(request: Received, seen: int) -> Answer:
        if seen == 0:
            release.wait(10)
        return 200, {}, b""

    try:
        with receiving(hang) as receiver, delivering() as api:
            _, seq, _ = add_endpoint(api, db, receiver.url)
            make_customer(api)
            assert settled(db, seq) == [("succeeded", 2)]
            tried = attempts(db, seq)
            assert tried[0]["status"] == "failed" and "timed out" in tried[0]["error"]
            assert tried[0]["response_status"] is None
            assert len({r.webhook_id for r in receiver.requests()}) == 1
    finally:
        release.set()


def test_stopping_abandons_attempts_in_flight_and_frees_them_for_the_next_worker(
    delivering: Delivering, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "STOP_GRACE", 0.3)
    release = threading.Event()

    def hang_first(request: Received, seen: int) -> Answer:
        if seen == 0:
            release.wait(20)
        return 200, {}, b""

    try:
        with receiving(hang_first) as receiver:
            with delivering() as api:
                _, seq, _ = add_endpoint(api, db, receiver.url)
                make_customer(api)
                receiver.wait_count(1)
            # stopped mid-attempt: nothing recorded, the delivery pending with no lease
            row = db.run_sync(
                lambda tx: tx.one(
                    "SELECT status, attempts, lease_owner FROM webhook_deliveries"
                    " WHERE endpoint_seq = ?",
                    (seq,),
                )
            )
            assert tuple(row or ()) == ("pending", 0, None)
            assert attempts(db, seq) == []
            with delivering():
                got = receiver.wait_count(2)
                assert settled(db, seq) == [("succeeded", 1)]
            assert got[0].webhook_id == got[1].webhook_id  # the repeat has the same id
    finally:
        release.set()


def test_events_past_the_retention_are_pruned_about_hourly(
    delivering: Delivering, db: Database
) -> None:
    with receiving() as receiver:
        with delivering() as api:
            _, seq, _ = add_endpoint(api, db, receiver.url)
            old = make_customer(api)
            receiver.wait_count(1)
            settled(db, seq)

        def age(object_id: str) -> None:
            db.run_sync(
                lambda tx: tx.execute(
                    "UPDATE events SET created_at = ? WHERE object_id = ?",
                    (now_ms() - 31 * 86_400_000, object_id),
                ),
                write=True,
            )

        age(old["id"])
        # the first app pruned (nothing) when it started; as if an hour had passed since:
        db.run_sync(
            lambda tx: tx.execute("UPDATE worker_leases SET lease_until = 0 WHERE name = 'prune'"),
            write=True,
        )

        def count(object_id: str) -> int:
            return int(
                db.run_sync(
                    lambda tx: tx.scalar(
                        "SELECT count(*) FROM events WHERE object_id = ?", (object_id,)
                    )
                )
            )

        with delivering(event_retention_days=30) as api:
            kept = make_customer(api)
            deadline = time.monotonic() + 10
            while count(old["id"]) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert count(old["id"]) == 0
            assert count(kept["id"]) == 1
        age(kept["id"])
        with delivering(event_retention_days=30):
            time.sleep(0.5)
            assert count(kept["id"]) == 1  # pruned at most once an hour, across processes


def test_the_hourly_upkeep_samples_stale_search_figures(
    delivering: Delivering, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_stats, "MIN_POPULATION", 4)

    def sampled() -> int | None:
        return db.run_sync(lambda tx: search_stats.sampled_population(tx, False))  # type: ignore[no-any-return]

    def hour_passes() -> None:
        db.run_sync(
            lambda tx: tx.execute("UPDATE worker_leases SET lease_until = 0 WHERE name = 'prune'"),
            write=True,
        )

    def wait_for(population: int) -> None:
        deadline = time.monotonic() + 10
        while sampled() != population and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sampled() == population

    with delivering() as api:
        for i in range(3):
            make_customer(api, name=f"c{i}")
        time.sleep(0.3)
        assert sampled() is None  # too few customers to be worth a sample
        for i in range(2):
            make_customer(api, name=f"d{i}")
    hour_passes()
    with delivering() as api:
        wait_for(5)
        for i in range(2):  # 7 is more than a fifth above 5: stale, but within the hour
            make_customer(api, name=f"e{i}")
        time.sleep(0.3)
        assert sampled() == 5
    hour_passes()
    with delivering():
        wait_for(7)
