"""Racing writes on one DID from two server processes' worth of state: two apps, each with its own
`Database` (own connections or pool) and its own TestClient event loop, fired from threads released
together by a barrier. A DID is unique per mode however the requests interleave (API.md, Customers:
"two racing calls give one customer")."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from tests.conftest import make_key

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ROUNDS = 4


def new_did() -> str:
    return "z" + "".join(secrets.choice(BASE58) for _ in range(35))


class Racers:
    """Two independent apps on one database, and a test-mode key both accept."""

    def __init__(self, clients: list[TestClient], secret: str) -> None:
        self.clients = clients
        self.headers = {"Authorization": f"Bearer {secret}"}

    def race(self, n: int, call: Callable[[TestClient, dict[str, str]], Any]) -> list[Any]:
        """Run `call` n times at once, alternating between the apps; the responses in order."""
        barrier = threading.Barrier(n)
        results: list[Any] = [None] * n
        errors: list[BaseException] = []

        def run(i: int) -> None:
            try:
                barrier.wait(timeout=30)
                results[i] = call(self.clients[i % len(self.clients)], self.headers)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        assert all(r is not None for r in results)
        return results

    def assert_counts_agree(self, expected: int) -> None:
        """Both apps' unfiltered `count` equals the customers actually listed."""
        for client in self.clients:
            r = client.get("/api/customers", params={"pageSize": 100}, headers=self.headers)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["count"] == len(body["list"]) == expected, body["count"]

    def rows_with_did(self, did: str) -> list[dict[str, Any]]:
        r = self.clients[0].get("/api/customers", params={"did": did}, headers=self.headers)
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()["list"]
        return rows


@pytest.fixture
def racers(database_url: str, db: Database) -> Iterator[Racers]:
    secret = make_key(db, False)
    apps = [
        create_app(Settings(database_url=database_url), db=Database(database_url)) for _ in range(2)
    ]
    with (
        TestClient(apps[0], raise_server_exceptions=False) as first,
        TestClient(apps[1], raise_server_exceptions=False) as second,
    ):
        yield Racers([first, second], secret)


def test_two_racing_creates_give_one_201_and_one_409(racers: Racers) -> None:
    for _ in range(ROUNDS):
        did = new_did()
        responses = racers.race(
            2,
            lambda client, headers, did=did: client.post(
                "/api/customers", json={"did": did}, headers=headers
            ),
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201, 409], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 409).json()
        assert (loser["code"], loser["param"]) == ("resource_exists", "did")
        winner = next(r for r in responses if r.status_code == 201).json()
        assert [c["id"] for c in racers.rows_with_did(did)] == [winner["id"]]
    racers.assert_counts_agree(ROUNDS)


def test_racing_creates_never_make_two_rows(racers: Racers) -> None:
    # Whatever status codes come back, the database holds exactly one customer per DID.
    for _ in range(ROUNDS):
        did = new_did()
        responses = racers.race(
            6,
            lambda client, headers, did=did: client.post(
                "/api/customers", json={"did": f"did:abt:{did}"}, headers=headers
            ),
        )
        assert len(racers.rows_with_did(did)) == 1
        assert sum(r.status_code == 201 for r in responses) == 1
    racers.assert_counts_agree(ROUNDS)


def test_racing_retrieve_or_create_gives_one_customer(racers: Racers) -> None:
    for round_no in range(ROUNDS):
        did = new_did()
        ref = did if round_no % 2 else f"did:abt:{did}"
        responses = racers.race(
            8,
            lambda client, headers, ref=ref: client.request(
                "GET", f"/api/customers/{ref}", json={"create": True}, headers=headers
            ),
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 7 + [201], [r.text for r in responses]
        ids = {r.json()["id"] for r in responses}
        assert len(ids) == 1
        assert {r.json()["did"] for r in responses} == {did}
        assert [c["id"] for c in racers.rows_with_did(did)] == list(ids)
    racers.assert_counts_agree(ROUNDS)


def test_racing_retrieve_or_create_via_query_flag(racers: Racers) -> None:
    for _ in range(ROUNDS):
        did = new_did()
        responses = racers.race(
            4,
            lambda client, headers, did=did: client.get(
                f"/api/customers/{did}?create=true", headers=headers
            ),
        )
        assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
        assert len({r.json()["id"] for r in responses}) == 1
        assert len(racers.rows_with_did(did)) == 1
    racers.assert_counts_agree(ROUNDS)


def test_racing_create_and_retrieve_or_create(racers: Racers) -> None:
    # A POST and a retrieve-or-create on the same DID: one row, and both answers name it
    # unless the POST lost (then it is a 409).
    for _ in range(ROUNDS):
        did = new_did()

        def call(client: TestClient, headers: dict[str, str], did: str = did) -> Any:
            if client is racers.clients[0]:
                return client.post("/api/customers", json={"did": did}, headers=headers)
            return client.request(
                "GET", f"/api/customers/{did}", json={"create": True}, headers=headers
            )

        post, get = racers.race(2, call)
        rows = racers.rows_with_did(did)
        assert len(rows) == 1
        assert get.status_code in (200, 201), get.text
        assert get.json()["id"] == rows[0]["id"]
        if post.status_code == 201:
            assert get.status_code == 200 and post.json()["id"] == rows[0]["id"]
        else:
            assert post.status_code == 409, post.text
            assert get.status_code == 201
            assert post.json()["code"] == "resource_exists"
    racers.assert_counts_agree(ROUNDS)


def test_racing_deletes_delete_once_and_free_the_did(racers: Racers) -> None:
    for _ in range(ROUNDS):
        did = new_did()
        made = racers.clients[0].post("/api/customers", json={"did": did}, headers=racers.headers)
        assert made.status_code == 201, made.text
        customer_id = made.json()["id"]
        responses = racers.race(
            4,
            lambda client, headers, cid=customer_id: client.delete(
                f"/api/customers/{cid}", headers=headers
            ),
        )
        assert sorted(r.status_code for r in responses) == [200, 404, 404, 404]
        assert racers.rows_with_did(did) == []
    racers.assert_counts_agree(0)
