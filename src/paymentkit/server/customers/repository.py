"""All SQL on customers and their metadata rows."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from paymentkit.server import errors
from paymentkit.server.customers import rules, search_stats
from paymentkit.server.db import codec, paging
from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.db.schema import COUNTER_SHARDS

# Order of the columns every read returns; `CustomerRecord` below follows it.
_SELECT = (
    "SELECT seq, id, livemode, did, name, email, phone, address, description, {balance},"
    " metadata, created_at, updated_at, delinquent, invoices_version"
    " FROM customers"
)
# `delinquent` is true exactly while an invoice of the customer is uncollectible: every invoice
# write sets it from this test, in its own transaction (`invoices_changed`).
_HAS_UNCOLLECTIBLE = (
    "EXISTS (SELECT 1 FROM invoices i"
    " WHERE i.customer_id = customers.id AND i.status = 'uncollectible')"
)
LIVE = "deleted_at IS NULL"
ID_PREFIX = "cus_"


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
_columns_by_dialect: dict[str, str] = {}


def _select(tx: Tx) -> str:
    sql = _select_by_dialect.get(tx.dialect)
    if sql is None:
        sql = _select_by_dialect[tx.dialect] = _SELECT.format(balance=tx.money_out("balance"))
    return sql


def _columns(tx: Tx) -> str:
    """The column list of `_select`, for reads that name their own FROM (paging.walk)."""
    columns = _columns_by_dialect.get(tx.dialect)
    if columns is None:
        columns = _select(tx)[len("SELECT ") : -len(" FROM customers")]
        _columns_by_dialect[tx.dialect] = columns
    return columns


def record(row: Row) -> CustomerRecord:
    r = CustomerRecord(*row)
    r.livemode = bool(r.livemode)
    r.delinquent = bool(r.delinquent)
    return r


def get_by_id(tx: Tx, livemode: bool, id: str, *, lock: bool = False) -> CustomerRecord | None:
    row = tx.one(
        f"{_select(tx)} WHERE id = ? AND livemode = ? AND {LIVE}" + (tx.for_update if lock else ""),
        (id, livemode),
    )
    return None if row is None else record(row)


@dataclass(frozen=True)
class InvoiceOwner:
    id: str
    deleted: bool


def lock_invoice_owner(tx: Tx, livemode: bool, invoice_id: str) -> InvoiceOwner | None:
    """The customer of an invoice, its row locked (deleted or not); None when no such invoice.
    On PostgreSQL a lock that had to wait returns the row as its last writer left it."""
    row = tx.one(
        "SELECT id, deleted_at FROM customers"
        " WHERE id = (SELECT customer_id FROM invoices WHERE id = ? AND livemode = ?)"
        + tx.for_update,
        (invoice_id, livemode),
    )
    return None if row is None else InvoiceOwner(row[0], row[1] is not None)


def get_by_did(tx: Tx, livemode: bool, did: str) -> CustomerRecord | None:
    row = tx.one(f"{_select(tx)} WHERE livemode = ? AND did = ? AND {LIVE}", (livemode, did))
    return None if row is None else record(row)


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
    metadata: str  # JSON text
    search_text: str
    created_at: int
    metadata_rows: dict[str, str]  # key -> the text a metadata filter compares with


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
    _reindex(tx, seq, customer.livemode, None, customer.search_text)
    return seq


def insert_unless_did_taken(tx: Tx, customer: NewCustomer) -> bool:
    """Insert unless a live customer of the mode already has the DID; atomic under concurrency."""
    seq = tx.scalar(
        _INSERT + f" ON CONFLICT (livemode, did) WHERE {LIVE} DO NOTHING RETURNING seq",
        _insert_params(tx, customer),
    )
    if seq is None:
        return False
    _add_to_count(tx, customer.livemode, 1)
    _reindex(tx, int(seq), customer.livemode, None, customer.search_text)
    return True


def search_table(livemode: bool) -> str:
    """SQLite's FTS5 table of a mode's live customers (migration 0006)."""
    return "customers_search_live" if livemode else "customers_search_test"


def _reindex(tx: Tx, seq: int, livemode: bool, old: str | None, new: str | None) -> None:
    """Keep search in step with a customer whose search_text, while live, goes from `old` to
    `new` (None: not live before, or after): SQLite's FTS5 table (kept here rather than by
    triggers, migration 0006 says why; PostgreSQL's GIN index keeps itself; a contentless FTS5
    table deletes by the text indexed, which the caller read from the row) and, on both, the
    counts of its words (rules.search_words)."""
    if tx.dialect == "sqlite":
        table = search_table(livemode)
        if old is not None:
            tx.execute(
                f"INSERT INTO {table} ({table}, rowid, search_text) VALUES ('delete', ?, ?)",
                (seq, old),
            )
        if new is not None:
            tx.execute(f"INSERT INTO {table} (rowid, search_text) VALUES (?, ?)", (seq, new))
    count_words(tx, livemode, rules.word_deltas(old, new))


def _search_text(tx: Tx, seq: int) -> str:
    return str(tx.scalar("SELECT search_text FROM customers WHERE seq = ?", (seq,)))


# How an insert into search_word_counts adds to a count that exists.
WORD_COUNT_CONFLICT = (
    "ON CONFLICT (livemode, word, shard) DO UPDATE SET n = search_word_counts.n + excluded.n"
)


def count_words(tx: Tx, livemode: bool, deltas: Counter[str]) -> None:
    """Add each word's delta to its count (also bulk imports'), in one shard chosen at random
    and in word order (the order every writer locks them in), as one statement."""
    rows = sorted((word, n) for word, n in deltas.items() if n)
    if rows:
        add_counts(tx, "search_word_counts", ("word",), WORD_COUNT_CONFLICT, livemode, rows)


def add_counts(
    tx: Tx,
    table: str,
    keys: tuple[str, ...],
    conflict: str,
    livemode: bool,
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Add rows of (*key values, n) to the sharded counts of `table` (livemode, *keys, shard, n)
    in one statement, in the order given, into one shard chosen at random so that concurrent
    writers of a popular key do not all queue on one row."""
    shard = secrets.randbelow(COUNTER_SHARDS)
    columns = ", ".join(keys)
    if tx.dialect == "sqlite":
        picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(keys)))
        tx.execute(
            f"INSERT INTO {table} (livemode, {columns}, shard, n) SELECT ?, {picks}, ?,"
            f" json_extract(value, '$[{len(keys)}]') FROM json_each(?) WHERE true ORDER BY key "
            + conflict,
            (livemode, shard, codec.to_text(rows)),
        )
        return
    arrays = ", ".join("?::text[]" for _ in keys)
    names = ", ".join(f"k{i}" for i in range(len(keys)))
    tx.execute(
        f"INSERT INTO {table} (livemode, {columns}, shard, n) SELECT ?, {names}, ?, n"
        f" FROM unnest({arrays}, ?::bigint[]) WITH ORDINALITY AS t({names}, n, i) ORDER BY i "
        + conflict,
        (livemode, shard, *([r[i] for r in rows] for i in range(len(keys) + 1))),
    )


