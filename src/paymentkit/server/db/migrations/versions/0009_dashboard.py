"""dashboard sessions and the delinquent filter's index

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00.000000

- dashboard_sessions: one row per signed-in dashboard session, keyed by the SHA-256 of the
  cookie's random token (server/dashboard/sessions.py).
- ix_invoices_uncollectible: the customers of a mode's uncollectible invoices, for the customers
  list's `delinquent` filter (partial: only uncollectible invoices are in it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_dashboard_sessions_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_dashboard_sessions")),
    )
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_dashboard_sessions_key_id", ["key_id"], unique=False)
        batch_op.create_index("ix_dashboard_sessions_last_seen_at", ["last_seen_at"], unique=False)
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoices_uncollectible",
            ["livemode", "customer_id"],
            unique=False,
            sqlite_where=sa.text("status = 'uncollectible'"),
            postgresql_where=sa.text("status = 'uncollectible'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_uncollectible")
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_dashboard_sessions_last_seen_at")
        batch_op.drop_index("ix_dashboard_sessions_key_id")
    op.drop_table("dashboard_sessions")
