"""Webhook delivery (issue 10, item 4) through the app as `serve` runs it: its delivery worker
posting to real local receivers, on SQLite and PostgreSQL. Receivers verify every request with
the `standardwebhooks` package; retries run on a sub-second test schedule."""

from __future__ import annotations

import time
from typing import Any

import pytest

from paymentkit.server.db.engine import Database
from paymentkit.server.ids import now_ms
from tests.api.billing.helpers import body, make_currency, make_customer, make_invoice
from tests.api.delivery.conftest import Delivering
from tests.api.delivery.receivers import (
    Answer,
    Received,
    add_endpoint,
    receiving,
    verified,
    verifies,
)
from tests.conftest import API, make_key


def attempts(db: Database, endpoint_seq: int) -> list[dict[str, Any]]:
    names = ("event_id", "status", "response_status", "response_body", "retry_count", "error")
    rows = db.run_sync(
        lambda tx: tx.all(
            f"SELECT {', '.join(names)}, duration_ms FROM webhook_attempts"
            " WHERE endpoint_seq = ? ORDER BY seq",
            (endpoint_seq,),
        )
    )
    return [dict(zip((*names, "duration_ms"), row, strict=True)) for row in rows]


def deliveries(db: Database, endpoint_seq: int) -> list[tuple[str, int]]:
    return db.run_sync(
        lambda tx: [
            (str(s), int(a))
            for s, a in tx.all(
                "SELECT status, attempts FROM webhook_deliveries WHERE endpoint_seq = ?"
                " ORDER BY seq",
                (endpoint_seq,),
            )
        ]
    )


def endpoint_state(db: Database, endpoint_seq: int) -> tuple[str, Any]:
    row = db.run_sync(
        lambda tx: tx.one(
            "SELECT status, failing_since FROM webhook_endpoints WHERE seq = ?", (endpoint_seq,)
        )
    )
    assert row is not None
    return str(row[0]), row[1]


def settled(db: Database, endpoint_seq: int, timeout: float = 30.0) -> list[tuple[str, int]]:
    """The endpoint's deliveries once none is pending."""
    deadline = time.monotonic() + timeout
    while True:
        found = deliveries(db, endpoint_seq)
        if found and all(status != "pending" for status, _ in found):
            return found
        assert time.monotonic() < deadline, f"deliveries still pending: {found}"
        time.sleep(0.05)


def get_event(api: API, event_id: str) -> dict[str, Any]:
    found: dict[str, Any] = body(api.get(f"/api/events/{event_id}"), 200)
    return found


def test_every_committed_change_arrives_signed_with_the_event_as_the_api_answers_it(
    delivering: Delivering, db: Database
) -> None:
    with receiving() as receiver, delivering() as api:
        _, seq, secret = add_endpoint(api, db, receiver.url + "/hooks?src=pk")
        customer = make_customer(api, name="Ada")
        body(api.put(f"/api/customers/{customer['id']}", json={"name": "Ada L"}), 200)
        got = receiver.wait_count(2)
        settled(db, seq)
        assert [r.event["type"] for r in got] == ["customer.created", "customer.updated"]
        for request in got:
            event = verified(request, secret)
            assert request.webhook_id == event["id"]
            assert request.path == "/hooks?src=pk"
            assert request.headers["content-type"] == "application/json"
            assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 300
            assert "x-component-sig" not in request.headers  # no app key on this server
            answered = get_event(api, event["id"])
            assert answered["pending_webhooks"] == 0  # delivered
            assert event == {**answered, "pending_webhooks": 1}  # as it was when sent
        assert got[1].event["data"]["previous_attributes"] == {"name": "Ada"}
        assert [a["status"] for a in attempts(db, seq)] == ["succeeded", "succeeded"]
        assert attempts(db, seq)[0]["response_body"] == "ok"
        assert endpoint_state(db, seq) == ("enabled", None)


