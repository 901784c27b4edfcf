"""The one paged read every list uses: a count and one page, in a stable order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paymentkit.server.db.engine import Row, Tx

NEWEST_FIRST = "created_at DESC, seq DESC"


def page(
    tx: Tx,
    select: str,
    table: str,
    where: Sequence[str],
    params: Sequence[Any],
    limit: int,
    offset: int,
    order: str = NEWEST_FIRST,
) -> tuple[int, list[Row]]:
    """`select` is `SELECT cols FROM table`; ties in `order` must end in `seq` for stable paging."""
    condition = " AND ".join(where) or "1 = 1"
    total = int(tx.scalar(f"SELECT count(*) FROM {table} WHERE {condition}", params))
    if offset >= total:
        return total, []
    rows = tx.all(
        f"{select} WHERE {condition} ORDER BY {order} LIMIT ? OFFSET ?", (*params, limit, offset)
    )
    return total, rows