def _add_to_count(tx: Tx, livemode: bool, delta: int) -> None:
    tx.execute(
        "UPDATE customer_counts SET n = n + ? WHERE livemode = ? AND shard = ?",
        (delta, livemode, secrets.randbelow(COUNTER_SHARDS)),
    )


_LIVE_COUNT = "SELECT coalesce(sum(n), 0) FROM customer_counts WHERE livemode = ?"


def live_count(tx: Tx, livemode: bool) -> int:
    return int(tx.scalar(_LIVE_COUNT, (livemode,)))


def replace_metadata(
    tx: Tx,
    seq: int,
    livemode: bool,
    created_at: int,
    values: dict[str, str],
    delinquent: bool,
) -> None:
    """The customer's metadata rows, each with the customer's `delinquent` flag as the caller
    read it from the row it holds locked (see invoices_changed)."""
    old = {(str(k), str(v)) for k, v in _metadata_of(tx, seq)}
    new = set(values.items())
    tx.execute("DELETE FROM customer_metadata WHERE customer_seq = ?", (seq,))
    if values:  # at most 50 (rules.METADATA_MAX_KEYS)
        tx.executemany(
            "INSERT INTO customer_metadata (customer_seq, key, value, livemode, created_at,"
            " delinquent) VALUES (?, ?, ?, ?, ?, ?)",
            [(seq, k, v, livemode, created_at, delinquent) for k, v in values.items()],
        )
    count_metadata(tx, livemode, sorted(old - new), -1)
    count_metadata(tx, livemode, sorted(new - old), 1)


def _metadata_of(tx: Tx, seq: int) -> list[Row]:
    return tx.all("SELECT key, value FROM customer_metadata WHERE customer_seq = ?", (seq,))


# How an insert into customer_metadata_counts adds to a count that exists (also bulk imports').
METADATA_COUNT_CONFLICT = (
    "ON CONFLICT (livemode, key, value, shard)"
    " DO UPDATE SET n = customer_metadata_counts.n + excluded.n"
)


def count_metadata(tx: Tx, livemode: bool, pairs: Iterable[tuple[str, str]], delta: int) -> None:
    """Add `delta` customers to each (key, value) count (add_counts: one statement, one shard
    chosen at random, in (key, value) order)."""
    rows = [(key, value, delta) for key, value in sorted(pairs)]
    if rows:
        add_counts(
            tx,
            "customer_metadata_counts",
            ("key", "value"),
            METADATA_COUNT_CONFLICT,
            livemode,
            rows,
        )


_METADATA_COUNT = (
    "SELECT coalesce(sum(n), 0) FROM customer_metadata_counts"
    " WHERE livemode = ? AND key = ? AND value = ?"
)


def metadata_count(tx: Tx, livemode: bool, key: str, value: str) -> int:
    return int(tx.scalar(_METADATA_COUNT, (livemode, key, value)))


def metadata_and_live_count(tx: Tx, livemode: bool, key: str, value: str) -> tuple[int, int]:
    """(metadata_count, live_count) in one statement: on PostgreSQL a round trip is about as
    costly as either read."""
    row = tx.one(f"SELECT ({_METADATA_COUNT}), ({_LIVE_COUNT})", (livemode, key, value, livemode))
    assert row is not None
    return int(row[0]), int(row[1])