def test_a_failing_receiver_gets_each_event_again_with_the_same_id_until_it_takes_it(
    delivering: Delivering, db: Database
) -> None:

    def fail_twice(request: Received, seen: int) -> Answer:
        return (500, {}, b"not yet") if seen < 2 else (204, {}, b"")

    with receiving(fail_twice) as receiver, delivering() as api:
        endpoint_id, seq, secret = add_endpoint(api, db, receiver.url)
        customer = make_customer(api)
        got = receiver.wait_count(3)
        assert settled(db, seq) == [("succeeded", 3)]
        shown = body(api.get(f"/api/webhook-endpoints/{endpoint_id}/attempts"), 200)["list"]
        assert [(a["status"], a["response_status"], a["retry_count"]) for a in shown] == [
            ("succeeded", 204, 2),
            ("failed", 500, 1),
            ("failed", 500, 0),
        ]  # newest first
        assert {a["event_id"] for a in shown} == {got[0].webhook_id}
        assert shown[-1]["response_body"] == "not yet"
        assert len({r.webhook_id for r in got}) == 1
        assert all(verifies(r, secret) for r in got)
        # each attempt is signed anew, for its own timestamp
        assert got[0].headers["webhook-signature"] != got[2].headers["webhook-signature"] or (
            got[0].headers["webhook-timestamp"] == got[2].headers["webhook-timestamp"]
        )
        tried = attempts(db, seq)
        assert [(a["status"], a["response_status"], a["retry_count"]) for a in tried] == [
            ("failed", 500, 0),
            ("failed", 500, 1),
            ("succeeded", 204, 2),
        ]
        assert tried[0]["response_body"] == "not yet"
        assert all(a["duration_ms"] >= 0 for a in tried)
        event = got[0].event["id"]
        assert get_event(api, event)["pending_webhooks"] == 0
        assert endpoint_state(db, seq) == ("enabled", None)  # the run of failures ended
        assert got[0].event["data"]["object"]["id"] == customer["id"]


def test_after_the_last_retry_the_delivery_is_given_up_and_the_next_event_goes(
    delivering: Delivering, db: Database
) -> None:
    def refuse_the_creation(request: Received, seen: int) -> Answer:
        created = request.event["type"] == "customer.created"
        return (400, {}, b"no") if created else (200, {}, b"")

    with receiving(refuse_the_creation) as receiver, delivering() as api:
        _, seq, _ = add_endpoint(api, db, receiver.url)
        customer = make_customer(api)
        body(api.put(f"/api/customers/{customer['id']}", json={"name": "B"}), 200)
        got = receiver.wait_count(4)
        assert settled(db, seq) == [("failed", 3), ("succeeded", 1)]
        assert [r.event["type"] for r in got] == ["customer.created"] * 3 + ["customer.updated"]
        assert get_event(api, got[0].event["id"])["pending_webhooks"] == 0
        status, failing_since = endpoint_state(db, seq)
        assert status == "enabled" and failing_since is None  # the update succeeded


def test_one_objects_events_arrive_in_commit_order_while_other_objects_flow(
    delivering: Delivering, db: Database
) -> None:
    """A receiver failing object A's first event twice: A's later events wait for it, B's
    events do not."""
    blocked: dict[str, str] = {}

    def fail_first_of_a(request: Received, seen: int) -> Answer:
        event = request.event
        first_of_a = event["data"]["object"]["id"] == blocked.get("a") and (
            event["type"] == "customer.created"
        )
        if first_of_a and seen < 2:
            return 503, {}, b""
        return 200, {}, b""

    with receiving(fail_first_of_a) as receiver, delivering() as api:
        _, seq, _ = add_endpoint(api, db, receiver.url)
        a = make_customer(api, name="A0")
        blocked["a"] = a["id"]
        b = make_customer(api, name="B0")
        for i in range(1, 4):
            body(api.put(f"/api/customers/{a['id']}", json={"name": f"A{i}"}), 200)
            body(api.put(f"/api/customers/{b['id']}", json={"name": f"B{i}"}), 200)
        got = receiver.wait_count(10)
        settled(db, seq)

        def names(object_id: str) -> list[str]:
            return [
                r.event["data"]["object"]["name"]
                for r in got
                if r.event["data"]["object"]["id"] == object_id
            ]

        assert names(a["id"]) == ["A0", "A0", "A0", "A1", "A2", "A3"]
        assert names(b["id"]) == ["B0", "B1", "B2", "B3"]
        # B's events did not wait for A's first event to succeed
        a_done = next(i for i, r in enumerate(got) if r.event["data"]["object"]["name"] == "A1")
        b_done = max(i for i, r in enumerate(got) if r.event["data"]["object"]["id"] == b["id"])
        assert b_done < a_done


