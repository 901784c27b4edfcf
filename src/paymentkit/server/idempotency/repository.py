"""All SQL on idempotency_keys."""

from __future__ import annotations

from paymentkit.server.db.engine import Row, Tx


def drop_expired(tx: Tx, livemode: bool, key: str, before: int) -> None:
    tx.execute(
        "DELETE FROM idempotency_keys WHERE livemode = ? AND key = ? AND created_at < ?",
        (livemode, key, before),
    )


def insert_running(
    tx: Tx, livemode: bool, key: str, fingerprint: str, owner: str, now: int, lease_until: int
) -> bool:
    """Claim the key; False when a row for it exists (PostgreSQL waits for a racing claim)."""
    count = tx.execute(
        "INSERT INTO idempotency_keys"
        " (livemode, key, fingerprint, state, created_at, owner, lease_until)"
        " VALUES (?, ?, ?, 'running', ?, ?, ?) ON CONFLICT (livemode, key) DO NOTHING",
        (livemode, key, fingerprint, now, owner, lease_until),
    )
    return count == 1


def get(tx: Tx, livemode: bool, key: str) -> Row | None:
    return tx.one(
        "SELECT fingerprint, state, status, response, lease_until FROM idempotency_keys"
        " WHERE livemode = ? AND key = ?" + tx.for_update,
        (livemode, key),
    )


def take_over(tx: Tx, livemode: bool, key: str, owner: str, now: int, lease_until: int) -> None:
    tx.execute(
        "UPDATE idempotency_keys SET owner = ?, created_at = ?, lease_until = ?"
        " WHERE livemode = ? AND key = ?",
        (owner, now, lease_until, livemode, key),
    )


def renew(tx: Tx, livemode: bool, key: str, owner: str, lease_until: int) -> bool:
    """Extend the lease of a claim `owner` still holds; False once it is answered or lost."""
    count = tx.execute(
        "UPDATE idempotency_keys SET lease_until = ?"
        " WHERE livemode = ? AND key = ? AND owner = ? AND state = 'running'",
        (lease_until, livemode, key, owner),
    )
    return count == 1


def complete(tx: Tx, livemode: bool, key: str, owner: str, status: int, response: str) -> bool:
    """Store the answer of the claim `owner` holds; False when it was taken over."""
    count = tx.execute(
        "UPDATE idempotency_keys SET state = 'done', status = ?, response = ?, lease_until = NULL"
        " WHERE livemode = ? AND key = ? AND owner = ? AND state = 'running'",
        (status, response, livemode, key, owner),
    )
    return count == 1


def delete(tx: Tx, livemode: bool, key: str, owner: str) -> None:
    tx.execute(
        "DELETE FROM idempotency_keys"
        " WHERE livemode = ? AND key = ? AND owner = ? AND state = 'running'",
        (livemode, key, owner),
    )


def delete_older_than(tx: Tx, before: int) -> int:
    return tx.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (before,))
