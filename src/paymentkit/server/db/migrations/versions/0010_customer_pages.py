"""the delinquent flag, and a customer's invoices and subscriptions in list order

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00.000000

Measured with bench/bench_dashboard.py at 1,000,000 customers (ARCHITECTURE.md, "The dashboard
at a million customers"):
- customers.delinquent: true exactly while an invoice of the customer is uncollectible, kept by
  every invoice write in its own transaction (it already bumped invoices_version there). The
  `delinquent` filter derived the mode's delinquent customers from the uncollectible invoices
  on every request, then sorted them or walked an order index probing each row (5,001
  delinquent: 0.5-1 s a page on SQLite, 80-140 ms on PostgreSQL; 13-56 ms even once read as a
  set of seqs); the partial indexes ix_customers_late_* hold the live delinquent customers in
  each order of the list, so a page is one range of one of them.
  ix_invoices_uncollectible (0009), which only served that read, goes.
- customer_counts.n_delinquent: the live delinquent customers per mode (sharded like n), so
  both sides of the filter count exactly at any size (counting the index's entries cost 3-8 ms
  on PostgreSQL: the flag's rows are the ones invoice writes keep updating, so the index-only
  scan visits the heap for each).
- customer_metadata.delinquent: the customer's flag, copied when it changes, and
  ix_customer_metadata_late over the delinquent customers' rows: a metadata filter with
  `delinquent` counts and pages from one index range instead of probing each delinquent
  customer's metadata (PostgreSQL, without statistics on the new column, merge-joined all
  333,000 `tier=gold` rows: 470 ms).
- ix_invoices_customer_list, ix_subscriptions_customer_list: (livemode, customer_id,
  created_at, seq), so `?customer_id=` lists (and the dashboard's customer page, which reads
  both) are one index range in the list's order; SQLite walked the mode's whole list index
  testing customer_id (67 ms for a customer's invoices among 206,000; 10 ms for its
  subscriptions among 50,000).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LATE = "deleted_at IS NULL AND delinquent"
# Names and definitions as they stand in schema.py when this revision was written:
# (SQLite, PostgreSQL) column lists, each index partial on LATE.
LATE_INDEXES = {
    "ix_customers_late_created": (
        "(livemode, created_at, seq, deleted_at)",
        "(livemode, created_at, seq, deleted_at)",
    ),
    "ix_customers_late_updated": (
        "(livemode, updated_at, seq, deleted_at)",
        "(livemode, updated_at, seq, deleted_at)",
    ),
    "ix_customers_late_name": (
        "(livemode, name, seq, deleted_at)",
        '(livemode, name COLLATE "C", seq)',
    ),
    "ix_customers_late_email": (
        "(livemode, email_lower, seq, deleted_at)",
        '(livemode, email_lower COLLATE "C", seq)',
    ),
}


def upgrade() -> None:
    op.add_column(
        "customers",
        sa.Column("delinquent", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE customers SET delinquent = true WHERE id IN"
        " (SELECT customer_id FROM invoices WHERE status = 'uncollectible')"
    )
    op.add_column(
        "customer_metadata",
        sa.Column("delinquent", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE customer_metadata SET delinquent = true WHERE customer_seq IN"
        " (SELECT seq FROM customers WHERE delinquent)"
    )
    op.add_column(
        "customer_counts",
        sa.Column("n_delinquent", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )
    op.execute(  # counted in shard 0, as 0003 counted the customers
        "UPDATE customer_counts SET n_delinquent = (SELECT count(*) FROM customers"
        " WHERE customers.livemode = customer_counts.livemode AND deleted_at IS NULL"
        " AND delinquent) WHERE shard = 0"
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, (on_sqlite, on_postgresql) in LATE_INDEXES.items():
        columns = on_sqlite if sqlite else on_postgresql
        op.execute(f"CREATE INDEX {name} ON customers {columns} WHERE {LATE}")
    op.execute(
        "CREATE INDEX ix_customer_metadata_late ON customer_metadata"
        " (livemode, key, value, created_at, customer_seq) WHERE delinquent"
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_uncollectible")
        batch_op.create_index(
            "ix_invoices_customer_list",
            ["livemode", "customer_id", "created_at", "seq"],
            unique=False,
        )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscriptions_customer_list",
            ["livemode", "customer_id", "created_at", "seq"],
            unique=False,
        )
    if not sqlite:  # statistics for the new columns, or the planner takes half the rows for late
        op.execute("ANALYZE customers, customer_metadata")


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_customer_list")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_customer_list")
        batch_op.create_index(
            "ix_invoices_uncollectible",
            ["livemode", "customer_id"],
            unique=False,
            sqlite_where=sa.text("status = 'uncollectible'"),
            postgresql_where=sa.text("status = 'uncollectible'"),
        )
    op.execute("ALTER TABLE customer_counts DROP COLUMN n_delinquent")
    op.execute("DROP INDEX ix_customer_metadata_late")
    op.execute("ALTER TABLE customer_metadata DROP COLUMN delinquent")
    for name in LATE_INDEXES:
        op.execute(f"DROP INDEX {name}")
    # plain ALTER (SQLite 3.35+): a batch would rebuild the table without the raw-SQL indexes
    op.execute("ALTER TABLE customers DROP COLUMN delinquent")