def test_410_disables_the_endpoint_and_settles_its_pending_deliveries(
    delivering: Delivering, db: Database
) -> None:
    with receiving(lambda r, seen: (410, {}, b"gone")) as receiver, delivering() as api:
        _, seq, _ = add_endpoint(api, db, receiver.url)
        customer = make_customer(api)
        got = receiver.wait_count(1)
        time.sleep(0.5)  # no second attempt comes
        assert len(receiver.requests()) == 1
        assert endpoint_state(db, seq)[0] == "disabled"
        assert settled(db, seq) == [("failed", 1)]
        assert get_event(api, got[0].event["id"])["pending_webhooks"] == 0
        body(api.put(f"/api/customers/{customer['id']}", json={"name": "later"}), 200)
        assert deliveries(db, seq) == [("failed", 1)]  # a disabled endpoint gets nothing new


def test_429_with_retry_after_waits_at_least_that_long(
    delivering: Delivering, db: Database
) -> None:
    def slow_down(request: Received, seen: int) -> Answer:
        return (429, {"Retry-After": "1"}, b"") if seen == 0 else (200, {}, b"")

    with receiving(slow_down) as receiver, delivering() as api:
        _, seq, _ = add_endpoint(api, db, receiver.url)
        make_customer(api)
        got = receiver.wait_count(2)
        assert got[1].at - got[0].at >= 1.0  # the schedule alone would retry after 0.2 s
        assert settled(db, seq) == [("succeeded", 2)]
        assert [a["response_status"] for a in attempts(db, seq)] == [429, 200]


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    delivering: Delivering, db: Database
) -> None:
    with receiving() as elsewhere:

        def redirect(request: Received, seen: int) -> Answer:
            return 307, {"Location": elsewhere.url + "/stolen"}, b""

        with receiving(redirect) as receiver, delivering() as api:
            _, seq, _ = add_endpoint(api, db, receiver.url)
            make_customer(api)
            receiver.wait_count(3)
            assert settled(db, seq) == [("failed", 3)]
            tried = attempts(db, seq)
            assert [a["response_status"] for a in tried] == [307, 307, 307]
            assert "redirect" in tried[0]["error"]
        assert elsewhere.requests() == []


def test_a_private_address_is_refused_at_delivery_without_the_setting(
    delivering: Delivering, db: Database
) -> None:
    """The URL was saved when it was public, or the name now resolves to a private address:
    the worker checks the address it connects to."""
    with receiving() as receiver:
        with delivering(deliver=False) as setup:  # a server that allows private URLs
            _, seq, _ = add_endpoint(setup, db, receiver.url.replace("127.0.0.1", "localhost"))
        with delivering(webhook_allow_private=False) as api:
            make_customer(api)
            assert settled(db, seq) == [("failed", 3)]
            tried = attempts(db, seq)
            assert all("refused" in a["error"] and "loopback" in a["error"] for a in tried)
            assert all(a["response_status"] is None for a in tried)
            assert "127.0.0.1" not in tried[0]["error"]
        assert receiver.requests() == []


def test_an_answer_is_read_up_to_2_kb_only(delivering: Delivering, db: Database) -> None:
    huge = b"x" * (5 * 1024 * 1024)
    with receiving(lambda r, seen: (200, {}, huge)) as receiver, delivering() as api:
        _, seq, _ = add_endpoint(api, db, receiver.url)
        make_customer(api)
        settled(db, seq)
        assert attempts(db, seq)[0]["response_body"] == "x" * 2048
        assert len(receiver.requests()) == 1


