"""All SQL on the api_keys table."""

from __future__ import annotations

from paymentkit.server.db.engine import Row, Tx

_COLUMNS = "id, livemode, name, secret_hint, created_at, revoked_at"


def insert(
    tx: Tx, id: str, livemode: bool, name: str | None, secret_hash: str, hint: str, now: int
) -> None:
    tx.execute(
        "INSERT INTO api_keys (id, livemode, name, secret_hash, secret_hint, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (id, livemode, name, secret_hash, hint, now),
    )


def find_by_hash(tx: Tx, secret_hash: str) -> Row | None:
    return tx.one(
        "SELECT id, livemode, secret_hash FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL",
        (secret_hash,),
    )


def list_all(tx: Tx) -> list[Row]:
    return tx.all(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id")


def count_all(tx: Tx) -> int:
    return int(tx.scalar("SELECT count(*) FROM api_keys"))


def revoke(tx: Tx, key_id: str, now: int) -> int:
    return tx.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, key_id)
    )


def get(tx: Tx, key_id: str) -> Row | None:
    return tx.one(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
