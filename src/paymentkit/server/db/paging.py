"""The one paged read every list uses: a count and one page, in a stable order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from paymentkit.server.db.engine import Row, Tx

# Sort keys every resource offers; `id` means creation order (ids are random), as in Payment Kit.
BASE_SORTABLE = {"id": "seq", "created_at": "created_at", "updated_at": "updated_at"}


def order_by(
    tx: Tx,
    order: Sequence[tuple[str, bool]],
    sortable: dict[str, str] = BASE_SORTABLE,
    text_columns: frozenset[str] = frozenset(),
) -> str:
    """ORDER BY for [(field, descending)], the same on SQLite and PostgreSQL: text in code-point
    order with NULLs last; ties fall back to creation order in the direction of the first key."""
    parts = []
    for key, descending in order:
        column = sortable[key]
        direction = "DESC" if descending else "ASC"
        if key in text_columns:
            collate = ' COLLATE "C"' if tx.dialect == "postgresql" else ""
            parts.append(f"{column}{collate} {direction} NULLS LAST")
        else:
            parts.append(f"{column} {direction}")
        if column == "seq":
            return ", ".join(parts)  # unique: nothing after it can matter
    parts.append("seq DESC" if order[0][1] else "seq ASC")
    return ", ".join(parts)


def page(
    tx: Tx,
    select: str,
    table: str,
    where: Sequence[str],
    params: Sequence[Any],
    limit: int,
    offset: int,
    order: str,
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


@dataclass(frozen=True)
class ListRequest:
    """One page of a list: paging, order as [(field, descending)], exact-match column filters."""

    page: int
    size: int
    order: list[tuple[str, bool]] = field(default_factory=lambda: [("created_at", True)])
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def page_of(
    tx: Tx, select: str, table: str, livemode: bool, request: ListRequest
) -> tuple[int, list[Row]]:
    """A page of `table` in one mode; filter names come from the route, never from the client."""
    where = ["livemode = ?", *(f"{column} = ?" for column in request.filters)]
    return page(
        tx,
        select,
        table,
        where,
        [livemode, *request.filters.values()],
        request.size,
        request.offset,
        order_by(tx, request.order),
    )