def update(tx: Tx, seq: int, livemode: bool, fields: dict[str, Any]) -> None:
    """Set the given columns of a live customer (names come from the service, never from the
    request)."""
    if "email" in fields:
        email = fields["email"]
        fields["email_lower"] = None if email is None else email.lower()
    old = _search_text(tx, seq) if "search_text" in fields else None
    assignments = ", ".join(f"{name} = ?" for name in fields)
    tx.execute(f"UPDATE customers SET {assignments} WHERE seq = ?", (*fields.values(), seq))
    if old is not None:
        _reindex(tx, seq, livemode, old, fields["search_text"])


def invoices_changed(tx: Tx, customer_id: str, status_changed: bool) -> None:
    """After a write to one of the customer's invoices: a new `invoices_version` (the key of the
    overdue cache), and, when an invoice's status changed (nothing else can make a customer
    delinquent or not), `delinquent` as its invoices now say (one probe of
    ix_invoices_customer_status), copied onto its metadata rows when it changes. Invoice
    writes and customer updates lock the customer's row first, so none of them sets either
    from a stale view."""
    if not status_changed:
        tx.execute(
            "UPDATE customers SET invoices_version = invoices_version + 1 WHERE id = ?",
            (customer_id,),
        )
        return
    before = tx.one("SELECT seq, livemode, delinquent FROM customers WHERE id = ?", (customer_id,))
    flag = bool(
        tx.scalar(
            "UPDATE customers SET invoices_version = invoices_version + 1,"
            f" delinquent = {_HAS_UNCOLLECTIBLE} WHERE id = ? RETURNING delinquent",
            (customer_id,),
        )
    )
    if before is None or bool(before[2]) == flag:
        return
    seq, livemode = int(before[0]), bool(before[1])
    tx.execute("UPDATE customer_metadata SET delinquent = ? WHERE customer_seq = ?", (flag, seq))
    # A delinquent customer cannot be deleted (its uncollectible invoice is unsettled:
    # lifecycle.delete), so the count changes here only.
    tx.execute(
        "UPDATE customer_counts SET n_delinquent = n_delinquent + ? WHERE livemode = ? AND shard = ?",
        (1 if flag else -1, livemode, secrets.randbelow(COUNTER_SHARDS)),
    )


def soft_delete(tx: Tx, seq: int, livemode: bool, now: int) -> None:
    _reindex(tx, seq, livemode, _search_text(tx, seq), None)
    tx.execute("UPDATE customers SET deleted_at = ?, updated_at = ? WHERE seq = ?", (now, now, seq))
    # The metadata rows only serve filters, and a deleted customer is in no list.
    count_metadata(tx, livemode, [(str(k), str(v)) for k, v in _metadata_of(tx, seq)], -1)
    tx.execute("DELETE FROM customer_metadata WHERE customer_seq = ?", (seq,))
    _add_to_count(tx, livemode, -1)


@dataclass(frozen=True)
class Filters:
    livemode: bool
    did: str | None = None
    email: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    search: rules.SearchTerm | None = None
    # True: only customers with an uncollectible invoice; False: only those without. Not
    # combined with `search` (the search route takes no filters).
    delinquent: bool | None = None

    def __post_init__(self) -> None:
        assert self.search is None or self.delinquent is None, "search takes no filters"

    @property
    def none(self) -> bool:
        return self == Filters(livemode=self.livemode)


SORTABLE = {**paging.BASE_SORTABLE, "name": "name", "email": "email_lower"}
TEXT_SORT = frozenset({"name", "email"})
NULLABLE = frozenset({"name", "email"})
# SQLite is told which index a plan walks (its planner, without statistics for every value,
# picked a full walk of the created index for `email = ?`: 439 ms at 1M). PostgreSQL plans
# each statement for its values (prepare_threshold=None in engine.py).
_ORDER_INDEX = {
    "created_at": "ix_customers_created",
    "updated_at": "ix_customers_updated",
    "name": "ix_customers_name",
    "email_lower": "ix_customers_email",
}
# The live delinquent customers in each order (partial on `deleted_at IS NULL AND delinquent`).
_LATE_INDEX = {
    "created_at": "ix_customers_late_created",
    "updated_at": "ix_customers_late_updated",
    "name": "ix_customers_late_name",
    "email_lower": "ix_customers_late_email",
}
# A metadata filter on one customer's row: its value for the key (the primary key holds at most
# one) is the filter's. As a scalar subquery, not EXISTS: PostgreSQL turned EXISTS into a
# semi-join and weighed every join order and index of both tables for it, 0.21 ms of planning
# for a filtered page against 0.09 ms (and 0.16 of 0.20 ms for a cursor's lookup). Either way a
# row costs one probe of the primary key; which rows are read is the caller's plan.
_METADATA = (
    "(SELECT m.value FROM customer_metadata m WHERE m.customer_seq = customers.seq"
    " AND m.key = ?) = ?"
)
# The same filter when the rows tested are another filter's metadata rows (metadata_probe), as
# EXISTS: counting the customers of two filters, PostgreSQL merge-joins the two ranges of the
# primary key (9 ms for 10,001 at 1M); the subquery's selectivity it cannot estimate, and it
# probed row by row (23 ms).
_OTHER_METADATA = (
    "EXISTS (SELECT 1 FROM customer_metadata m WHERE m.customer_seq = m0.customer_seq"
    " AND m.key = ? AND m.value = ?)"
)


