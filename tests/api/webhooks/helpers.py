"""Builders of the webhook tests: endpoints over HTTP, and the rows that events and the delivery
worker write, made straight in the database (the repository's `record_attempt` for attempts)."""

from __future__ import annotations

from typing import Any

from paymentkit.server.db.engine import Database, Tx
from paymentkit.server.ids import new_id, now_ms
from paymentkit.server.webhooks import repository
from tests.api.billing.helpers import body
from tests.conftest import API

RECEIVER = "http://127.0.0.1:9/hooks"  # the discard port: nothing listens there


def make_endpoint(api: API, **fields: Any) -> dict[str, Any]:
    payload = {"url": RECEIVER, "enabled_events": ["*"], **fields}
    endpoint: dict[str, Any] = body(api.post("/api/webhook-endpoints", json=payload), 201)
    return endpoint


def without_secret(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in endpoint.items() if k != "secret"}


def endpoint_seq(db: Database, endpoint_id: str) -> int:
    return int(
        db.run_sync(
            lambda tx: tx.scalar("SELECT seq FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
        )
    )


def insert_event(tx: Tx, livemode: bool = False, object_id: str = "cus_x") -> int:
    """An event row as the outbox writes it; its seq."""
    now = now_ms()
    event_id = new_id("evt")
    tx.execute(
        "INSERT INTO events (id, livemode, type, api_version, object_type, object_id, data,"
        " pending_webhooks, created_at, updated_at)"
        " VALUES (?, ?, 'customer.created', '2023-09-05', 'customer', ?, '{}', 0, ?, ?)",
        (event_id, livemode, object_id, now, now),
    )
    return int(tx.scalar("SELECT seq FROM events WHERE id = ?", (event_id,)))


def insert_delivery(tx: Tx, event_seq: int, endpoint: int, status: str = "pending") -> int:
    """A delivery of the event to the endpoint (by seq); a pending one counts in the event's
    pending_webhooks, as the outbox keeps it."""
    now = now_ms()
    tx.execute(
        "INSERT INTO webhook_deliveries (event_seq, endpoint_seq, object_id, status,"
        " next_attempt_at, created_at, updated_at)"
        " SELECT seq, ?, object_id, ?, ?, ?, ? FROM events WHERE seq = ?",
        (endpoint, status, now, now, now, event_seq),
    )
    if status == "pending":
        tx.execute(
            "UPDATE events SET pending_webhooks = pending_webhooks + 1 WHERE seq = ?",
            (event_seq,),
        )
    return int(tx.scalar("SELECT max(seq) FROM webhook_deliveries"))


def pending_webhooks(db: Database, event_seq: int) -> int:
    return int(
        db.run_sync(
            lambda tx: tx.scalar("SELECT pending_webhooks FROM events WHERE seq = ?", (event_seq,))
        )
    )


def delivery_statuses(db: Database, endpoint: int) -> list[str]:
    rows = db.run_sync(
        lambda tx: tx.all(
            "SELECT status FROM webhook_deliveries WHERE endpoint_seq = ? ORDER BY seq",
            (endpoint,),
        )
    )
    return [str(status) for (status,) in rows]


def record(db: Database, delivery: int, **fields: Any) -> str | None:
    values: dict[str, Any] = {
        "status": "failed",
        "response_status": 500,
        "response_body": "oops",
        "duration_ms": 12,
        "error": None,
        "retry_count": 0,
        "created_at": now_ms(),
        **fields,
    }
    return db.run_sync(
        lambda tx: repository.record_attempt(tx, delivery_seq=delivery, **values), write=True
    )
