"""customers at scale

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 17:20:00.000000

Measured at 1,000,000 customers (ARCHITECTURE.md, "Customers at a million rows"):
- search_text holds only name, email and phone, folded (Unicode case folding): random ids and
  DIDs made the trigram index ten times slower to build (13-15 s against 1.4-1.7 s per 100k
  rows on SQLite); ids and DIDs are matched by prefix through expression indexes instead.
- SQLite: one contentless FTS5 trigram table per mode holding only live customers, so counting
  matches never has to visit the customers table; the repository keeps them in step (no
  triggers: a trigger made bulk inserts 10-30 times slower). PostgreSQL: the pg_trgm index covers live rows.
- customer_metadata carries the customer's livemode and created_at, loses the rows of deleted
  customers, and is indexed (livemode, key, value, created_at, customer_seq): a metadata filter
  in the default order is one index range. customer_metadata_counts counts live customers per
  (mode, key, value) in shards, so one metadata filter has an exact count at any size.
- Order indexes for name and email in code-point order, with seq for keyset paging; the list
  indexes of the billing tables end in seq too. The customers' order indexes hold deleted_at
  (always NULL in them): SQLite otherwise reads each row it skips to test the partial
  predicate (OFFSET to page 50,000: 110 ms, 62 ms index-only).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL"
BATCH = 5000

# Names and definitions as they stand in schema.py when this revision was written.
CUSTOMER_INDEXES = {
    "ix_customers_name": ("(livemode, name, seq, deleted_at)", '(livemode, name COLLATE "C", seq)'),
    "ix_customers_email": (
        "(livemode, email_lower, seq, deleted_at)",
        '(livemode, email_lower COLLATE "C", seq)',
    ),
    "ix_customers_id_prefix": ("(livemode, lower(id))", '(livemode, lower(id) COLLATE "C")'),
    "ix_customers_did_prefix": ("(livemode, lower(did))", '(livemode, lower(did) COLLATE "C")'),
}
BILLING_TABLES = ("payment_methods", "payment_currencies", "subscriptions", "invoices")


def _fts_sql() -> list[str]:
    # No triggers: FTS5 flushes its pending terms at every statement's savepoint, so a trigger
    # firing per row cost 115-450 us a row against 13 us for one INSERT ... SELECT of a whole
    # chunk. customers/repository.py keeps these tables in step on every write instead, and a
    # bulk import indexes each chunk with one statement.
    # The vocabulary lists the index's trigrams: those that begin with a two-character term find
    # its matches (search text ends each field with a separator, so none is missed).
    out = []
    for mode in ("test", "live"):
        out.append(
            f"CREATE VIRTUAL TABLE customers_search_{mode} USING fts5("
            "search_text, content='', tokenize='trigram case_sensitive 1')"
        )
        out.append(
            f"CREATE VIRTUAL TABLE customers_search_{mode}_vocab"
            f" USING fts5vocab(customers_search_{mode}, 'row')"
        )
    return out


def _refold(bind: sa.engine.Connection) -> None:
    """Recompute search_text (name, email, phone, folded) for every customer, in batches."""
    from paymentkit.server.customers.rules import search_text

    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT seq, name, email, phone FROM customers WHERE seq > :last"
                " ORDER BY seq LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        bind.execute(
            sa.text("UPDATE customers SET search_text = :t WHERE seq = :seq"),
            [{"t": search_text(r[1], r[2], r[3]), "seq": r[0]} for r in rows],
        )
        last = rows[-1][0]


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        for statement in (
            "DROP TRIGGER customers_search_delete",
            "DROP TRIGGER customers_search_update",
            "DROP TRIGGER customers_search_insert",
            "DROP TABLE customers_search",
        ):
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_customers_search_trgm")
    _refold(bind)

    if sqlite:
        for statement in _fts_sql():
            op.execute(statement)
        for mode, flag in (("test", 0), ("live", 1)):
            op.execute(
                f"INSERT INTO customers_search_{mode} (rowid, search_text)"
                f" SELECT seq, search_text FROM customers WHERE livemode = {flag} AND {LIVE}"
            )
    else:
        schema = _trgm_schema(bind)
        if schema is not None:
            op.execute(
                "CREATE INDEX ix_customers_search_trgm ON customers"
                f' USING gin (search_text "{schema}".gin_trgm_ops) WHERE {LIVE}'
            )

    # customer_metadata: the customer's mode and creation time beside each row; live rows only.
    op.execute("DROP INDEX ix_customer_metadata_lookup")
    op.execute(
        "DELETE FROM customer_metadata WHERE customer_seq IN"
        " (SELECT seq FROM customers WHERE deleted_at IS NOT NULL)"
    )
    with op.batch_alter_table("customer_metadata") as batch:
        batch.add_column(sa.Column("livemode", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("created_at", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE customer_metadata SET"
        " livemode = (SELECT livemode FROM customers WHERE seq = customer_seq),"
        " created_at = (SELECT created_at FROM customers WHERE seq = customer_seq)"
    )
    with op.batch_alter_table("customer_metadata") as batch:
        batch.alter_column("livemode", existing_type=sa.Boolean(), nullable=False)
        batch.alter_column("created_at", existing_type=sa.BigInteger(), nullable=False)
        batch.create_index(
            "ix_customer_metadata_filter",
            ["livemode", "key", "value", "created_at", "customer_seq"],
        )

    # deleted_at (always NULL in these partial indexes) makes skipping rows index-only on SQLite.
    for column in ("created", "updated"):
        op.drop_index(f"ix_customers_{column}", table_name="customers")
        op.create_index(
            f"ix_customers_{column}",
            "customers",
            ["livemode", f"{column}_at", "seq", "deleted_at"],
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )
    op.create_table(
        "customer_metadata_counts",
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "livemode", "key", "value", "shard", name=op.f("pk_customer_metadata_counts")
        ),
    )
    op.execute(
        "INSERT INTO customer_metadata_counts (livemode, key, value, shard, n)"
        " SELECT livemode, key, value, 0, count(*) FROM customer_metadata"
        " GROUP BY livemode, key, value"
    )
    for table in BILLING_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_list")
            batch.create_index(f"ix_{table}_list", ["livemode", "created_at", "seq"])
    op.execute("DROP INDEX ix_customers_email")
    for name, (on_sqlite, on_postgresql) in CUSTOMER_INDEXES.items():
        columns = on_sqlite if sqlite else on_postgresql
        op.execute(f"CREATE INDEX {name} ON customers {columns} WHERE {LIVE}")
    if sqlite:
        op.execute("ANALYZE")


def _trgm_schema(bind: sa.engine.Connection) -> str | None:
    found = bind.execute(
        sa.text(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
        )
    ).scalar()
    return None if found is None else str(found).strip('"')


def downgrade() -> None:
    raise NotImplementedError("0006 folds search text one way; restore a backup to go back")