def _hint(tx: Tx, index: str) -> str:
    """An SQLite index hint: walk this index, or for "" none at all (rowid lookups only)."""
    if tx.dialect != "sqlite":
        return ""
    return f"INDEXED BY {index}" if index else "NOT INDEXED"


def _ascii_range(tx: Tx, expression: str) -> str:
    """`expression` starts with a prefix: `prefix <= x < prefix || 0x7f` (ids and DIDs are ASCII)."""
    collate = ' COLLATE "C"' if tx.dialect == "postgresql" else ""
    return f"({expression}{collate} >= ? AND {expression}{collate} < ?)"


def _search_parts(tx: Tx, term: rules.SearchTerm) -> list[tuple[str, list[Any]]]:
    """The conditions whose union is a search: the substring in search_text, the id prefix, the
    DID prefix (each only where it can match)."""
    contains = (
        "instr(search_text, ?) > 0" if tx.dialect == "sqlite" else "strpos(search_text, ?) > 0"
    )
    parts: list[tuple[str, list[Any]]] = [(contains, [term.text])]
    if term.id_prefix is not None:  # with or without `cus_`, as ids are written either way
        for p in dict.fromkeys((term.id_prefix, ID_PREFIX + term.id_prefix)):
            parts.append((_ascii_range(tx, "lower(id)"), [p, p + "\x7f"]))
    if term.did_prefix == "":
        parts.append(("did IS NOT NULL", []))
    elif term.did_prefix is not None:
        p = term.did_prefix
        parts.append((_ascii_range(tx, "lower(did)"), [p, p + "\x7f"]))
    return parts


def conditions(tx: Tx, f: Filters) -> tuple[list[str], list[Any]]:
    """What a customer of the list must satisfy, as conditions on one row."""
    where = ["livemode = ?", LIVE]
    params: list[Any] = [f.livemode]
    if f.did is not None:
        where.append("did = ?")
        params.append(f.did)
    if f.email is not None:
        # The email index is in code-point order (COLLATE "C" on PostgreSQL, for `order=email`);
        # an equality under the database's default collation could not use it (686 ms at 1M).
        where.append(
            'email_lower COLLATE "C" = ?' if tx.dialect == "postgresql" else "email_lower = ?"
        )
        params.append(f.email.lower())
    for key, value in f.metadata:
        where.append(_METADATA)
        params.extend((key, value))
    if f.delinquent is not None:  # as the partial indexes' predicate says it (see _LATE_INDEX)
        where.append("delinquent" if f.delinquent else "NOT delinquent")
    if f.search is not None:
        parts = _search_parts(tx, f.search)
        where.append("(" + " OR ".join(sql for sql, _ in parts) + ")")
        params.extend(p for _, ps in parts for p in ps)
    return where, params


def _quoted(text: str) -> str:
    """An FTS5 phrase of `text`: inside double quotes only `"` is special (doubled)."""
    return '"' + text.replace('"', '""') + '"'


def _search_selects(tx: Tx, f: Filters, term: rules.SearchTerm) -> list[tuple[str, list[Any]]]:
    """`SELECT seq …` of each part of a search: the customers whose text holds the substring
    (through the trigram index where it can find the term: SQLite's FTS5 table, whose
    vocabulary also lists the trigrams that begin with a two-character term, or PostgreSQL's
    GIN index from three characters; otherwise by reading the table), then the id and DID
    prefix ranges. Each is read on its own: as one OR, PostgreSQL tested the prefixes against
    every row a short term's scan passed (287 ms for `jo` against 64 ms)."""
    live = f"livemode = ? AND {LIVE}"
    contains, *prefixes = _search_parts(tx, term)
    text: tuple[str, list[Any]]
    if tx.dialect == "sqlite" and len(term.text) >= 2:
        table = search_table(f.livemode)
        if len(term.text) >= rules.TRIGRAM:
            match = _quoted(term.text)
        else:  # two characters: any trigram that begins with them, read from the vocabulary
            trigrams = tx.all(
                f"SELECT term FROM {table}_vocab WHERE term >= ? AND term <= ?",
                (term.text, term.text + "\U0010ffff"),
            )
            match = " OR ".join(_quoted(str(r[0])) for r in trigrams)
        if match:
            text = (f"SELECT rowid AS seq FROM {table} WHERE {table} MATCH ?", [match])
        else:  # no trigram begins with the term: nothing holds it
            text = ("SELECT seq FROM customers WHERE 1 = 0", [])
    elif tx.dialect == "postgresql" and len(term.text) >= rules.TRIGRAM:
        escaped = term.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        text = (
            f"SELECT seq FROM customers WHERE {live} AND search_text LIKE ? ESCAPE '\\'",
            [f.livemode, f"%{escaped}%"],
        )
    else:  # too short for the index: read the table in storage order until enough are found
        sql, params = contains  # (SQLite walked ix_customers_did_prefix by livemode: 37 ms, not 8)
        text = (
            f"SELECT seq FROM customers {_hint(tx, '')} WHERE {live} AND {sql}",
            [f.livemode, *params],
        )
    selects = [text]
    for sql, params in prefixes:
        selects.append((f"SELECT seq FROM customers WHERE {live} AND {sql}", [f.livemode, *params]))
    return selects


