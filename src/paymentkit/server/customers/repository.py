"""All SQL on customers and their metadata rows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from paymentkit.server.db import paging
from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.db.schema import COUNTER_SHARDS

# Order of the columns every read returns; `CustomerRecord` below follows it.
# `delinquent` is derived, never stored: true exactly while an invoice of the customer is
# uncollectible (one probe of ix_invoices_customer_status).
_SELECT = (
    "SELECT seq, id, livemode, did, name, email, phone, address, description, {balance},"
    " metadata, created_at, updated_at, EXISTS (SELECT 1 FROM invoices i"
    " WHERE i.customer_id = customers.id AND i.status = 'uncollectible'), invoices_version"
    " FROM customers"
)
LIVE = "deleted_at IS NULL"


@dataclass
class CustomerRecord:
    seq: int
    id: str
    livemode: bool
    did: str | None
    name: str | None
    email: str | None
    phone: str | None
    address: str | None  # JSON text
    description: str | None
    balance: str
    metadata: str  # JSON text
    created_at: int
    updated_at: int
    delinquent: bool
    invoices_version: int


_select_by_dialect: dict[str, str] = {}


def _select(tx: Tx) -> str:
    sql = _select_by_dialect.get(tx.dialect)
    if sql is None:
        sql = _select_by_dialect[tx.dialect] = _SELECT.format(balance=tx.money_out("balance"))
    return sql


def _record(row: Row) -> CustomerRecord:
    r = CustomerRecord(*row)
    r.livemode = bool(r.livemode)
    r.delinquent = bool(r.delinquent)
    return r


def get_by_id(tx: Tx, livemode: bool, id: str, *, lock: bool = False) -> CustomerRecord | None:
    row = tx.one(
        f"{_select(tx)} WHERE id = ? AND livemode = ? AND {LIVE}" + (tx.for_update if lock else ""),
        (id, livemode),
    )
    return None if row is None else _record(row)


def get_by_did(tx: Tx, livemode: bool, did: str) -> CustomerRecord | None:
    row = tx.one(f"{_select(tx)} WHERE livemode = ? AND did = ? AND {LIVE}", (livemode, did))
    return None if row is None else _record(row)


@dataclass
class NewCustomer:
    id: str
    livemode: bool
    did: str | None
    name: str | None
    email: str | None
    phone: str | None
    address: str | None
    description: str | None
    metadata: str
    search_text: str
    created_at: int


_INSERT = (
    "INSERT INTO customers (id, livemode, did, name, email, email_lower, phone, address,"
    " description, balance, metadata, search_text, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert_params(tx: Tx, c: NewCustomer) -> tuple[Any, ...]:
    return (
        c.id,
        c.livemode,
        c.did,
        c.name,
        c.email,
        None if c.email is None else c.email.lower(),
        c.phone,
        c.address,
        c.description,
        tx.money_in(0),
        c.metadata,
        c.search_text,
        c.created_at,
        c.created_at,
    )


def insert(tx: Tx, customer: NewCustomer) -> int:
    """Insert and return the new row's seq (for its metadata rows)."""
    seq = int(tx.scalar(_INSERT + " RETURNING seq", _insert_params(tx, customer)))
    _add_to_count(tx, customer.livemode, 1)
    return seq


def insert_unless_did_taken(tx: Tx, customer: NewCustomer) -> bool:
    """Insert unless a live customer of the mode already has the DID; atomic under concurrency."""
    count = tx.execute(
        _INSERT + f" ON CONFLICT (livemode, did) WHERE {LIVE} DO NOTHING",
        _insert_params(tx, customer),
    )
    if count == 1:
        _add_to_count(tx, customer.livemode, 1)
    return count == 1


def _add_to_count(tx: Tx, livemode: bool, delta: int) -> None:
    tx.execute(
        "UPDATE customer_counts SET n = n + ? WHERE livemode = ? AND shard = ?",
        (delta, livemode, secrets.randbelow(COUNTER_SHARDS)),
    )


def live_count(tx: Tx, livemode: bool) -> int:
    return int(
        tx.scalar("SELECT coalesce(sum(n), 0) FROM customer_counts WHERE livemode = ?", (livemode,))
    )


