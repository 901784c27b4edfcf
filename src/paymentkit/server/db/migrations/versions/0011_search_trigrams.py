"""how common each search trigram is, for searches that read only their rarest trigrams

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 09:00:00.000000

- search_trigrams: per mode, the estimated number of live customers whose search_text holds
  each trigram, from a sample of 10,000 (customers/search_stats.py); the empty trigram's row
  holds the live customers counted when the sample was taken. Written by `paymentkit import`
  and refreshed by the background worker when the mode has grown or shrunk by a fifth. At
  1,000,000 customers an exact email read the posting lists of all its trigrams (3.6-7.3 ms on
  SQLite, 59 ms on PostgreSQL); its two rarest find a handful of candidates (ARCHITECTURE.md,
  "Search").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_trigrams",
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("trigram", sa.String(length=16), nullable=False),
        sa.Column("docs", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("livemode", "trigram", name=op.f("pk_search_trigrams")),
    )


def downgrade() -> None:
    op.drop_table("search_trigrams")
