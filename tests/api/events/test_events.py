"""Events (issue 10, items 1 and 2): written with the change, never without it; the Events API.

Every test runs on SQLite and PostgreSQL. Endpoints are inserted straight into the table here
(the webhook endpoints resource has its own tests) so the fan-out into deliveries can be read.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from paymentkit.server.db.engine import Database
from paymentkit.server.events import types
from paymentkit.server.ids import new_id, now_ms
from tests.api.billing.helpers import (
    assert_error,
    body,
    make_currency,
    make_customer,
    make_invoice,
    make_method,
    make_subscription,
)
from tests.conftest import API


def events(api: API, **query: Any) -> list[dict[str, Any]]:
    return body(api.get("/api/events", params=query), 200)["list"]


def event_of(api: API, object_id: str, event_type: str) -> dict[str, Any]:
    found = [e for e in events(api, object_id=object_id, pageSize=100) if e["type"] == event_type]
    assert len(found) == 1, (event_type, found)
    return found[0]


def add_endpoint(
    db: Database, enabled: list[str], livemode: bool = False, status: str = "enabled"
) -> int:
    now = now_ms()

    def work(tx: Any) -> int:
        return int(
            tx.scalar(
                "INSERT INTO webhook_endpoints (id, livemode, url, enabled_events, metadata, status,"
                " api_version, created_via, secret_encrypted, created_at, updated_at)"
                " VALUES (?, ?, 'https://example.com/hook', ?, '{}', ?, ?, 'api', 'x', ?, ?)"
                " RETURNING seq",
                (
                    new_id("we"),
                    livemode,
                    __import__("json").dumps(enabled),
                    status,
                    types.API_VERSION,
                    now,
                    now,
                ),
            )
        )

    return db.run_sync(work, write=True)


def deliveries(db: Database) -> list[tuple[Any, ...]]:
    return db.run_sync(
        lambda tx: [
            tuple(r)
            for r in tx.all(
                "SELECT e.type, d.endpoint_seq, d.object_id, d.status FROM webhook_deliveries d"
                " JOIN events e ON e.seq = d.event_seq ORDER BY d.seq"
            )
        ]
    )


def test_every_change_records_its_event_with_the_object_after_it(api: API) -> None:
    customer = make_customer(api, name="Ada", email="ada@example.com")
    updated = body(api.put(f"/api/customers/{customer['id']}", json={"name": "Ada L"}), 200)
    method = make_method(api)
    body(api.put(f"/api/payment-methods/{method['id']}", json={"name": "Renamed"}), 200)
    currency = make_currency(api, method["id"])
    sub = make_subscription(api, customer["id"], currency["id"])
    invoice = make_invoice(api, customer["id"], currency["id"], amount_due="1000")
    body(api.post(f"/api/invoices/{invoice['id']}/finalize"), 200)
    body(api.post(f"/api/invoices/{invoice['id']}/pay", json={"amount": "400"}), 200)
    body(api.post(f"/api/invoices/{invoice['id']}/mark_uncollectible"), 200)
    body(api.post(f"/api/invoices/{invoice['id']}/pay"), 200)
    other = make_invoice(api, customer["id"], currency["id"], amount_due="5")
    body(api.post(f"/api/invoices/{other['id']}/finalize"), 200)
    body(api.post(f"/api/invoices/{other['id']}/void"), 200)
    body(api.put(f"/api/subscriptions/{sub['id']}/cancel"), 200)
    body(api.delete(f"/api/customers/{customer['id']}"), 200)

    created = event_of(api, customer["id"], "customer.created")
    assert created["data"] == {"object": customer}
    assert created["object_type"] == "customer" and created["object_id"] == customer["id"]
    change = event_of(api, customer["id"], "customer.updated")
    assert change["data"]["object"] == updated
    assert change["data"]["previous_attributes"] == {"name": "Ada"}
    assert (
        event_of(api, customer["id"], "customer.deleted")["data"]["object"]["id"] == customer["id"]
    )
    pm = event_of(api, method["id"], "payment_method.updated")
    assert pm["data"]["previous_attributes"] == {"name": method["name"]}
    assert (
        event_of(api, sub["id"], "customer.subscription.created")["data"]["object"]["status"]
        == "active"
    )
    assert (
        event_of(api, sub["id"], "customer.subscription.deleted")["data"]["object"]["status"]
        == "canceled"
    )
    partial = event_of(api, invoice["id"], "invoice.updated")
    assert partial["data"]["previous_attributes"] == {
        "amount_paid": "0",
        "amount_remaining": "1000",
    }
    assert partial["data"]["object"]["amount_remaining"] == "600"
    for t in (
        "invoice.created",
        "invoice.finalized",
        "invoice.marked_uncollectible",
        "invoice.paid",
    ):
        event_of(api, invoice["id"], t)
    assert event_of(api, other["id"], "invoice.voided")["data"]["object"]["status"] == "void"
    # newest first, and each object's events in the order the changes happened
    seen = [e["type"] for e in reversed(events(api, object_id=invoice["id"]))]
    assert seen == [
        "invoice.created",
        "invoice.finalized",
        "invoice.updated",
        "invoice.marked_uncollectible",
        "invoice.paid",
    ]
    for e in events(api, pageSize=100):
        assert e["type"] in types.EVENT_TYPES
        assert e["object"] == "event" and e["livemode"] is False
        assert e["api_version"] == types.API_VERSION
        assert e["pending_webhooks"] == 0
        assert e["request"]["id"].startswith("req_")


def test_a_request_id_and_idempotency_key_are_the_events_request(api: API) -> None:
    r = api.post("/api/customers", json={"name": "K"}, headers={"Idempotency-Key": "key-1"})
    customer = body(r, 201)
    event = event_of(api, customer["id"], "customer.created")
    assert event["request"]["id"] == r.headers["x-request-id"]
    assert event["request"]["idempotency_key"] == "key-1"
    assert event["request"]["requested_by"] is not None
    again = api.post("/api/customers", json={"name": "K"}, headers={"Idempotency-Key": "key-1"})
    assert again.headers.get("idempotent-replayed") == "true"
    assert len(events(api, type="customer.created")) == 1  # a replay makes no new event


def test_a_failed_or_empty_change_records_nothing(api: API) -> None:
    customer = make_customer(api, did="z1" + "A" * 30)
    before = events(api, pageSize=100)
    assert_error(
        api.post("/api/customers", json={"did": "z1" + "A" * 30}), 409, "resource_exists", "did"
    )
    assert_error(
        api.put(f"/api/customers/{customer['id']}", json={"email": "nope"}),
        400,
        "invalid_request",
        "email",
    )
    body(api.put(f"/api/customers/{customer['id']}", json={"name": customer["name"]}), 200)
    assert_error(api.put("/api/subscriptions/sub_missing/cancel"), 404, "resource_missing")
    assert events(api, pageSize=100) == before


def test_get_or_create_records_the_creation_only(api: API) -> None:
    did = "z1" + "B" * 30
    r = api.request("GET", f"/api/customers/{did}", json={"create": True})
    made = body(r, 201)
    body(api.request("GET", f"/api/customers/{did}", json={"create": True}), 200)
    assert [e["type"] for e in events(api, object_id=made["id"])] == ["customer.created"]


def test_events_fan_out_to_subscribed_enabled_endpoints_of_the_mode(
    api: API, live_api: API, db: Database
) -> None:
    every = add_endpoint(db, ["*"])
    invoices_only = add_endpoint(db, ["invoice.created", "customer.deleted"])
    add_endpoint(db, ["*"], status="disabled")
    add_endpoint(db, ["*"], livemode=True)
    customer = make_customer(api)
    event = event_of(api, customer["id"], "customer.created")
    assert event["pending_webhooks"] == 1
    assert deliveries(db) == [("customer.created", every, customer["id"], "pending")]
    body(api.delete(f"/api/customers/{customer['id']}"), 200)
    assert event_of(api, customer["id"], "customer.deleted")["pending_webhooks"] == 2
    assert deliveries(db)[1:] == [
        ("customer.deleted", every, customer["id"], "pending"),
        ("customer.deleted", invoices_only, customer["id"], "pending"),
    ]
    assert events(live_api) == []  # modes never see each other's events


def test_list_filters_and_paging(api: API) -> None:
    a = make_customer(api)
    time.sleep(0.01)
    b = make_customer(api)
    method = make_method(api)
    currency = make_currency(api, method["id"])
    invoice = make_invoice(api, a["id"], currency["id"])
    assert [e["object_id"] for e in events(api, type="customer.created")] == [b["id"], a["id"]]
    assert [e["type"] for e in events(api, type="invoice.*")] == ["invoice.created"]
    assert len(events(api, type="*")) == 3
    assert events(api, type="customer.*", object_id=invoice["id"]) == []
    first = events(api, type="customer.created")[1]
    created_ms = first["created_at"]
    newer = events(api, **{"created[gte]": events(api, type="customer.created")[0]["created_at"]})
    assert b["id"] in {e["object_id"] for e in newer} and a["id"] not in {
        e["object_id"] for e in newer
    }
    older = events(api, **{"created[lte]": created_ms})
    assert {e["object_id"] for e in older} == {a["id"]}
    assert events(api, **{"created[gte]": "4102444800"}) == []  # 2100, as unix seconds
    page = body(api.get("/api/events", params={"limit": 1}), 200)
    assert page["has_more"] is True and page["count"] == 3
    nxt = body(
        api.get("/api/events", params={"limit": 2, "starting_after": page["list"][0]["id"]}), 200
    )
    assert [e["id"] for e in nxt["list"]] == [e["id"] for e in events(api)[1:]]
    assert nxt["has_more"] is False
    one = body(api.get(f"/api/events/{first['id']}"), 200)
    assert one == first


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"type": "Customer.Created"}, "type"),
        ({"type": "a*b"}, "type"),
        ({"created[gte]": "yesterday"}, "created.gte"),
        ({"created[gte]": "2026-01-01T00:00:00"}, "created.gte"),
        ({"created[lte]": "99999999999999"}, "created.lte"),
        ({"created": "5"}, "created"),
        ({"starting_after": "evt_missing"}, "starting_after"),
    ],
)
def test_bad_list_queries_are_400s_naming_the_parameter(
    api: API, query: dict[str, str], param: str
) -> None:
    assert_error(api.get("/api/events", params=query), 400, "invalid_request", param)


def test_unknown_parameters_and_events(api: API, live_api: API) -> None:
    assert_error(
        api.get("/api/events", params={"created[near]": "1"}),
        400,
        "unknown_parameter",
        "created.near",
    )
    assert_error(
        api.get("/api/events", params={"colour": "red"}), 400, "unknown_parameter", "colour"
    )
    assert_error(api.get("/api/events/evt_missing"), 404, "resource_missing")
    customer = make_customer(api)
    event = event_of(api, customer["id"], "customer.created")
    assert_error(live_api.get(f"/api/events/{event['id']}"), 404, "resource_missing")


def test_resend_queues_the_same_event_again(api: API, db: Database) -> None:
    customer = make_customer(api)
    event = event_of(api, customer["id"], "customer.created")
    every = add_endpoint(db, ["*"])
    other = add_endpoint(db, ["invoice.paid"])
    again = body(api.post(f"/api/events/{event['id']}/resend"), 200)
    assert again["id"] == event["id"] and again["pending_webhooks"] == 1
    assert deliveries(db) == [("customer.created", every, customer["id"], "pending")]
    endpoint_id = db.run_sync(
        lambda tx: tx.scalar("SELECT id FROM webhook_endpoints WHERE seq = ?", (other,))
    )
    to_one = body(
        api.post(f"/api/events/{event['id']}/resend", json={"webhook_endpoint_id": endpoint_id}),
        200,
    )
    assert to_one["pending_webhooks"] == 2
    assert deliveries(db)[-1] == ("customer.created", other, customer["id"], "pending")
    assert_error(
        api.post(f"/api/events/{event['id']}/resend", json={"webhook_endpoint_id": "we_missing"}),
        400,
        "resource_missing",
        "webhook_endpoint_id",
    )
    assert_error(
        api.post(f"/api/events/{event['id']}/resend", json={"x": 1}), 400, "unknown_parameter", "x"
    )
    assert_error(api.post("/api/events/evt_missing/resend"), 404, "resource_missing")


def test_an_event_rolls_back_with_its_change(api: API, db: Database) -> None:
    """The outbox row is written by the change's transaction: a failure after it leaves neither."""
    from paymentkit.schemas.customers import CustomerInput
    from paymentkit.server.customers import service

    class Boom(Exception):
        pass

    def work(tx: Any) -> None:
        service.create(tx, False, CustomerInput(name="Never"))
        raise Boom

    with pytest.raises(Boom):
        db.run_sync(work, write=True)
    assert events(api) == []
    assert body(api.get("/api/customers"), 200)["count"] == 0


def test_created_bounds_are_exact_to_the_millisecond(api: API) -> None:
    """`created[lte]` = an event's own created_at includes it (float seconds lost 1 ms for some
    values, e.g. 1987-04-20T20:24:41.731Z)."""
    from paymentkit.server.events.service import _instant

    assert _instant("1987-04-20T20:24:41.731Z", "created.lte") == 545948681731
    for _ in range(20):
        make_customer(api)
    for e in events(api, pageSize=100):
        assert e["id"] in {x["id"] for x in events(api, **{"created[lte]": e["created_at"]})}
        assert e["id"] in {x["id"] for x in events(api, **{"created[gte]": e["created_at"]})}
