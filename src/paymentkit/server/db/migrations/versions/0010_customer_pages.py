"""a customer's invoices and subscriptions in list order

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00.000000

- ix_invoices_customer_list, ix_subscriptions_customer_list: (livemode, customer_id,
  created_at, seq), so `GET /api/invoices?customer_id=` and `GET /api/subscriptions?customer_id=`
  (and the dashboard's customer page, which reads both) are one index range in the list's
  order. Before, SQLite walked the mode's whole list index testing customer_id on every row
  (49 ms for a customer's invoices among 206,000 at 1M customers).
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
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


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_customer_list")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_customer_list")
