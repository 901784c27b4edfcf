"""All SQL of `paymentkit import` and of the export (customers/bulk.py).

Import writes one chunk of validated rows per transaction: into a temporary table (executemany on
SQLite, `COPY` on PostgreSQL), then into customers with one `INSERT … SELECT`, and on SQLite the
chunk's search text into the mode's FTS5 table with one more statement (FTS5 flushes its pending
terms once per statement: a statement per row cost 10-30 times more; PostgreSQL's GIN index
keeps itself). Both skip a DID already
taken by a live customer of the mode with `ON CONFLICT … DO NOTHING` on the partial unique index,
which stays the final word against a server writing at the same time. Export reads newest first
in keyset batches.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec

from paymentkit.server.customers import repository as repo
from paymentkit.server.customers import rules
from paymentkit.server.db import paging
from paymentkit.server.db.engine import DatabaseURL, Tx
from paymentkit.server.db.schema import COUNTER_SHARDS

_json = msgspec.json.Encoder()


class Staged(NamedTuple):
    """One validated row of an import file, ready to insert (what `service.prepare` made)."""

    line: int
    id: str
    did: str | None
    name: str | None
    email: str | None
    phone: str | None
    address: str | None  # JSON text
    description: str | None
    metadata: str  # JSON text
    search_text: str
    metadata_rows: tuple[tuple[str, str], ...]  # (key, text a metadata filter compares with)


_COLUMNS = (
    "id, livemode, did, name, email, email_lower, phone, address, description, balance,"
    " metadata, search_text, created_at, updated_at"
)
_ON_CONFLICT = f"ON CONFLICT (livemode, did) WHERE {repo.LIVE} DO NOTHING RETURNING seq, id"
# A chunk goes into a temporary table first (executemany on SQLite, COPY on PostgreSQL), then
# into customers with one statement. n keeps the file's order.
_STAGED_FIELDS = (
    "id",
    "did",
    "name",
    "email",
    "email_lower",
    "phone",
    "address",
    "description",
    "metadata",
    "search_text",
)
_STAGING = {
    "sqlite": "CREATE TEMPORARY TABLE IF NOT EXISTS bulk_customers (n INTEGER PRIMARY KEY, "
    + ", ".join(f"{name} TEXT" for name in _STAGED_FIELDS)
    + ")",
    "postgresql": "CREATE TEMPORARY TABLE bulk_customers (n integer, "
    + ", ".join(f"{name} text" for name in _STAGED_FIELDS)
    + ") ON COMMIT DROP",
}
_STAGE = (
    f"INSERT INTO bulk_customers (n, {', '.join(_STAGED_FIELDS)})"
    f" VALUES ({', '.join('?' for _ in range(len(_STAGED_FIELDS) + 1))})"
)
_INSERT = (
    f"INSERT INTO customers ({_COLUMNS})"
    " SELECT id, ?, did, name, email, email_lower, phone, address, description, ?, metadata,"
    # `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT, not a join.
    f" search_text, ?, ? FROM bulk_customers WHERE true ORDER BY n {_ON_CONFLICT}"
)
_SQLITE_METADATA = (
    "INSERT INTO customer_metadata (customer_seq, key, value, livemode, created_at)"
    " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),"
    " json_extract(value, '$[2]'), ?, ? FROM json_each(?)"
)


def _values(row: Staged) -> tuple[Any, ...]:
    email_lower = None if row.email is None else row.email.lower()
    return (
        row.id,
        row.did,
        row.name,
        row.email,
        email_lower,
        row.phone,
        row.address,
        row.description,
        row.metadata,
        row.search_text,
    )


def insert_chunk(tx: Tx, livemode: bool, rows: Sequence[Staged], created_at: int) -> set[str]:
    """Insert the rows whose DID no live customer of the mode has (nor an earlier row of the
    chunk) with all that `POST /api/customers` keeps beside them (customers/repository.py:
    insert, replace_metadata): search text and its words' counts, metadata rows, the mode's
    count and each metadata value's count. Returns the ids inserted. Rows are created in the
    order given, all at `created_at`."""
    if not rows:
        return set()
    tx.execute(_STAGING[tx.dialect])
    staged = ((n, *_values(row)) for n, row in enumerate(rows))
    if tx.dialect == "sqlite":
        tx.executemany(_STAGE, staged)
    else:
        tx.copy_rows("bulk_customers", ("n", *_STAGED_FIELDS), staged)
    inserted = tx.all(_INSERT, (livemode, tx.money_in(0), created_at, created_at))
    if tx.dialect == "sqlite":  # a temporary table outlives the transaction there
        tx.execute("DELETE FROM bulk_customers")
    seq_of: dict[str, int] = {id_: seq for seq, id_ in inserted}
    if tx.dialect == "sqlite" and seq_of:
        table = repo.search_table(livemode)
        searchable = [(seq_of[r.id], r.search_text) for r in rows if r.id in seq_of]
        tx.execute(
            f"INSERT INTO {table} (rowid, search_text) SELECT json_extract(value, '$[0]'),"
            " json_extract(value, '$[1]') FROM json_each(?)",
            (_json.encode(searchable).decode(),),
        )
    # The counters in the order the server's writes lock them: the mode's count, the words',
    # the metadata values' (repository.insert, then replace_metadata).
    if seq_of:
        tx.execute(
            "UPDATE customer_counts SET n = n + ? WHERE livemode = ? AND shard = ?",
            (len(seq_of), livemode, secrets.randbelow(COUNTER_SHARDS)),
        )
    words: Counter[str] = Counter()
    for r in rows:
        if r.id in seq_of:
            words.update(rules.search_words(r.search_text))
    repo.count_words(tx, livemode, words)
    metadata = [
        (seq_of[r.id], key, value)
        for r in rows
        if r.metadata_rows and r.id in seq_of
        for key, value in r.metadata_rows
    ]
    if metadata:
        if tx.dialect == "sqlite":
            tx.execute(_SQLITE_METADATA, (livemode, created_at, _json.encode(metadata).decode()))
        else:
            tx.copy_rows(
                "customer_metadata",
                ("customer_seq", "key", "value", "livemode", "created_at"),
                ((seq, key, value, livemode, created_at) for seq, key, value in metadata),
            )
        _count_metadata(tx, livemode, Counter((key, value) for _, key, value in metadata))
    return set(seq_of)


def _count_metadata(tx: Tx, livemode: bool, counts: Counter[tuple[str, str]]) -> None:
    """Add the chunk's customers to the per-value counts of metadata filters
    (repository.count_metadata), in (key, value) order, the order the server's writes lock
    them in."""
    rows = [(k, v, n) for (k, v), n in sorted(counts.items())]
    repo.add_counts(
        tx,
        "customer_metadata_counts",
        ("key", "value"),
        repo.METADATA_COUNT_CONFLICT,
        livemode,
        rows,
    )


def prepare_connection(tx: Tx) -> None:
    """Settings for the importing connection only: on SQLite a page cache large enough to hold
    a chunk's changes to every index until its commit, instead of spilling them early."""
    if tx.dialect == "sqlite":
        tx.execute("PRAGMA cache_size=-262144")  # KiB: 256 MiB


