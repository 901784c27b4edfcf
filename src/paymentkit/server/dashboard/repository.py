"""All SQL on dashboard_sessions."""

from __future__ import annotations

from paymentkit.server.db.engine import Row, Tx


def insert(tx: Tx, token_hash: str, key_id: str, livemode: bool, csrf_token: str, now: int) -> None:
    tx.execute(
        "INSERT INTO dashboard_sessions (token_hash, key_id, livemode, csrf_token, created_at,"
        " last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
        (token_hash, key_id, livemode, csrf_token, now, now),
    )


def find(tx: Tx, token_hash: str) -> Row | None:
    """(key_id, livemode, csrf_token, created_at, last_seen_at, key revoked) of a session."""
    return tx.one(
        "SELECT s.key_id, s.livemode, s.csrf_token, s.created_at, s.last_seen_at,"
        " k.revoked_at IS NOT NULL FROM dashboard_sessions s JOIN api_keys k ON k.id = s.key_id"
        " WHERE s.token_hash = ?",
        (token_hash,),
    )


def touch(tx: Tx, token_hash: str, now: int) -> None:
    tx.execute(
        "UPDATE dashboard_sessions SET last_seen_at = ? WHERE token_hash = ? AND last_seen_at < ?",
        (now, token_hash, now),
    )


def delete(tx: Tx, token_hash: str) -> None:
    tx.execute("DELETE FROM dashboard_sessions WHERE token_hash = ?", (token_hash,))


def delete_of_key(tx: Tx, key_id: str) -> None:
    tx.execute("DELETE FROM dashboard_sessions WHERE key_id = ?", (key_id,))


def prune(tx: Tx, idle_before: int, created_before: int, limit: int) -> int:
    """Delete up to `limit` sessions that have expired."""
    return tx.execute(
        "DELETE FROM dashboard_sessions WHERE token_hash IN (SELECT token_hash FROM"
        " dashboard_sessions WHERE last_seen_at < ? OR created_at < ? LIMIT ?)",
        (idle_before, created_before, limit),
    )
