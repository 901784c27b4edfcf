"""Writing events: the transactional outbox, the one place every change records its event.

A service that changes an object calls `record(tx, ...)` inside the change's own transaction, after
the change: the event row and one delivery row per subscribed endpoint commit with the change or
not at all, so a failed request leaves no event and a committed change always has one. Nothing is
sent from here: delivery (server/delivery/) reads committed rows only. An idempotent replay never
runs the work again, so it records nothing new.

Per object, events are recorded in commit order: every write of an object first locks the object's
row (or, on SQLite, the database), so a later change of the same object inserts its event — and
its deliveries, whose `seq` gives the per-endpoint order — only after the earlier one committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from paymentkit.server.db.engine import Tx
from paymentkit.server.events import types
from paymentkit.server.ids import new_id, now_ms
from paymentkit.server.webhooks import repository as endpoints

_encoder = msgspec.json.Encoder()
# Fields every object has that say only "when": not a change worth naming in previous_attributes.
_NOT_CHANGES = frozenset({"updated_at"})


@dataclass(frozen=True)
class Origin:
    """What a unit of work was asked by (the event's `request`); `Call.write` puts it on the Tx."""

    request_id: str | None = None
    idempotency_key: str | None = None
    requested_by: str | None = None  # the API key's id


def changes(before: Any, after: Any) -> dict[str, Any]:
    """`previous_attributes`: the old wire value of each top-level field that changed."""
    old = msgspec.to_builtins(before)
    new = msgspec.to_builtins(after)
    return {k: v for k, v in old.items() if k not in _NOT_CHANGES and new.get(k) != v}


def record(
    tx: Tx,
    livemode: bool,
    event_type: str,
    obj: Any,
    previous: dict[str, Any] | None = None,
) -> str:
    """Record that `obj` (a wire struct with `id` and `object`) changed as `event_type`, and queue
    its delivery to every enabled endpoint of the mode subscribed to that type. Returns the
    event's id."""
    assert event_type in types.EMITTED, event_type
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    origin = tx.origin if isinstance(tx.origin, Origin) else Origin()
    now = now_ms()
    event_id = new_id("evt")
    targets = endpoints.subscribed(tx, livemode, event_type)
    seq = int(
        tx.scalar(
            "INSERT INTO events (id, livemode, type, api_version, object_type, object_id, data,"
            " request_id, idempotency_key, requested_by, pending_webhooks, metadata, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?) RETURNING seq",
            (
                event_id,
                livemode,
                event_type,
                types.API_VERSION,
                obj.object,
                obj.id,
                _encoder.encode(data).decode(),
                origin.request_id,
                origin.idempotency_key,
                origin.requested_by,
                len(targets),
                now,
                now,
            ),
        )
    )
    queue(tx, seq, obj.id, targets, now)
    return event_id


def queue(tx: Tx, event_seq: int, object_id: str, endpoint_seqs: list[int], now: int) -> None:
    """One pending delivery of the event per endpoint, due now (the caller counts them into the
    event's pending_webhooks)."""
    if endpoint_seqs:
        tx.executemany(
            "INSERT INTO webhook_deliveries (event_seq, endpoint_seq, object_id, status, attempts,"
            " next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
            [(event_seq, e, object_id, now, now, now) for e in endpoint_seqs],
        )
