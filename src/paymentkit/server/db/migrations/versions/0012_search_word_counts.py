"""exact counts of the words of the customers' search text

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:00:00.000000

- search_word_counts: per mode, how many live customers hold each word of their search_text
  (runs of 3 to 64 letters, customers/rules.search_words), exact, sharded like customer_counts
  and kept by every customer write (and `paymentkit import`) in its own transaction. A search
  whose term begins a word held by more than 10,000 customers has more than 10,000 matches:
  its count is a bound at once, where proving it counted 10,001 matches (1,000,000 customers:
  `Johnson` 8.9 ms on SQLite, ~20 ms on PostgreSQL; `jo` 61 ms on PostgreSQL).
- search_common_words: the words the last sample (customers/search_stats.py) estimated to be
  held by 5,000 or more live customers: the candidates whose exact counts a search for the
  middle of a word checks (`son` inside `johnson`: 49 ms to count on PostgreSQL). Written with
  the trigram figures; empty until the next sample.
- The counts are filled here from the live customers (in shard 0), with the word rule as it
  stands when this revision was written.
"""

from __future__ import annotations

import re
from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_WORD = re.compile(r"[^\W\d_]{3,64}")
BATCH = 20_000


def upgrade() -> None:
    table = op.create_table(
        "search_word_counts",
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column(
            "word", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("livemode", "word", "shard", name=op.f("pk_search_word_counts")),
    )
    assert table is not None
    op.create_table(
        "search_common_words",
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column(
            "word", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("livemode", "word", name=op.f("pk_search_common_words")),
    )
    bind = op.get_bind()
    counts: Counter[tuple[bool, str]] = Counter()
    after = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT seq, livemode, search_text FROM customers"
                " WHERE deleted_at IS NULL AND seq > :after ORDER BY seq LIMIT :n"
            ),
            {"after": after, "n": BATCH},
        ).all()
        if not rows:
            break
        for _, livemode, text in rows:
            for word in set(_WORD.findall(text or "")):
                counts[(bool(livemode), word)] += 1
        after = int(rows[-1][0])
    items = sorted(counts.items())
    for i in range(0, len(items), BATCH):
        bind.execute(
            table.insert(),
            [
                {"livemode": livemode, "word": word, "shard": 0, "n": n}
                for (livemode, word), n in items[i : i + BATCH]
            ],
        )


def downgrade() -> None:
    op.drop_table("search_common_words")
    op.drop_table("search_word_counts")