def test_unreachable_and_unresolvable_receivers_are_failed_attempts(
    delivering: Delivering, db: Database
) -> None:
    with receiving() as receiver:
        closed = receiver.url
    with delivering() as api:
        _, down, _ = add_endpoint(api, db, closed)
        _, nowhere, _ = add_endpoint(api, db, closed + "/h")
        db.run_sync(  # as if the name had stopped resolving since the endpoint was saved
            lambda tx: tx.execute(
                "UPDATE webhook_endpoints SET url = 'http://no-such-host.invalid/h' WHERE seq = ?",
                (nowhere,),
            ),
            write=True,
        )
        make_customer(api)
        assert settled(db, down) == [("failed", 3)]
        assert settled(db, nowhere) == [("failed", 3)]
        assert "connection failed" in attempts(db, down)[0]["error"]
        assert "resolve" in attempts(db, nowhere)[0]["error"]
        customer = make_customer(api)  # the worker is still running
        assert body(api.get(f"/api/customers/{customer['id']}"), 200)["id"] == customer["id"]


def test_an_endpoint_failing_for_five_days_is_disabled(
    delivering: Delivering, db: Database
) -> None:
    with receiving(lambda r, seen: (500, {}, b"")) as receiver, delivering() as api:
        _, seq, _ = add_endpoint(api, db, receiver.url)
        six_days_ago = now_ms() - 6 * 86_400_000
        db.run_sync(
            lambda tx: tx.execute(
                "UPDATE webhook_endpoints SET failing_since = ? WHERE seq = ?",
                (six_days_ago, seq),
            ),
            write=True,
        )
        customer = make_customer(api)
        body(api.put(f"/api/customers/{customer['id']}", json={"name": "x"}), 200)
        receiver.wait_count(1)
        assert settled(db, seq) == [("failed", 1), ("failed", 0)]
        assert endpoint_state(db, seq) == ("disabled", six_days_ago)


def test_while_a_rotated_secret_overlaps_both_sign(delivering: Delivering, db: Database) -> None:
    with receiving() as receiver, delivering() as api:
        endpoint_id, _, previous = add_endpoint(api, db, receiver.url)
        rotated = body(api.post(f"/api/webhook-endpoints/{endpoint_id}/rotate_secret"), 200)
        current = rotated["secret"]
        make_customer(api)
        (request,) = receiver.wait_count(1)
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        verified(request, current)
        verified(request, previous)


def test_events_go_to_the_subscribed_endpoints_of_their_mode_only(
    delivering: Delivering, db: Database
) -> None:
    with receiving() as receiver, delivering() as api:
        _, invoices, _ = add_endpoint(api, db, receiver.url + "/invoices", ["invoice.created"])
        _, created, _ = add_endpoint(api, db, receiver.url + "/created", ["customer.created"])
        live_api = API(api.client, make_key(db, True))
        _, live, _ = add_endpoint(live_api, db, receiver.url + "/live")
        customer = make_customer(api)
        body(api.put(f"/api/customers/{customer['id']}", json={"name": "x"}), 200)
        currency = make_currency(api)
        make_invoice(api, customer["id"], currency["id"])
        receiver.wait_count(2)
        settled(db, created)
        settled(db, invoices)
        time.sleep(0.3)
        got = {r.path: r.event["type"] for r in receiver.requests()}
        assert got == {"/created": "customer.created", "/invoices": "invoice.created"}
        assert deliveries(db, live) == []


def test_a_rolled_back_change_sends_nothing(delivering: Delivering, db: Database) -> None:
    from paymentkit.schemas.customers import CustomerInput
    from paymentkit.server.customers import service

    class Boom(Exception):
        pass

    def work(tx: Any) -> None:
        service.create(tx, False, CustomerInput(name="Never"))
        raise Boom

    with receiving() as receiver, delivering() as api:
        _, seq, _ = add_endpoint(api, db, receiver.url)
        with pytest.raises(Boom):
            db.run_sync(work, write=True)
        r = api.post("/api/customers", json={"email": "not an address"})
        assert r.status_code == 400
        marker = make_customer(api, name="after")
        (request,) = receiver.wait_count(1)
        time.sleep(0.3)
        assert len(receiver.requests()) == 1
        assert request.event["data"]["object"]["id"] == marker["id"]
        assert settled(db, seq) == [("succeeded", 1)]
