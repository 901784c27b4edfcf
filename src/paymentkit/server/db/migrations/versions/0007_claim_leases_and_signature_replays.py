"""idempotency claim leases and spent component signatures

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 10:00:00.000000

- idempotency_keys.owner and .lease_until: a 'running' claim names the process that holds it and
  how long its lease runs; the holder renews it while the request runs, so a claim left by a
  process killed mid-request is taken over as soon as its lease lapses, not after 120 s. Rows
  running when this revision is applied keep the old rule: their lease ends 120 s after they were
  claimed.
- component_signatures: the hash of every component signature a write has accepted, until the
  signature expires, so a captured signed write cannot be sent again (issue 9, item 8).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OLD_STALE_MS = 120_000  # idempotency.service.STALE_MS before this revision


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.BigInteger(), nullable=True))
    op.execute(
        f"UPDATE idempotency_keys SET lease_until = created_at + {OLD_STALE_MS}"
        " WHERE state = 'running'"
    )
    op.create_table(
        "component_signatures",
        sa.Column("signature_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("signature_hash", name=op.f("pk_component_signatures")),
    )
    with op.batch_alter_table("component_signatures", schema=None) as batch_op:
        batch_op.create_index("ix_component_signatures_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("component_signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_component_signatures_expires_at")
    op.drop_table("component_signatures")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("owner")