def analyze(tx: Tx) -> None:
    """Refresh the planner's statistics of the two tables an import grows (SQLite)."""
    if tx.dialect == "sqlite":
        tx.execute("ANALYZE customers")
        tx.execute("ANALYZE customer_metadata")
        tx.execute("PRAGMA optimize")


MERGE_PAGES = 1000  # FTS5 leaf pages a merge step writes, about: a quarter second at 1M


def search_index_pages(tx: Tx, livemode: bool) -> int:
    """How many pages the mode's FTS5 index holds (SQLite): the bound of a merge's work."""
    return int(tx.scalar(f"SELECT count(*) FROM {repo.search_table(livemode)}_data"))


def merge_search_index(tx: Tx, livemode: bool) -> bool:
    """One step, of about MERGE_PAGES pages, of merging the mode's FTS5 index (SQLite) into
    one b-tree; False once there was nothing left to merge (FTS5's own test: the connection's
    total changes then grow by less than two)."""
    table = repo.search_table(livemode)
    before = int(tx.scalar("SELECT total_changes()"))
    tx.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('merge', ?)", (-MERGE_PAGES,))
    return int(tx.scalar("SELECT total_changes()")) - before >= 2


def vacuum_analyze(url: DatabaseURL) -> None:
    """PostgreSQL: statistics, and the visibility map that lets the list indexes answer without
    visiting the table (VACUUM cannot run inside a transaction, so on its own connection)."""
    if url.dialect != "postgresql":
        return
    import psycopg

    with psycopg.connect(url.raw, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) customers, customer_metadata")


# -- export -------------------------------------------------------------------------------------

Position = tuple[int, int]  # (created_at, seq) of the last customer sent


def export_batch(
    tx: Tx, filters: repo.Filters, after: Position | None, limit: int
) -> list[repo.CustomerRecord]:
    """The next `limit` customers matching `filters` after `after`, newest first (created_at,
    then seq, descending: the order of ix_customers_created and of the list)."""
    if filters.metadata and filters.did is None and filters.email is None:
        seqs = _metadata_seqs(tx, filters, after, limit)
    else:  # by the did or email index, the delinquent customers' index, or the created one
        seqs = _customer_seqs(tx, filters, after, limit)
    return [repo.record(row) for row in repo.by_seq(tx, seqs)]


_NEWEST_FIRST = (paging.SortKey("created_at", True), paging.SortKey("seq", True))


def _customer_seqs(tx: Tx, filters: repo.Filters, after: Position | None, limit: int) -> list[int]:
    where, params = repo.conditions(tx, filters)
    request = paging.ListRequest(page=1, size=limit)
    hint = repo.filter_hint(tx, filters)
    rows, _ = paging.walk(
        tx, "seq", "customers", where, params, _NEWEST_FIRST, request, after, hint=hint
    )
    return [row[0] for row in rows]


def _metadata_seqs(tx: Tx, filters: repo.Filters, after: Position | None, limit: int) -> list[int]:
    """Metadata filters (and maybe `delinquent`): the list's own walk of
    ix_customer_metadata_filter (or of ix_customer_metadata_late)."""
    request = paging.ListRequest(page=1, size=limit)
    return repo.metadata_seqs(tx, filters, _NEWEST_FIRST, request, after)[0]
