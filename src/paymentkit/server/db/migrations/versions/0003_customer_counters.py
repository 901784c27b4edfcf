"""customer counters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:39:16.897746
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SHARDS = 8  # schema.COUNTER_SHARDS when this revision was written


def upgrade() -> None:
    op.create_table(
        "customer_counts",
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("livemode", "shard", name=op.f("pk_customer_counts")),
    )
    counts = sa.table(
        "customer_counts",
        sa.column("livemode", sa.Boolean()),
        sa.column("shard", sa.Integer()),
        sa.column("n", sa.BigInteger()),
    )
    op.bulk_insert(
        counts,
        [
            {"livemode": mode, "shard": shard, "n": 0}
            for mode in (False, True)
            for shard in range(SHARDS)
        ],
    )
    # Customers that exist already are counted in shard 0.
    op.execute(
        "UPDATE customer_counts SET n = (SELECT count(*) FROM customers"
        " WHERE customers.livemode = customer_counts.livemode AND deleted_at IS NULL)"
        " WHERE shard = 0"
    )


def downgrade() -> None:
    op.drop_table("customer_counts")
