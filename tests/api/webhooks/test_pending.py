"""An endpoint that stops taking deliveries settles its pending ones in the same transaction:
disabling marks them failed, deleting removes them (and their attempts) with the endpoint, and
either way each event's `pending_webhooks` drops by one per delivery. Enabling again does not
bring them back."""

from __future__ import annotations

from paymentkit.server.db.engine import Database, Tx
from paymentkit.server.webhooks import repository
from tests.api.billing.helpers import body
from tests.api.webhooks.helpers import (
    delivery_statuses,
    endpoint_seq,
    insert_delivery,
    insert_event,
    make_endpoint,
    pending_webhooks,
    record,
)
from tests.conftest import API

PATH = "/api/webhook-endpoints"


def _two_endpoints_with_deliveries(hooks: API, db: Database) -> dict[str, int]:
    """Endpoints A and B; event 1 pending to both, event 2 pending to A twice (a resend) and
    already succeeded once, event 3 failed to A."""
    a = endpoint_seq(db, make_endpoint(hooks, description="A")["id"])
    b = endpoint_seq(db, make_endpoint(hooks, description="B")["id"])

    def made(tx: Tx) -> dict[str, int]:
        e1 = insert_event(tx)
        e2 = insert_event(tx, object_id="cus_y")
        e3 = insert_event(tx)
        insert_delivery(tx, e1, a)
        insert_delivery(tx, e1, b)
        insert_delivery(tx, e2, a, status="succeeded")
        insert_delivery(tx, e2, a)
        insert_delivery(tx, e2, a)
        insert_delivery(tx, e3, a, status="failed")
        return {"a": a, "b": b, "e1": e1, "e2": e2, "e3": e3}

    seqs: dict[str, int] = db.run_sync(made, write=True)
    assert [pending_webhooks(db, seqs[e]) for e in ("e1", "e2", "e3")] == [2, 2, 0]
    return seqs


def _id_of(db: Database, seq: int) -> str:
    return str(
        db.run_sync(lambda tx: tx.scalar("SELECT id FROM webhook_endpoints WHERE seq = ?", (seq,)))
    )


def test_disabling_settles_pending_deliveries_as_failed(hooks: API, db: Database) -> None:
    s = _two_endpoints_with_deliveries(hooks, db)
    a_id = _id_of(db, s["a"])
    off = body(hooks.put(f"{PATH}/{a_id}", json={"status": "disabled"}), 200)
    assert off["status"] == "disabled"
    assert delivery_statuses(db, s["a"]) == ["failed", "succeeded", "failed", "failed", "failed"]
    assert delivery_statuses(db, s["b"]) == ["pending"]
    assert [pending_webhooks(db, s[e]) for e in ("e1", "e2", "e3")] == [1, 0, 0]
    leases = db.run_sync(
        lambda tx: tx.all(
            "SELECT lease_owner, lease_until FROM webhook_deliveries WHERE endpoint_seq = ?",
            (s["a"],),
        )
    )
    assert all(row == (None, None) for row in leases)
    # Enabling again brings nothing back (resend the events instead); disabling twice is a no-op.
    body(hooks.put(f"{PATH}/{a_id}", json={"status": "enabled"}), 200)
    assert delivery_statuses(db, s["a"]) == ["failed", "succeeded", "failed", "failed", "failed"]
    assert [pending_webhooks(db, s[e]) for e in ("e1", "e2", "e3")] == [1, 0, 0]


def test_other_updates_leave_deliveries_alone(hooks: API, db: Database) -> None:
    s = _two_endpoints_with_deliveries(hooks, db)
    a_id = _id_of(db, s["a"])
    body(hooks.put(f"{PATH}/{a_id}", json={"description": "x", "status": "enabled"}), 200)
    assert delivery_statuses(db, s["a"]) == ["pending", "succeeded", "pending", "pending", "failed"]
    assert [pending_webhooks(db, s[e]) for e in ("e1", "e2", "e3")] == [2, 2, 0]


