"""All SQL of delivery: claiming due deliveries under a lease, settling them, the named worker
leases, and the 410 / five-day disabling of an endpoint.

The claim rule (both databases): a delivery is due when it is `pending`, its `next_attempt_at`
has come, its lease is free or lapsed, its endpoint is enabled, and no EARLIER pending delivery
of the same (endpoint, object) exists — so one object's events reach an endpoint in `seq`
(commit) order, each waiting until the one before succeeded or was given up, while other
objects' deliveries flow. On PostgreSQL the claim locks the rows it takes with
`FOR UPDATE … SKIP LOCKED`, so concurrent workers take different rows; a row whose lease another
worker wrote meanwhile is re-checked by PostgreSQL against the lease condition and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.events import repository as events

_EVENT_COLUMNS = ", ".join(f"e.{c}" for c in events.records.columns)

_DUE = (
    "SELECT d.seq FROM webhook_deliveries d JOIN webhook_endpoints w ON w.seq = d.endpoint_seq"
    " WHERE d.status = 'pending' AND d.next_attempt_at <= ?"
    " AND (d.lease_until IS NULL OR d.lease_until <= ?) AND w.status = 'enabled'"
    " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_seq = d.endpoint_seq"
    " AND p.object_id = d.object_id AND p.status = 'pending' AND p.seq < d.seq)"
    " ORDER BY d.next_attempt_at, d.seq LIMIT ?"
)


@dataclass(frozen=True)
class Due:
    """A claimed delivery with what sending it needs (the event row as events.service reads it)."""

    seq: int
    endpoint_seq: int
    url: str
    event: Row


def due(tx: Tx, now: int, limit: int) -> list[int]:
    """The seqs of up to `limit` deliveries that may be claimed now (no lock: a probe)."""
    return [int(seq) for (seq,) in tx.all(_DUE, (now, now, limit))]


def claim(tx: Tx, owner: str, now: int, lease_until: int, limit: int) -> list[Due]:
    """Lease up to `limit` due deliveries to `owner` until `lease_until` (ms), oldest due first."""
    lock = " FOR UPDATE OF d SKIP LOCKED" if tx.dialect == "postgresql" else ""
    seqs = [int(seq) for (seq,) in tx.all(_DUE + lock, (now, now, limit))]
    if not seqs:
        return []
    member, values = tx.member_of("seq", seqs)
    tx.execute(
        f"UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ? WHERE {member}",
        (owner, lease_until, values),
    )
    member, values = tx.member_of("d.seq", seqs)
    rows = tx.all(
        f"SELECT d.seq, d.endpoint_seq, w.url, {_EVENT_COLUMNS}"
        " FROM webhook_deliveries d JOIN webhook_endpoints w ON w.seq = d.endpoint_seq"
        f" JOIN events e ON e.seq = d.event_seq WHERE {member} ORDER BY d.seq",
        (values,),
    )
    return [Due(int(r[0]), int(r[1]), str(r[2]), tuple(r[3:])) for r in rows]


@dataclass(frozen=True)
class State:
    """A delivery and its endpoint as the outcome of an attempt is decided on."""

    status: str
    attempts: int
    lease_owner: str | None
    event_seq: int
    endpoint_seq: int
    endpoint_status: str
    failing_since: int | None


def state(tx: Tx, delivery_seq: int) -> State | None:
    row = tx.one(
        "SELECT d.status, d.attempts, d.lease_owner, d.event_seq, d.endpoint_seq, w.status,"
        " w.failing_since FROM webhook_deliveries d"
        " JOIN webhook_endpoints w ON w.seq = d.endpoint_seq WHERE d.seq = ?",
        (delivery_seq,),
    )
    if row is None:
        return None
    status, attempts, owner, event_seq, endpoint_seq, endpoint_status, failing = row
    return State(
        str(status),
        int(attempts),
        None if owner is None else str(owner),
        int(event_seq),
        int(endpoint_seq),
        str(endpoint_status),
        None if failing is None else int(failing),
    )


def lock_endpoint(tx: Tx, endpoint_seq: int) -> tuple[str, int | None] | None:
    """(status, failing_since) of the endpoint, its row locked (PostgreSQL) before any delivery
    row: the order every writer of an endpoint and its deliveries takes (disabling locks the
    endpoint, then settles its deliveries)."""
    row = tx.one(
        "SELECT status, failing_since FROM webhook_endpoints WHERE seq = ?" + tx.for_update,
        (endpoint_seq,),
    )
    if row is None:
        return None
    return str(row[0]), None if row[1] is None else int(row[1])


def settle(
    tx: Tx, delivery_seq: int, owner: str, status: str, attempts: int, next_at: int, now: int
) -> bool:
    """Write the delivery's new state — `status` (pending again, succeeded or failed), its
    attempt count and next due time — with its lease released, only while `owner` still holds
    the lease; False (nothing written) when it does not."""
    return (
        tx.execute(
            "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?,"
            " lease_owner = NULL, lease_until = NULL, updated_at = ?"
            " WHERE seq = ? AND status = 'pending' AND lease_owner = ?",
            (status, attempts, next_at, now, delivery_seq, owner),
        )
        == 1
    )


def one_less_pending(tx: Tx, event_seq: int) -> None:
    tx.execute(
        "UPDATE events SET pending_webhooks = pending_webhooks - 1 WHERE seq = ?", (event_seq,)
    )


def set_failing_since(tx: Tx, endpoint_seq: int, value: int | None) -> None:
    tx.execute(
        "UPDATE webhook_endpoints SET failing_since = ? WHERE seq = ?", (value, endpoint_seq)
    )


def disable_endpoint(tx: Tx, endpoint_seq: int, now: int) -> None:
    tx.execute(
        "UPDATE webhook_endpoints SET status = 'disabled', updated_at = ? WHERE seq = ?",
        (now, endpoint_seq),
    )


def release(tx: Tx, owner: str) -> int:
    """Free the leases `owner` holds: deliveries it will not send after all are due again at
    once, for any worker."""
    return tx.execute(
        "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL"
        " WHERE status = 'pending' AND lease_owner = ?",
        (owner,),
    )


def release_others(tx: Tx, owner: str) -> int:
    """Free every delivery lease held by another owner than `owner` (SQLite: the new holder of
    the delivery lease takes over from a process that stopped renewing it)."""
    return tx.execute(
        "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL"
        " WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_owner <> ?",
        (owner,),
    )


# -- named leases between processes (worker_leases) --------------------------------------------


def take_lease(tx: Tx, name: str, owner: str, now: int, until: int, *, renew: bool) -> str | None:
    """Take the lease `name` for `owner` until `until` when it is free or lapsed (or, with
    `renew`, already `owner`'s). The previous owner when it was taken or renewed, "" for a new
    lease, None when another owner holds it."""
    previous = tx.one(
        "SELECT owner, lease_until FROM worker_leases WHERE name = ?" + tx.for_update, (name,)
    )
    if previous is None:
        tx.execute(
            "INSERT INTO worker_leases (name, owner, lease_until) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO NOTHING",
            (name, owner, until),
        )
        holder = tx.scalar("SELECT owner FROM worker_leases WHERE name = ?", (name,))
        return "" if holder == owner else None
    held_by, lease_until = str(previous[0]), int(previous[1])
    if not (lease_until <= now or (renew and held_by == owner)):
        return None
    tx.execute(
        "UPDATE worker_leases SET owner = ?, lease_until = ? WHERE name = ?", (owner, until, name)
    )
    return held_by


def lease_holder(tx: Tx, name: str) -> tuple[str, int] | None:
    """(owner, lease_until) of the lease `name`, or None when nobody ever took it."""
    row = tx.one("SELECT owner, lease_until FROM worker_leases WHERE name = ?", (name,))
    return None if row is None else (str(row[0]), int(row[1]))


def drop_lease(tx: Tx, name: str, owner: str) -> None:
    tx.execute("DELETE FROM worker_leases WHERE name = ? AND owner = ?", (name, owner))