FEW = 1000  # a search with at most this many matches reads them in its first query


def _usable(tx: Tx, gram: str) -> bool:
    """Whether the trigram index holds `gram` as a trigram of its own. pg_trgm splits words at
    anything but letters and digits, and its idea of a letter follows the database's locale: a
    trigram of ASCII letters and digits is one of its trigrams everywhere. FTS5 holds them all."""
    return tx.dialect == "sqlite" or rules.ascii_alnum(gram)


def _rare(tx: Tx, f: Filters, term: rules.SearchTerm) -> tuple[list[str], float] | None:
    """The trigrams to find the term's candidates through and how many candidates to expect
    (rules.rare_trigrams), or None when the mode was never sampled or no trigram is usable."""
    grams = rules.trigrams(term.text)
    plain = [g for g in grams if _usable(tx, g)]
    # PostgreSQL's index holds a short word as its edge (` ga` for the `.ga` of `stephanie.ga`),
    # under the key the sample keeps its figure; FTS5 holds `.ga` itself
    edges: dict[str, str] = {}
    if tx.dialect == "postgresql":
        edges = {g: key for g in grams if (key := rules.word_edge(g)) is not None}
    wanted = [*plain, search_stats.WORD_EDGES, *edges.values()] if edges else plain
    figures = search_stats.estimates(tx, f.livemode, wanted) if plain else None
    if figures is None:
        return None
    population, docs = figures
    if docs.pop(search_stats.WORD_EDGES, None) is None:  # sampled before edges were figured
        edges = {}
    docs |= {g: docs[key] for g, key in edges.items() if key in docs}
    return rules.rare_trigrams(
        term.text, docs, population, lambda g: _usable(tx, g), lambda g: g in edges
    )


def _through_rare(tx: Tx, f: Filters, term: rules.SearchTerm, grams: list[str]) -> list[Row] | None:
    """Every match of the term, found through the customers holding all of `grams` (its rarest
    trigrams) and checked against the whole term; None when those are more than FEW. The full
    term read the posting lists of all its trigrams: an exact email's include `com` and `exa`,
    held by most customers (3.6-7.3 ms on SQLite, 59 ms on PostgreSQL at 1M)."""
    live = f"livemode = ? AND {LIVE}"
    if tx.dialect == "sqlite":
        table = search_table(f.livemode)
        match = " AND ".join(_quoted(g) for g in grams)
        # The candidates' rows, each with whether it holds the whole term (an index holds only
        # live customers' text), in one statement: read back and sent in again as a list of
        # seqs they cost a third more.
        rows = tx.all(
            f"SELECT seq, instr(search_text, ?) > 0 FROM customers WHERE seq IN"
            f" (SELECT rowid FROM {table} WHERE {table} MATCH ? LIMIT ?) AND {live}",
            (term.text, match, FEW + 1, f.livemode),
        )
        if len(rows) > FEW:
            return None
        return [(r[0],) for r in rows if r[1]]
    # The trigrams are letters and digits, or word edges (rules.word_edge): nothing in them is
    # special to LIKE. The GIN index ANDs their posting lists; strpos checks the term on each
    # candidate.
    likes = " AND ".join("search_text LIKE ?" for _ in grams)
    rows = tx.all(
        f"SELECT seq, strpos(search_text, ?) > 0 FROM customers WHERE {live} AND {likes} LIMIT ?",
        (term.text, f.livemode, *(f"%{g}%" for g in grams), FEW + 1),
    )
    if len(rows) > FEW:
        return None
    return [(r[0],) for r in rows if r[1]]


WORD_SCAN = 2000  # count rows a bound reads at most (a term may begin many words)


def _word_bound(tx: Tx, livemode: bool, text: str) -> bool:
    """Whether a word that holds the term (letters only) is held by more than EXACT_COUNT_MAX
    live customers, each of whom matches the term: then so do more than that many, known
    without counting them. The words that begin with the term are read in order from it
    (WORD_SCAN count rows at most); those with the term further in, among the common words of
    the last sample (search_stats). Both checked against the exact counts, in one statement."""
    if not text.isalpha():
        return False
    if tx.dialect == "postgresql":
        collate, contains = ' COLLATE "C"', "strpos(c.word, ?) > 0"
    else:
        collate, contains = "", "instr(c.word, ?) > 0"
    found = tx.scalar(
        "SELECT 1 FROM (SELECT word, n FROM search_word_counts WHERE livemode = ?"
        f" AND word >= ?{collate} AND word < ?{collate} ORDER BY word LIMIT ?) w"
        " GROUP BY word HAVING sum(n) > ?"
        # each common word holding the term, then its count: a probe of the counts' key
        f" UNION ALL SELECT 1 FROM search_common_words c WHERE c.livemode = ? AND {contains}"
        " AND (SELECT sum(w.n) FROM search_word_counts w"
        " WHERE w.livemode = c.livemode AND w.word = c.word) > ? LIMIT 1",
        (
            livemode,
            text,
            text + "\U0010ffff",
            WORD_SCAN,
            paging.EXACT_COUNT_MAX,
            livemode,
            text,
            paging.EXACT_COUNT_MAX,
        ),
    )
    return found is not None


