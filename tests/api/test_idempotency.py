"""Idempotency-Key on writes (API.md, Conventions): replay, conflicts, scope, expiry, races."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from paymentkit.server.idempotency import service as idempotency
from tests.conftest import API, make_key


def key_header(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def customer_count(api: API) -> int:
    count: int = api.get("/api/customers").json()["count"]
    return count


def test_a_repeated_create_is_replayed_not_run_again(api: API) -> None:
    first = api.post("/api/customers", json={"name": "Ann"}, headers=key_header("k-1"))
    again = api.post("/api/customers", json={"name": "Ann"}, headers=key_header("k-1"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert customer_count(api) == 1


def test_a_different_request_with_the_same_key_is_409(api: API) -> None:
    api.post("/api/customers", json={"name": "Ann"}, headers=key_header("k-2"))
    other_body = api.post("/api/customers", json={"name": "Bob"}, headers=key_header("k-2"))
    assert other_body.status_code == 409
    assert other_body.json()["code"] == "idempotency_key_reused"
    customer = api.get("/api/customers").json()["list"][0]
    other_path = api.put(
        f"/api/customers/{customer['id']}", json={"name": "Ann"}, headers=key_header("k-2")
    )
    assert other_path.json()["code"] == "idempotency_key_reused"
    assert customer_count(api) == 1


def test_keys_are_scoped_by_mode(api: API, live_api: API) -> None:
    test = api.post("/api/customers", json={"name": "Ann"}, headers=key_header("shared"))
    live = live_api.post("/api/customers", json={"name": "Ann"}, headers=key_header("shared"))
    assert test.status_code == live.status_code == 201
    assert test.json()["id"] != live.json()["id"]
    assert live.json()["livemode"] is True


def test_a_refusal_is_stored_and_replayed(api: API) -> None:
    bad = api.post("/api/customers", json={"email": "nope"}, headers=key_header("k-3"))
    assert bad.status_code == 400
    again = api.post("/api/customers", json={"email": "nope"}, headers=key_header("k-3"))
    assert again.status_code == 400
    assert again.json() == bad.json()
    assert again.headers["idempotent-replayed"] == "true"


def test_paying_twice_with_one_key_pays_once(api: API) -> None:
    method = api.post("/api/payment-methods", json={"type": "stripe", "name": "S"}).json()
    currency = api.post(
        "/api/payment-currencies",
        json={"payment_method_id": method["id"], "name": "USD", "symbol": "$", "decimal": 2},
    ).json()
    customer = api.post("/api/customers", json={}).json()
    invoice = api.post(
        "/api/invoices",
        json={"customer_id": customer["id"], "currency_id": currency["id"], "amount_due": "500"},
    ).json()
    api.post(f"/api/invoices/{invoice['id']}/finalize")
    for _ in range(3):
        r = api.post(
            f"/api/invoices/{invoice['id']}/pay", json={"amount": "100"}, headers=key_header("p")
        )
        assert r.status_code == 200
        assert r.json()["amount_paid"] == "100"
    assert api.get(f"/api/invoices/{invoice['id']}").json()["amount_paid"] == "100"


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "ключ"])
def test_a_malformed_key_is_400(api: API, key: str) -> None:
    r = api.post("/api/customers", json={}, headers={"Idempotency-Key": key.encode()})
    assert r.status_code == 400
    assert r.json()["param"] == "Idempotency-Key"
    assert customer_count(api) == 0


def test_gets_ignore_the_header(api: API) -> None:
    api.post("/api/customers", json={"name": "Ann"})
    one = api.get("/api/customers", headers=key_header("g"))
    api.post("/api/customers", json={"name": "Bob"})
    two = api.get("/api/customers", headers=key_header("g"))
    assert (one.json()["count"], two.json()["count"]) == (1, 2)


def _age_key(db: Database, key: str, ms: int) -> None:
    db.run_sync(
        lambda tx: tx.execute(
            "UPDATE idempotency_keys SET created_at = created_at - ? WHERE key = ?", (ms, key)
        ),
        write=True,
    )


def test_a_key_older_than_a_day_runs_again(api: API, db: Database) -> None:
    api.post("/api/customers", json={"name": "Ann"}, headers=key_header("old"))
    _age_key(db, "old", idempotency.TTL_MS + 1000)
    again = api.post("/api/customers", json={"name": "Ann"}, headers=key_header("old"))
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert customer_count(api) == 2


def _claim_running(db: Database, key: str, lease_ms: int) -> None:
    """A claim on `key` for `POST /api/customers` with body `{}`, held by another process whose
    lease ends `lease_ms` from now (in the past when negative)."""
    from paymentkit.server.idempotency import repository
    from paymentkit.server.ids import now_ms

    fp = idempotency.fingerprint("POST", "/api/customers", b"", b"{}")
    now = now_ms()
    db.run_sync(
        lambda tx: repository.insert_running(
            tx, False, key, fp, "another-process.claim", now, now + lease_ms
        ),
        write=True,
    )


def test_a_key_still_running_is_409_in_use(
    api: API, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    _claim_running(db, "busy", lease_ms=60_000)
    r = api.post("/api/customers", content=b"{}", headers=key_header("busy"))
    assert r.status_code == 409
    assert r.json()["code"] == "idempotency_key_in_use"
    assert r.headers["Retry-After"] == "1"  # what the SDK waits before it tries again
    assert customer_count(api) == 0


def test_a_claim_whose_lease_lapsed_is_taken_over_at_once(
    api: API, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The owner was killed: nothing renews its lease. No waiting is allowed for.
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.0)
    _claim_running(db, "dead", lease_ms=-1)
    r = api.post("/api/customers", content=b"{}", headers=key_header("dead"))
    assert r.status_code == 201, r.text
    assert customer_count(api) == 1
    again = api.post("/api/customers", content=b"{}", headers=key_header("dead"))
    assert again.headers["idempotent-replayed"] == "true" and again.json() == r.json()


class Paused:
    """Holds the first request that reads its JSON body (after its key is claimed, before its
    write) until `go` is set; the event loop keeps running meanwhile."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from paymentkit.server.http import Call

        self.reached = threading.Event()
        self.go = threading.Event()
        real = Call.json
        paused = self

        async def json(call: Call) -> dict[str, Any]:
            if not paused.reached.is_set():
                paused.reached.set()
                while not paused.go.is_set():
                    await asyncio.sleep(0.01)
            return await real(call)

        monkeypatch.setattr(Call, "json", json)


