"""The reads and writes every billing table shares: rows by public id within one mode.

Each resource's repository declares its table once (`Records(...)`) and adds the queries that are
its own. Column and table names come from code, never from a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paymentkit.server import errors
from paymentkit.server.db import paging
from paymentkit.server.db.engine import Row, Tx


class Records:
    def __init__(self, table: str, columns: tuple[str, ...], money: frozenset[str] = frozenset()):
        self.table = table
        self.columns = columns
        self.money = money
        self._position = {name: i for i, name in enumerate(columns)}
        self._columns: dict[str, str] = {}  # per dialect: built once, used by every read

    def value(self, row: Row, column: str) -> Any:
        """One column of a row read by this table's queries, by name."""
        return row[self._position[column]]

    def column_list(self, tx: Tx) -> str:
        """The columns every read returns, money columns as exact decimal text."""
        sql = self._columns.get(tx.dialect)
        if sql is None:
            sql = ", ".join(tx.money_out(c) if c in self.money else c for c in self.columns)
            self._columns[tx.dialect] = sql
        return sql

    def select(self, tx: Tx) -> str:
        """`SELECT <columns> FROM <table>`."""
        return f"SELECT {self.column_list(tx)} FROM {self.table}"

    def get(self, tx: Tx, livemode: bool, id: str, *, lock: bool = False) -> Row | None:
        return tx.one(
            f"{self.select(tx)} WHERE id = ? AND livemode = ?" + (tx.for_update if lock else ""),
            (id, livemode),
        )

    def get_many(self, tx: Tx, ids: list[str]) -> list[Row]:
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        return tx.all(f"{self.select(tx)} WHERE id IN ({marks})", ids)

    def insert(self, tx: Tx, values: dict[str, Any]) -> None:
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        tx.execute(f"INSERT INTO {self.table} ({names}) VALUES ({marks})", tuple(values.values()))

    def update(self, tx: Tx, id: str, fields: dict[str, Any]) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        tx.execute(f"UPDATE {self.table} SET {assignments} WHERE id = ?", (*fields.values(), id))

    def page(
        self,
        tx: Tx,
        livemode: bool,
        request: paging.ListRequest,
        conditions: Sequence[tuple[str, Sequence[Any]]] = (),
        exact_total: bool = True,
        hint: str = "",
        sort: bool = False,
    ) -> paging.Page[Row]:
        return paging.page_of(
            tx,
            self.column_list(tx),
            self.table,
            livemode,
            request,
            self._cursor_missing,
            conditions,
            exact_total,
            hint,
            sort,
        )

    def _cursor_missing(self, cursor: paging.Cursor) -> Exception:
        return errors.InvalidRequest(
            f"{cursor.param} names no object of this list: {cursor.id}", cursor.param
        )