def _text_count(
    tx: Tx, f: Filters, term: rules.SearchTerm, text_sql: str, text_params: list[Any]
) -> tuple[list[Row] | None, int, bool]:
    """(the matches when the count is exact, count, exact) of the search's substring part.

    With the mode's trigram figures (search_stats): a term longer than a trigram whose rare
    trigrams promise at most FEW candidates is read through them; one expected to match more
    than 10,000 is counted without being read; any other has up to 10,001 of its matches read,
    which counts them too. Without figures, the first FEW + 1 matches are read (most searches
    match few). What is still to count is known to exceed 10,000 without counting when a word
    that begins with the term is that common (_word_bound), else counted up to 10,001."""
    rare = _rare(tx, f, term) if len(term.text) >= rules.TRIGRAM else None
    if rare is None:
        first = tx.all(f"{text_sql} LIMIT ?", (*text_params, FEW + 1))
        if len(first) <= FEW:
            return first, len(first), True
    else:
        grams, expected = rare
        if expected <= FEW and len(term.text) > rules.TRIGRAM:
            found = _through_rare(tx, f, term, grams)
            if found is not None:
                return found, len(found), True
        if expected <= paging.EXACT_COUNT_MAX:
            rows = tx.all(f"{text_sql} LIMIT ?", (*text_params, paging.EXACT_COUNT_MAX + 1))
            if len(rows) <= paging.EXACT_COUNT_MAX:
                return rows, len(rows), True
            return None, len(rows), False
    if len(term.text) >= rules.TRIGRAM and _word_bound(tx, f.livemode, term.text):
        return None, paging.EXACT_COUNT_MAX + 1, False  # (_search asked for shorter terms)
    count, exact = paging.bounded_count(tx, text_sql, text_params)
    if count <= FEW:  # fewer than the figures promised
        return tx.all(text_sql, text_params), count, exact
    return None, count, exact


def _search(
    tx: Tx,
    f: Filters,
    term: rules.SearchTerm,
    where: list[str],
    params: list[Any],
    walk: Callable[..., tuple[list[Row], bool]],
    small: Callable[[int, bool], bool],
) -> paging.Page[CustomerRecord]:
    """A search page. Its count comes from the parts one by one (a UNION had to materialise
    every trigram match before its LIMIT: 47 ms for `son` against 1 ms), then the cheaper of
    reading every match and walking the created index (see `page`). A term no index finds
    costs one pass over the table at most: its first query reads every match when there are
    few, and stops early when there are many."""
    created = _hint(tx, _ORDER_INDEX["created_at"])
    if len(term.text) < rules.TRIGRAM and _word_bound(tx, f.livemode, term.text):
        # More than 10,000 matches, known before reading any (a 1-2 letter term has no
        # figures): the page is a walk of the created index.
        rows, more = walk(created, where, params)
        return _page(rows, more, paging.EXACT_COUNT_MAX + 1, False)
    (text_sql, text_params), *prefixes = _search_selects(tx, f, term)
    few, count, exact = _text_count(tx, f, term, text_sql, text_params)
    extra: set[int] = set()
    for sql, ps in prefixes:  # ids and DIDs: almost always no match, or one
        if not exact:  # the count is a bound already; a 1-letter `cus_a…` range is 16,000 ids
            break
        found = tx.all(f"{sql} LIMIT ?", (*ps, paging.EXACT_COUNT_MAX + 1))
        extra.update(int(r[0]) for r in found)
        exact = exact and len(found) <= paging.EXACT_COUNT_MAX
    if not exact:
        count = max(count, len(extra))
    elif extra or small(count, exact):
        matched = few if few is not None else tx.all(text_sql, text_params)
        seqs = {int(r[0]) for r in matched} | extra
        count = len(seqs)
        exact = count <= paging.EXACT_COUNT_MAX
        if small(count, exact):
            # Few matches: read them by seq and sort. As one array parameter, not a subquery:
            # PostgreSQL guessed 5,000 rows per prefix range and hash-joined a full scan.
            member, seq_list = tx.member_of("seq", sorted(seqs))
            rows, more = walk(_hint(tx, ""), [member, *where[:2]], [seq_list, *params[:1]], True)
            return _page(rows, more, count, exact)
    rows, more = walk(created, where, params)
    return _page(rows, more, count, exact)


def _cursor_missing(cursor: paging.Cursor) -> Exception:
    return errors.InvalidRequest(
        f"{cursor.param} names no customer of this list: {cursor.id}", cursor.param
    )


