"""The paged read every list and search uses: keyset (cursor) or numbered pages, and counts.

A list's order is a tuple of `SortKey`s that always ends in `seq` (creation order, unique), so every
row has one place and a cursor names it. A cursor page reads `WHERE <after the cursor row> ORDER BY
… LIMIT n + 1` from the order's index, whatever its depth; a numbered page skips rows inside an
index-only subquery and fetches only the rows it returns. Counts stop at `EXACT_COUNT_MAX + 1`
matches (the contract's `count_is_exact: false` above that) unless the caller has an exact one.

Text keys sort by code point with NULLs last in either direction, on SQLite and PostgreSQL alike.
A walk over a nullable leading key runs as two segments — the non-null rows, then the NULL rows —
each one range of the same index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from paymentkit.server.db.engine import Row, Tx

T = TypeVar("T")

# Counts up to this are exact; above it a list may answer a bound (API.md, "Counts").
EXACT_COUNT_MAX = 10_000

# Sort keys every resource offers; `id` means creation order (ids are random), as in Payment Kit.
BASE_SORTABLE = {"id": "seq", "created_at": "created_at", "updated_at": "updated_at"}


@dataclass(frozen=True)
class SortKey:
    column: str  # an SQL expression over the list's table
    descending: bool
    nullable: bool = False
    text: bool = False  # compared by code point (COLLATE "C" on PostgreSQL)


Order = tuple[SortKey, ...]


@dataclass(frozen=True)
class Cursor:
    """`starting_after` (the page after `id`) or `ending_before` (the page before it)."""

    id: str
    before: bool

    @property
    def param(self) -> str:
        return "ending_before" if self.before else "starting_after"


@dataclass(frozen=True)
class ListRequest:
    """One page of a list: numbered (`page`) or after/before a cursor, `size` rows, order as
    [(field, descending)], exact-match column filters."""

    page: int
    size: int
    order: list[tuple[str, bool]] = field(default_factory=lambda: [("created_at", True)])
    filters: dict[str, str] = field(default_factory=dict)
    cursor: Cursor | None = None

    @property
    def offset(self) -> int:
        return 0 if self.cursor is not None else (self.page - 1) * self.size


@dataclass
class Page(Generic[T]):
    """What a paged read found: the rows in list order, whether more lie in the direction of
    travel, and the count of every match (a lower bound when `exact` is false)."""

    rows: list[T]
    has_more: bool
    count: int
    exact: bool


def sort_keys(
    order: Sequence[tuple[str, bool]],
    sortable: dict[str, str] = BASE_SORTABLE,
    text_columns: frozenset[str] = frozenset(),
    nullable: frozenset[str] = frozenset(),
) -> Order:
    """The keys of [(field, descending)]; ties fall back to creation order in the direction of
    the first key, and `id` alone means creation time, then seq (so it shares created_at's
    index)."""
    keys: list[SortKey] = []
    for name, descending in order:
        column = sortable[name]
        if column == "seq" and not keys:
            keys.append(SortKey("created_at", descending))
        if column == "seq":
            keys.append(SortKey("seq", descending))
            return tuple(keys)
        keys.append(SortKey(column, descending, name in nullable, name in text_columns))
    keys.append(SortKey("seq", order[0][1] if order else True))
    return tuple(keys)


def _collate(tx: Tx, key: SortKey) -> str:
    return f'{key.column} COLLATE "C"' if key.text and tx.dialect == "postgresql" else key.column


def order_sql(
    tx: Tx, keys: Order, reverse: bool = False, *, sort: bool = False, segmented: bool = False
) -> str:
    """ORDER BY for `keys`. With `sort` the keys are expressions no index can order, so
    PostgreSQL sorts the few rows its conditions find instead of walking an order index and
    testing every row (a one-match search walked 1M rows: 555 ms)."""
    parts = []
    for i, key in enumerate(keys):
        descending = key.descending != reverse
        direction = "DESC" if descending else "ASC"
        nulls = ""
        # A nullable first key is walked in segments that are all NULL or all non-NULL, where
        # the NULLS clause would only keep the index from giving the order (a 1.4 s sort).
        if key.nullable and not (i == 0 and segmented):
            # NULLs last in either list direction, so first when walking back
            nulls = " NULLS FIRST" if reverse else " NULLS LAST"
        column = _collate(tx, key)
        if sort and tx.dialect == "postgresql":
            column = f"({key.column} || '') COLLATE \"C\"" if key.text else f"({key.column} + 0)"
        parts.append(f"{column} {direction}{nulls}")
    return ", ".join(parts)


def _comes_after(tx: Tx, key: SortKey, value: Any, reverse: bool) -> tuple[str, list[Any]]:
    """Rows whose `key` lies strictly beyond `value` in the direction of travel."""
    if not key.nullable:
        op = "<" if key.descending != reverse else ">"
        return f"{_collate(tx, key)} {op} ?", [value]
    if not reverse:  # NULLs come last: after a value lie the greater values and every NULL
        if value is None:
            return "1 = 0", []
        op = "<" if key.descending else ">"
        return f"({_collate(tx, key)} {op} ? OR {key.column} IS NULL)", [value]
    if value is None:  # walking back from a NULL: every value comes before it
        return f"{key.column} IS NOT NULL", []
    op = ">" if key.descending else "<"
    return f"{_collate(tx, key)} {op} ?", [value]


def after(
    tx: Tx, keys: Order, values: Sequence[Any], reverse: bool = False
) -> tuple[str, list[Any]]:
    """The condition for rows after the cursor row with these key values (before it when
    `reverse`), with a bound on the first key first so the order index can start there.

    Keys all in one direction and without NULLs compare as one row value, which PostgreSQL reads
    as a single index range (the expanded form walked the cursor's whole tie group first: an
    import gives thousands of customers one created_at, 6.6 ms at depth 50,000). SQLite bounds
    a row value by its first column only; `_ranges` splits the walk there."""
    descending = {key.descending for key in keys}
    if len(descending) == 1 and not any(k.nullable for k in keys) and None not in values:
        op = "<" if descending.pop() != reverse else ">"
        columns = ", ".join(_collate(tx, key) for key in keys)
        marks = ", ".join("?" for _ in keys)
        return f"({columns}) {op} ({marks})", list(values)
    ors: list[str] = []
    params: list[Any] = []
    for i, key in enumerate(keys):
        terms: list[str] = []
        for prior, value in zip(keys[:i], values[:i], strict=True):
            if value is None:
                terms.append(f"{prior.column} IS NULL")
            else:
                terms.append(f"{_collate(tx, prior)} = ?")
                params.append(value)
        beyond, more = _comes_after(tx, key, values[i], reverse)
        terms.append(beyond)
        params.extend(more)
        ors.append("(" + " AND ".join(terms) + ")")
    condition = "(" + " OR ".join(ors) + ")"
    first, value = keys[0], values[0]
    if len(keys) > 1 and value is not None:
        op = "<=" if first.descending != reverse else ">="
        bound = f"{_collate(tx, first)} {op} ?"
        if first.nullable and not reverse:
            bound = f"({bound} OR {first.column} IS NULL)"
        condition = f"{bound} AND {condition}"
        params.insert(0, value)
    return condition, params


def segments(
    tx: Tx, keys: Order, values: Sequence[Any] | None, reverse: bool
) -> list[tuple[str, list[Any]]]:
    """The conditions of the index ranges a walk reads one after another. One range, unless the
    first key is nullable: then the non-null rows and the NULL rows are two ranges of its index
    (an `x > ? OR x IS NULL` condition would keep the index from ordering the walk)."""
    first = keys[0]
    if not first.nullable:
        return [("1 = 1", [])] if values is None else _ranges(tx, keys, values, reverse)
    rest = keys[1:]
    not_null = f"{first.column} IS NOT NULL"
    is_null = f"{first.column} IS NULL"
    if values is None:
        pair: list[tuple[str, list[Any]]] = [(not_null, []), (is_null, [])]
        return pair[::-1] if reverse else pair
    solid = SortKey(first.column, first.descending, False, first.text)
    if values[0] is None:
        within = [(f"{is_null} AND {c}", p) for c, p in _ranges(tx, rest, values[1:], reverse)]
        return [*within, (not_null, [])] if reverse else within
    within = [(f"{not_null} AND {c}", p) for c, p in _ranges(tx, (solid, *rest), values, reverse)]
    return within if reverse else [*within, (is_null, [])]


def _ranges(
    tx: Tx, keys: Order, values: Sequence[Any], reverse: bool
) -> list[tuple[str, list[Any]]]:
    """The rows after the cursor row as index ranges to read in turn. PostgreSQL reads the row
    value `after` as one range. SQLite bounds a row value's range by its first column only, so
    it would read the cursor's whole tie group first (an import gives 20,000 customers one
    created_at: 2 ms at depth 50,000 against 0.05 ms): there the ties come first as a range
    with the first key fixed, then the rows beyond it."""
    if tx.dialect != "sqlite" or len(keys) == 1:
        return [after(tx, keys, values, reverse)]
    first, value = keys[0], values[0]
    if value is None:
        same, same_params = f"{first.column} IS NULL", []
    else:
        same, same_params = f"{_collate(tx, first)} = ?", [value]
    ties = [
        (f"{same} AND {c}", [*same_params, *p])
        for c, p in _ranges(tx, keys[1:], values[1:], reverse)
    ]
    beyond, params = _comes_after(tx, first, value, reverse)
    return ties if beyond == "1 = 0" else [*ties, (beyond, params)]


def walk(
    tx: Tx,
    columns: str,
    source: str,
    where: Sequence[str],
    params: Sequence[Any],
    keys: Order,
    request: ListRequest,
    cursor_values: Sequence[Any] | None,
    id_column: str = "seq",
    hint: str = "",
    total: int | None = None,
    sort: bool = False,
    unique_id: bool = True,
) -> tuple[list[Row], bool]:
    """One page of `columns` from `source` (a table, maybe with an alias) under `where`, in
    `keys` order, and whether another lies beyond it; `hint` (SQLite's `INDEXED BY x` or `NOT
    INDEXED`) picks how the rows are found. A numbered page skips its rows by id in a subquery
    that reads only the order index, then fetches the page's rows. Rows come back in list order
    whichever way the cursor points. `total`, the exact number of rows under `where`, lets a
    numbered page in the second half skip from the end; `sort` says `where` finds few rows that
    are best sorted (see `order_sql`). `unique_id` false: `id_column` names several rows of
    `source` (a customer's metadata rows), so a numbered page's fetch repeats `where`."""
    reverse = request.cursor is not None and request.cursor.before
    table, source = source, f"{source} {hint}" if hint else source
    want = request.size + 1
    offset = request.offset
    if total is not None and offset > total // 2 and not keys[0].nullable:
        # Past the middle, skip from the other end: page 50,000 of 50,000 costs what page 1 does.
        return _from_the_end(
            tx, columns, table, source, where, params, keys, request, total, id_column
        )
    order = order_sql(tx, keys, reverse, sort=sort, segmented=True)
    # Only the keys go through the sort, then the page's rows are read: for a numbered page, and
    # on SQLite for few rows sorted (209 whole customers sorted for a page of 21: 0.77 ms, this
    # way 0.46 ms; on PostgreSQL this way was slower, 1.95 ms against 1.62 ms for 200 at 1M).
    keys_first = sort and unique_id and tx.dialect == "sqlite"
    rows: list[Row] = []
    for condition, extra in segments(tx, keys, cursor_values, reverse):
        clause = " AND ".join([*where, condition])
        limit = want - len(rows)
        if offset or keys_first:
            again, again_params = ("", ()) if unique_id else (f" AND {clause}", (*params, *extra))
            found = tx.all(
                f"SELECT {columns} FROM {table} WHERE {id_column} IN (SELECT {id_column} FROM {source}"
                f" WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?){again} ORDER BY {order}",
                (*params, *extra, limit, offset, *again_params),
            )
            if offset and not found:  # the whole segment lies before the page: skip it
                skipped = tx.scalar(
                    f"SELECT count(*) FROM {source} WHERE {clause}", (*params, *extra)
                )
                offset = max(0, offset - int(skipped))
                continue
            offset = 0
        else:
            found = tx.all(
                f"SELECT {columns} FROM {source} WHERE {clause} ORDER BY {order} LIMIT ?",
                (*params, *extra, limit),
            )
        rows.extend(found)
        if len(rows) >= want:
            break
    has_more = len(rows) > request.size
    rows = rows[: request.size]
    if reverse:
        rows.reverse()
    return rows, has_more


def _from_the_end(
    tx: Tx,
    columns: str,
    table: str,
    source: str,
    where: Sequence[str],
    params: Sequence[Any],
    keys: Order,
    request: ListRequest,
    total: int,
    id_column: str,
) -> tuple[list[Row], bool]:
    """A numbered page counted from the last row: the order reversed, OFFSET from the end."""
    size = min(request.size, total - request.offset)
    if size <= 0:
        return [], False
    from_end = total - request.offset - size
    order = order_sql(tx, keys, reverse=True)
    clause = " AND ".join(where) or "1 = 1"
    rows = tx.all(
        f"SELECT {columns} FROM {table} WHERE {id_column} IN (SELECT {id_column} FROM {source}"
        f" WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}",
        (*params, size, from_end),
    )
    rows.reverse()
    return rows, request.offset + size < total


def bounded_count(tx: Tx, select_one: str, params: Sequence[Any]) -> tuple[int, bool]:
    """(count, exact) of the rows `select_one` yields, reading at most EXACT_COUNT_MAX + 1."""
    n = int(
        tx.scalar(
            f"SELECT count(*) FROM ({select_one} LIMIT ?) bounded", (*params, EXACT_COUNT_MAX + 1)
        )
    )
    return (n, True) if n <= EXACT_COUNT_MAX else (n, False)


def cursor_values(
    tx: Tx,
    table: str,
    keys: Order,
    cursor: Cursor,
    where: Sequence[str],
    params: Sequence[Any],
    missing: Callable[[Cursor], Exception],
) -> list[Any]:
    """The sort-key values of the cursor's row, which must match the list's conditions."""
    columns = ", ".join(key.column for key in keys)
    clause = " AND ".join(["id = ?", *where])
    row = tx.one(f"SELECT {columns} FROM {table} WHERE {clause}", (cursor.id, *params))
    if row is None:
        raise missing(cursor)
    return list(row)


def page_of(
    tx: Tx,
    columns: str,
    table: str,
    livemode: bool,
    request: ListRequest,
    missing: Callable[[Cursor], Exception],
    conditions: Sequence[tuple[str, Sequence[Any]]] = (),
    exact_total: bool = True,
    hint: str = "",
    sort: bool = False,
) -> Page[Row]:
    """A page of a billing table in one mode; filter names come from the route, never from the
    client, as do `conditions` (more SQL conditions with their parameters: ranges, prefixes).
    The unfiltered count is exact (API.md) unless `exact_total` is false (tables that grow
    without bound, such as events); a filtered one stops past EXACT_COUNT_MAX. `hint` and
    `sort` are `walk`'s, for conditions whose index a planner might pass over."""
    where = ["livemode = ?", *(f"{column} = ?" for column in request.filters)]
    params = [livemode, *request.filters.values()]
    for extra, extra_params in conditions:
        where.append(extra)
        params.extend(extra_params)
    keys = sort_keys(request.order)
    values = None
    if request.cursor is not None:
        values = cursor_values(tx, table, keys, request.cursor, where, params, missing)
    rows, has_more = walk(
        tx, columns, table, where, params, keys, request, values, hint=hint, sort=sort
    )
    condition = " AND ".join(where)
    source = f"{table} {hint}" if hint else table
    if request.filters or conditions or not exact_total:
        count, exact = bounded_count(tx, f"SELECT 1 FROM {source} WHERE {condition}", params)
    else:
        count, exact = (
            int(tx.scalar(f"SELECT count(*) FROM {table} WHERE {condition}", params)),
            True,
        )
    return Page(rows, has_more, count, exact)