def _two_apps(database_url: str) -> list[TestClient]:
    clients = [
        TestClient(create_app(Settings(database_url=database_url), db=Database(database_url)))
        for _ in "ab"
    ]
    for client in clients:
        client.__enter__()
    return clients


def _in_thread(work: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    return thread, out


def test_a_running_request_renews_its_lease_so_a_repeat_waits(
    database_url: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "LEASE_MS", 600)
    monkeypatch.setattr(idempotency, "RENEW_SECONDS", 0.05)
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 2.0)
    paused = Paused(monkeypatch)
    headers = {"Authorization": f"Bearer {make_key(db, False)}", **key_header("slow")}
    first, second = _two_apps(database_url)
    try:
        thread, answers = _in_thread(
            lambda: first.post("/api/customers", json={"name": "A"}, headers=headers)
        )
        assert paused.reached.wait(10)
        # Held three leases long: only renewal keeps the claim from being taken over.
        repeat = second.post("/api/customers", json={"name": "A"}, headers=headers)
        assert repeat.status_code == 409, repeat.text
        assert repeat.json()["code"] == "idempotency_key_in_use"
        paused.go.set()
        thread.join(10)
        assert answers[0].status_code == 201
        listed = second.get("/api/customers", headers=headers).json()
        assert listed["count"] == 1
    finally:
        paused.go.set()
        for client in (first, second):
            client.__exit__(None, None, None)


def test_a_request_whose_claim_was_taken_over_writes_nothing(
    database_url: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stalled owner (it stopped renewing, as a frozen process would) loses its claim to a
    # retry; when it wakes up its write is rolled back, so the customer is made once.
    monkeypatch.setattr(idempotency, "RENEW_SECONDS", 3600.0)
    paused = Paused(monkeypatch)
    headers = {"Authorization": f"Bearer {make_key(db, False)}", **key_header("stalled")}
    first, second = _two_apps(database_url)
    try:
        thread, answers = _in_thread(
            lambda: first.post("/api/customers", json={"name": "A"}, headers=headers)
        )
        assert paused.reached.wait(10)
        db.run_sync(
            lambda tx: tx.execute("UPDATE idempotency_keys SET lease_until = 0"), write=True
        )
        retry = second.post("/api/customers", json={"name": "A"}, headers=headers)
        assert retry.status_code == 201, retry.text
        paused.go.set()
        thread.join(10)
        stalled = answers[0]
        assert stalled.status_code == 409, stalled.text
        assert stalled.json()["code"] == "idempotency_key_in_use"
        listed = second.get("/api/customers", headers=headers).json()
        assert [c["id"] for c in listed["list"]] == [retry.json()["id"]]
        again = first.post("/api/customers", json={"name": "A"}, headers=headers)
        assert again.headers["idempotent-replayed"] == "true" and again.json() == retry.json()
    finally:
        paused.go.set()
        for client in (first, second):
            client.__exit__(None, None, None)


def test_a_5xx_is_not_stored_and_the_retry_runs(api: API, monkeypatch: pytest.MonkeyPatch) -> None:
    from paymentkit.server.customers import service

    real = service.create

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "create", broken)
    failed = api.post("/api/customers", json={"name": "Ann"}, headers=key_header("boom"))
    assert failed.status_code == 500
    assert "disk" not in failed.text
    monkeypatch.setattr(service, "create", real)
    retried = api.post("/api/customers", json={"name": "Ann"}, headers=key_header("boom"))
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert customer_count(api) == 1


def test_racing_repeats_run_once(database_url: str, db: Database) -> None:
    secret = make_key(db, False)
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "race"}
    apps = [
        create_app(Settings(database_url=database_url), db=Database(database_url)) for _ in "ab"
    ]
    clients = [TestClient(app) for app in apps]
    for client in clients:
        client.__enter__()
    try:
        for _ in range(3):
            barrier = threading.Barrier(4)
            results: list[Any] = []

            def fire(client: TestClient) -> None:
                barrier.wait()
                results.append(client.post("/api/customers", json={"name": "A"}, headers=headers))

            threads = [threading.Thread(target=fire, args=(clients[i % 2],)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            ok = [r for r in results if r.status_code == 201]
            assert ok, [r.text for r in results]
            assert len({r.json()["id"] for r in ok}) == 1
            for r in results:
                assert r.status_code == 201 or r.json()["code"] == "idempotency_key_in_use"
        listed = clients[0].get("/api/customers", headers={"Authorization": f"Bearer {secret}"})
        assert listed.json()["count"] == 1
    finally:
        for client in clients:
            client.__exit__(None, None, None)