def page(tx: Tx, f: Filters, request: paging.ListRequest) -> paging.Page[CustomerRecord]:
    """One page of customers, by the cheapest plan for the filters and order (ARCHITECTURE.md,
    "Customers at a million rows")."""
    keys = paging.sort_keys(request.order, SORTABLE, TEXT_SORT, NULLABLE)
    where, params = conditions(tx, f)
    values = None
    if request.cursor is not None:
        values = paging.cursor_values(
            tx, "customers", keys, request.cursor, where, params, _cursor_missing
        )
    lead = keys[0].column
    columns = _columns(tx)
    mode_total: list[int] = []  # the mode's live customers, read once if a plan needs them

    def customers_in_mode() -> int:
        if not mode_total:
            mode_total.append(live_count(tx, f.livemode))
        return mode_total[0]

    def walk(
        hint: str,
        conditions: list[str],
        args: list[Any],
        sort: bool = False,
        total: int | None = None,
    ) -> tuple[list[Row], bool]:
        """A page under `conditions`; `sort`: they find few rows, sorted rather than walked;
        `total`: exactly this many rows meet them."""
        return paging.walk(
            tx,
            columns,
            "customers",
            conditions,
            args,
            keys,
            request,
            values,
            hint=hint,
            sort=sort,
            total=total,
        )

    def small(count: int, exact: bool) -> bool:
        """Whether reading every match beats walking the order index until the page fills:
        n matches among the mode's N customers cost n reads, a walk about (size + 1) * N / n."""
        return exact and count * count <= (request.size + 1) * customers_in_mode()

    if f.none:
        total = customers_in_mode()
        rows, more = walk(_hint(tx, _ORDER_INDEX[lead]), where, params, total=total)
        return _page(rows, more, total, True)
    if f.did is not None or f.email is not None:
        hint = filter_hint(tx, f)
        count, exact = paging.bounded_count(
            tx, f"SELECT 1 FROM customers {hint} WHERE {' AND '.join(where)}", params
        )
        rows, more = walk(hint, where, params)
        return _page(rows, more, count, exact)
    if f.search is not None:
        return _search(tx, f, f.search, where, params, walk, small)
    if f.delinquent is not None:
        return _delinquent(
            tx, f, lead, where, params, walk, small, customers_in_mode, keys, request, values
        )
    # metadata filters only
    (key, value), others = f.metadata[0], f.metadata[1:]
    probe, probe_params = metadata_probe(f)
    if others:
        count, exact = paging.bounded_count(
            tx, f"SELECT 1 FROM customer_metadata m0 WHERE {probe}", probe_params
        )
    elif lead == "created_at":  # one filter: its counter
        count, exact = metadata_count(tx, f.livemode, key, value), True
    else:  # and the mode's, which `small` weighs it against
        count, total = metadata_and_live_count(tx, f.livemode, key, value)
        exact = True
        mode_total.append(total)
    if lead == "created_at":
        seqs, more = metadata_seqs(tx, f, keys, request, values)
        return _page(by_seq(tx, seqs), more, count, exact)
    if small(count, exact):
        matching = f"seq IN (SELECT m0.customer_seq FROM customer_metadata m0 WHERE {probe})"
        rows, more = walk(
            _hint(tx, ""), [matching, *where[:2]], [*probe_params, *params[:1]], sort=True
        )
    else:
        rows, more = walk(_hint(tx, _ORDER_INDEX[lead]), where, params)
    return _page(rows, more, count, exact)


def delinquent_count(tx: Tx, livemode: bool) -> int:
    """The mode's live delinquent customers (customer_counts.n_delinquent)."""
    return int(
        tx.scalar(
            "SELECT coalesce(sum(n_delinquent), 0) FROM customer_counts WHERE livemode = ?",
            (livemode,),
        )
    )


def _delinquent(
    tx: Tx,
    f: Filters,
    lead: str,
    where: list[str],
    params: list[Any],
    walk: Callable[..., tuple[list[Row], bool]],
    small: Callable[[int, bool], bool],
    customers_in_mode: Callable[[], int],
    keys: paging.Order,
    request: paging.ListRequest,
    values: Sequence[Any] | None,
) -> paging.Page[CustomerRecord]:
    """A page under the `delinquent` filter (with metadata filters or none; a DID or email
    filter finds few rows by its own index). `true` walks the order's ix_customers_late_*
    index, which holds only the live delinquent customers; `false` walks the order index; both
    count exactly from customer_counts (`false`: the mode's customers less the delinquent
    ones). With metadata filters the metadata rows carry the flag: the delinquent matches are
    one range of ix_customer_metadata_late (counted there; `false` counts as the value's
    counter less them), and in creation order a page is one range of that index or of
    ix_customer_metadata_filter."""
    late_index = _hint(tx, _LATE_INDEX[lead])
    order_index = _hint(tx, _ORDER_INDEX[lead])
    if not f.metadata:  # both sides counted exactly, from the counters
        late = delinquent_count(tx, f.livemode)
        total = late if f.delinquent else customers_in_mode() - late
        rows, more = walk(late_index if f.delinquent else order_index, where, params, total=total)
        return _page(rows, more, total, True)
    subtract = not f.delinquent and len(f.metadata) == 1  # the value's counter, less them
    if f.delinquent or subtract:
        late_probe, late_params = metadata_probe(f, late=True)
        count, exact = paging.bounded_count(
            tx, f"SELECT 1 FROM {_metadata_source(tx, True)} WHERE {late_probe}", late_params
        )
    if subtract and exact:
        count = metadata_count(tx, f.livemode, *f.metadata[0]) - count
    elif not f.delinquent:  # several values (or too many delinquent): count the matches
        probe, probe_params = metadata_probe(f, late=False)
        count, exact = paging.bounded_count(
            tx, f"SELECT 1 FROM {_metadata_source(tx, False)} WHERE {probe}", probe_params
        )
    if lead == "created_at":
        seqs, more = metadata_seqs(tx, f, keys, request, values)
        return _page(by_seq(tx, seqs), more, count, exact)
    if f.delinquent:  # the walk would read the delinquent customers' index, not the mode's
        few = exact and count * count <= (request.size + 1) * delinquent_count(tx, f.livemode)
    else:
        few = small(count, exact)
    if few:  # read the matches from their metadata rows, sort them
        probe, probe_params = metadata_probe(f, late=f.delinquent)
        meta = (
            f"seq IN (SELECT m0.customer_seq FROM {_metadata_source(tx, f.delinquent)}"
            f" WHERE {probe})"
        )
        rows, more = walk(_hint(tx, ""), [meta, *where], [*probe_params, *params], True)
    else:
        rows, more = walk(late_index if f.delinquent else order_index, where, params)
    return _page(rows, more, count, exact)