def test_deleting_removes_deliveries_and_attempts_with_the_endpoint(
    hooks: API, db: Database
) -> None:
    s = _two_endpoints_with_deliveries(hooks, db)
    a_delivery = int(
        db.run_sync(
            lambda tx: tx.scalar(
                "SELECT min(seq) FROM webhook_deliveries WHERE endpoint_seq = ?", (s["a"],)
            )
        )
    )
    b_delivery = int(
        db.run_sync(
            lambda tx: tx.scalar(
                "SELECT min(seq) FROM webhook_deliveries WHERE endpoint_seq = ?", (s["b"],)
            )
        )
    )
    assert record(db, a_delivery) is not None
    assert record(db, b_delivery) is not None
    body(hooks.delete(f"{PATH}/{_id_of(db, s['a'])}"), 200)
    assert delivery_statuses(db, s["a"]) == []
    assert delivery_statuses(db, s["b"]) == ["pending"]
    assert [pending_webhooks(db, s[e]) for e in ("e1", "e2", "e3")] == [1, 0, 0]
    left = db.run_sync(lambda tx: tx.all("SELECT endpoint_seq FROM webhook_attempts"))
    assert left == [(s["b"],)]
    # The worker's result for a delivery deleted meanwhile is not recorded.
    assert record(db, a_delivery) is None


def test_drop_pending_is_the_workers_too(hooks: API, db: Database) -> None:
    # The delivery worker calls it when it disables an endpoint itself (410, or 5 days failing).
    s = _two_endpoints_with_deliveries(hooks, db)
    dropped = db.run_sync(lambda tx: repository.drop_pending(tx, s["b"]), write=True)
    assert dropped == 1
    assert delivery_statuses(db, s["b"]) == ["failed"]
    assert [pending_webhooks(db, s[e]) for e in ("e1", "e2", "e3")] == [1, 2, 0]
    assert db.run_sync(lambda tx: repository.drop_pending(tx, s["b"]), write=True) == 0


def test_only_enabled_subscribed_endpoints_are_fanned_out_to(hooks: API, db: Database) -> None:
    every = make_endpoint(hooks)
    paid = make_endpoint(hooks, enabled_events=["invoice.paid"])
    make_endpoint(hooks, status="disabled")
    seqs = [endpoint_seq(db, e["id"]) for e in (every, paid)]

    def fan_out(event_type: str) -> list[int]:
        return db.run_sync(lambda tx: repository.subscribed(tx, False, event_type))

    assert fan_out("invoice.paid") == seqs
    assert fan_out("customer.created") == seqs[:1]
    assert db.run_sync(lambda tx: repository.subscribed(tx, True, "invoice.paid")) == []
    body(hooks.put(f"{PATH}/{paid['id']}", json={"enabled_events": ["customer.created"]}), 200)
    assert fan_out("invoice.paid") == seqs[:1]
    assert fan_out("customer.created") == seqs


def test_the_outbox_fans_out_to_endpoints_made_here_and_disabling_settles_it(
    hooks: API, db: Database
) -> None:
    every = make_endpoint(hooks)
    customers_only = make_endpoint(hooks, enabled_events=["customer.created"])
    make_endpoint(hooks, enabled_events=["invoice.paid"])
    customer = body(hooks.post("/api/customers", json={"name": "Ada"}), 201)
    (event,) = body(hooks.get("/api/events", params={"object_id": customer["id"]}), 200)["list"]
    assert event["type"] == "customer.created" and event["pending_webhooks"] == 2
    body(hooks.put(f"{PATH}/{every['id']}", json={"status": "disabled"}), 200)
    assert body(hooks.get(f"/api/events/{event['id']}"), 200)["pending_webhooks"] == 1
    body(hooks.delete(f"{PATH}/{customers_only['id']}"), 200)
    assert body(hooks.get(f"/api/events/{event['id']}"), 200)["pending_webhooks"] == 0
    assert delivery_statuses(db, endpoint_seq(db, every["id"])) == ["failed"]


def test_enabling_again_or_a_new_url_restarts_the_failure_clock(hooks: API, db: Database) -> None:
    e = make_endpoint(hooks)

    def failing_since() -> object:
        return db.run_sync(
            lambda tx: tx.scalar(
                "SELECT failing_since FROM webhook_endpoints WHERE id = ?", (e["id"],)
            )
        )

    def start_failing() -> None:
        db.run_sync(
            lambda tx: tx.execute(
                "UPDATE webhook_endpoints SET failing_since = 1 WHERE id = ?", (e["id"],)
            ),
            write=True,
        )

    start_failing()
    body(hooks.put(f"{PATH}/{e['id']}", json={"description": "still failing"}), 200)
    assert failing_since() == 1
    body(hooks.put(f"{PATH}/{e['id']}", json={"url": "http://localhost:9/fixed"}), 200)
    assert failing_since() is None
    start_failing()
    body(hooks.put(f"{PATH}/{e['id']}", json={"status": "disabled"}), 200)
    assert failing_since() == 1
    body(hooks.put(f"{PATH}/{e['id']}", json={"status": "enabled"}), 200)
    assert failing_since() is None