def replace_metadata(tx: Tx, seq: int, values: dict[str, str]) -> None:
    tx.execute("DELETE FROM customer_metadata WHERE customer_seq = ?", (seq,))
    for key, value in values.items():
        tx.execute(
            "INSERT INTO customer_metadata (customer_seq, key, value) VALUES (?, ?, ?)",
            (seq, key, value),
        )


def update(tx: Tx, seq: int, fields: dict[str, Any]) -> None:
    """Set the given columns (names come from the service, never from the request)."""
    if "email" in fields:
        email = fields["email"]
        fields["email_lower"] = None if email is None else email.lower()
    assignments = ", ".join(f"{name} = ?" for name in fields)
    tx.execute(f"UPDATE customers SET {assignments} WHERE seq = ?", (*fields.values(), seq))


def bump_invoices_version(tx: Tx, customer_id: str) -> None:
    tx.execute(
        "UPDATE customers SET invoices_version = invoices_version + 1 WHERE id = ?", (customer_id,)
    )


def soft_delete(tx: Tx, seq: int, livemode: bool, now: int) -> None:
    tx.execute("UPDATE customers SET deleted_at = ?, updated_at = ? WHERE seq = ?", (now, now, seq))
    _add_to_count(tx, livemode, -1)


@dataclass(frozen=True)
class Filters:
    livemode: bool
    did: str | None = None
    email: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    search: str | None = None  # a lower-cased substring of search_text


TRIGRAM = 3


def _search_clause(dialect: str, needle: str) -> tuple[str, str]:
    """Customers whose search_text contains `needle` (already lower-cased), as a literal.

    SQLite: needles of three characters or more go through the FTS5 trigram index as a quoted
    phrase (a phrase of trigrams is exactly a substring; only `"` is special there). Shorter ones,
    and PostgreSQL (where the pg_trgm GIN index serves LIKE), use LIKE with escapes.
    """
    if dialect == "sqlite" and len(needle) >= TRIGRAM:
        phrase = '"' + needle.replace('"', '""') + '"'
        return "seq IN (SELECT rowid FROM customers_search WHERE customers_search MATCH ?)", phrase
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "search_text LIKE ? ESCAPE '\\'", f"%{escaped}%"


def _where(f: Filters, dialect: str) -> tuple[str, list[Any]]:
    fts = f.search is not None and dialect == "sqlite" and len(f.search) >= TRIGRAM
    # With the FTS index the matches drive the query (rowid lookups); `+livemode` keeps SQLite
    # from walking a livemode index over every customer and probing each (2.6 ms vs 10 ms at 100k).
    clauses = ["+livemode = ?" if fts else "livemode = ?", LIVE]
    params: list[Any] = [f.livemode]
    if f.did is not None:
        clauses.append("did = ?")
        params.append(f.did)
    if f.email is not None:
        clauses.append("email_lower = ?")
        params.append(f.email.lower())
    for key, value in f.metadata:
        clauses.append(
            "seq IN (SELECT customer_seq FROM customer_metadata WHERE key = ? AND value = ?)"
        )
        params.extend((key, value))
    if f.search is not None:
        clause, param = _search_clause(dialect, f.search)
        clauses.append(clause)
        params.append(param)
    return " AND ".join(clauses), params


SORTABLE = {**paging.BASE_SORTABLE, "name": "name", "email": "email_lower"}
TEXT_SORT = frozenset({"name", "email"})


def page(tx: Tx, filters: Filters, request: paging.ListRequest) -> tuple[int, list[CustomerRecord]]:
    where, params = _where(filters, tx.dialect)
    if filters == Filters(livemode=filters.livemode):
        total = live_count(tx, filters.livemode)
    else:
        total = int(tx.scalar(f"SELECT count(*) FROM customers WHERE {where}", params))
    if request.offset >= total:
        return total, []
    order = paging.order_by(tx, request.order, SORTABLE, TEXT_SORT)
    rows = tx.all(
        f"{_select(tx)} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        (*params, request.size, request.offset),
    )
    return total, [_record(r) for r in rows]