def _page(rows: list[Row], more: bool, count: int, exact: bool) -> paging.Page[CustomerRecord]:
    return paging.Page([record(r) for r in rows], more, count, exact)


def filter_hint(tx: Tx, f: Filters) -> str:
    """SQLite's hint for a walk in creation order under `f`'s did or email filter (their
    index), else `delinquent=true` (ix_customers_late_created, which holds only the live
    delinquent customers: the created index walked testing each row read the whole mode, 1.3 s
    for the 5,001 of 1M customers), else the created index; see _ORDER_INDEX."""
    if f.did is not None:
        return _hint(tx, "uq_customers_livemode_did")
    if f.email is not None:
        return _hint(tx, "ix_customers_email")
    if f.delinquent:
        return _hint(tx, _LATE_INDEX["created_at"])
    return _hint(tx, _ORDER_INDEX["created_at"])


def metadata_probe(f: Filters, late: bool | None = None) -> tuple[str, list[Any]]:
    """`f`'s metadata filters as conditions on `customer_metadata m0`: the first filter's rows
    (a range of ix_customer_metadata_filter; with `late` true, of ix_customer_metadata_late),
    each other filter an EXISTS on the same customer; `late` true/false: only the delinquent
    customers' rows, or only the others'."""
    (key, value), others = f.metadata[0], f.metadata[1:]
    first = "m0.livemode = ? AND m0.key = ? AND m0.value = ?"
    if late is not None:  # as the partial index's predicate says it
        first += " AND m0.delinquent" if late else " AND NOT m0.delinquent"
    probe = " AND ".join([first] + [_OTHER_METADATA] * len(others))
    return probe, [f.livemode, key, value, *(x for pair in others for x in pair)]


def _metadata_source(tx: Tx, late: bool | None) -> str:
    """`customer_metadata m0`, told on SQLite which index holds the rows a probe reads."""
    if tx.dialect != "sqlite":
        return "customer_metadata m0"
    index = "ix_customer_metadata_late" if late else "ix_customer_metadata_filter"
    return f"customer_metadata m0 INDEXED BY {index}"


def metadata_seqs(
    tx: Tx,
    f: Filters,
    keys: paging.Order,
    request: paging.ListRequest,
    values: Sequence[Any] | None,
) -> tuple[list[int], bool]:
    """The seqs of a page of the customers matching `f`'s metadata filters in creation order
    (`keys` on created_at, then seq), and whether more follow: one range of
    ix_customer_metadata_filter, which holds each live customer's created_at (with
    `f.delinquent` true: of ix_customer_metadata_late; false: the first, skipping delinquent
    customers)."""
    late = f.delinquent
    probe, probe_params = metadata_probe(f, late)
    meta_keys = tuple(
        paging.SortKey(
            "m0.created_at" if k.column == "created_at" else "m0.customer_seq", k.descending
        )
        for k in keys
    )
    found, more = paging.walk(
        tx,
        "m0.customer_seq",
        "customer_metadata m0",
        [probe],
        probe_params,
        meta_keys,
        request,
        values,
        id_column="m0.customer_seq",
        hint=_metadata_source(tx, late).removeprefix("customer_metadata m0").strip(),
        unique_id=False,  # a customer has a row per key
    )
    return [int(row[0]) for row in found], more


def by_seq(tx: Tx, seqs: list[int]) -> list[Row]:
    """Customers' rows in the order of `seqs`."""
    if not seqs:
        return []
    marks = ", ".join("?" for _ in seqs)
    found = {row[0]: row for row in tx.all(f"{_select(tx)} WHERE seq IN ({marks})", seqs)}
    return [found[seq] for seq in seqs if seq in found]
