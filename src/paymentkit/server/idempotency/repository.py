"""All SQL on idempotency_keys."""

from __future__ import annotations

from paymentkit.server.db.engine import Row, Tx


def drop_expired(tx: Tx, livemode: bool, key: str, before: int) -> None:
    tx.execute(
        "DELETE FROM idempotency_keys WHERE livemode = ? AND key = ? AND created_at < ?",
        (livemode, key, before),
    )


def insert_running(tx: Tx, livemode: bool, key: str, fingerprint: str, now: int) -> bool:
    """Claim the key; False when a row for it exists (PostgreSQL waits for a racing claim)."""
    count = tx.execute(
        "INSERT INTO idempotency_keys (livemode, key, fingerprint, state, created_at)"
        " VALUES (?, ?, ?, 'running', ?) ON CONFLICT (livemode, key) DO NOTHING",
        (livemode, key, fingerprint, now),
    )
    return count == 1


def get(tx: Tx, livemode: bool, key: str) -> Row | None:
    return tx.one(
        "SELECT fingerprint, state, status, response, created_at FROM idempotency_keys"
        " WHERE livemode = ? AND key = ?" + tx.for_update,
        (livemode, key),
    )


def take_over(tx: Tx, livemode: bool, key: str, now: int) -> None:
    tx.execute(
        "UPDATE idempotency_keys SET created_at = ? WHERE livemode = ? AND key = ?",
        (now, livemode, key),
    )


def complete(tx: Tx, livemode: bool, key: str, status: int, response: str) -> None:
    tx.execute(
        "UPDATE idempotency_keys SET state = 'done', status = ?, response = ?"
        " WHERE livemode = ? AND key = ?",
        (status, response, livemode, key),
    )


def delete(tx: Tx, livemode: bool, key: str) -> None:
    tx.execute("DELETE FROM idempotency_keys WHERE livemode = ? AND key = ?", (livemode, key))


def delete_older_than(tx: Tx, before: int) -> int:
    return tx.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (before,))
