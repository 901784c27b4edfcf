"""Connections and transactions.

Every request runs its work as one synchronous function over a `Tx`, inside one transaction that the
caller (the route) opens through `Database.transaction`. SQL is written once with `?` placeholders and
translated for PostgreSQL.

SQLite: one connection per thread, called inline on the event loop (a primary-key lookup costs
microseconds, less than a hop to a thread pool — see perf-notes.md). Write transactions start with
`BEGIN IMMEDIATE`, so a read-then-write never has to upgrade its lock; WAL with `synchronous=FULL`
makes every answered write durable.
PostgreSQL: a psycopg connection pool; the work runs in a worker thread so the event loop keeps
serving while the server answers.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio.to_thread

T = TypeVar("T")
Row = tuple[Any, ...]
Params = Sequence[Any]
Dialect = Literal["sqlite", "postgresql"]

DEFAULT_SQLITE_PATH = Path("paymentkit-data") / "paymentkit.db"
SQLITE_CACHE_KIB = 65536  # per connection
SQLITE_MMAP_BYTES = 1 << 32  # address space, not memory: pages stay the OS's to evict


class UniqueViolation(Exception):
    """A unique constraint refused the write; `constraint` names it when the driver says."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint)
        self.constraint = constraint


@dataclass(frozen=True)
class DatabaseURL:
    dialect: Dialect
    raw: str
    sqlite_path: Path | None = None

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            conninfo = re.sub(r"^(postgres|postgresql\+psycopg)://", "postgresql://", url)
            return cls("postgresql", conninfo)
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///") :]
            if path in ("", ":memory:"):
                raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
            return cls("sqlite", url, Path(path))
        raise ValueError(
            f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST/DB"
        )

    @property
    def sqlalchemy_url(self) -> str:
        if self.dialect == "postgresql":
            return "postgresql+psycopg://" + self.raw[len("postgresql://") :]
        return self.raw

    def redacted(self) -> str:
        """The URL without its password, for logs and messages."""
        return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", self.raw)


def default_database_url() -> str:
    return os.environ.get("PAYMENTKIT_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def create_sqlite_file(path: Path) -> None:
    """Make a missing database file with mode 0600 (and its missing folder 0700), so that only
    its owner can read the data: SQLite gives the -wal and -shm files the database file's mode.
    An existing file or folder keeps the mode it has."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)  # an empty file is an empty database to SQLite


class Tx:
    """One open transaction. `one`, `all` and `execute` take `?`-style SQL."""

    __slots__ = ("_cur", "dialect")

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cur = cursor
        self.dialect = dialect

    def _run(self, sql: str, params: Params) -> None:
        try:
            self._cur.execute(_sql(sql, self.dialect), params)
        except Exception as exc:
            violation = _unique_violation(exc)
            if violation is not None:
                raise violation from exc
            raise

    def one(self, sql: str, params: Params = ()) -> Row | None:
        self._run(sql, params)
        row: Row | None = self._cur.fetchone()
        return row

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        self._run(sql, params)
        rows: list[Row] = self._cur.fetchall()
        return rows

    def execute(self, sql: str, params: Params = ()) -> int:
        self._run(sql, params)
        count: int = self._cur.rowcount
        return count

    def scalar(self, sql: str, params: Params = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """One statement for each of `rows` (SQLite reuses the prepared statement)."""
        try:
            self._cur.executemany(_sql(sql, self.dialect), rows)
        except Exception as exc:
            violation = _unique_violation(exc)
            if violation is not None:
                raise violation from exc
            raise

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """PostgreSQL's COPY … FROM STDIN of `rows` into `table` (bulk loads)."""
        if self.dialect != "postgresql":
            raise NotImplementedError("COPY is PostgreSQL's")
        with self._cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    # Small dialect differences, kept here so repositories stay dialect-neutral.
    @property
    def for_update(self) -> str:
        """Row lock suffix: SQLite's `BEGIN IMMEDIATE` already holds the write lock."""
        return " FOR UPDATE" if self.dialect == "postgresql" else ""

    def money_out(self, column: str) -> str:
        """Select a money column as its exact decimal text."""
        return f"{column}::text" if self.dialect == "postgresql" else column

    def money_in(self, value: int) -> Any:
        return value if self.dialect == "postgresql" else str(value)

    def member_of(self, column: str, values: Sequence[Any]) -> tuple[str, Any]:
        """`column` is one of `values`, as one parameter (a JSON array on SQLite, an array on
        PostgreSQL), so the statement text does not grow with the list."""
        if self.dialect == "postgresql":
            return f"{column} = ANY(?)", list(values)
        return f"{column} IN (SELECT value FROM json_each(?))", json.dumps(list(values))


_translated: dict[str, str] = {}


def _sql(sql: str, dialect: Dialect) -> str:
    if dialect == "sqlite":
        return sql
    out = _translated.get(sql)
    if out is None:
        if "%" in sql:
            raise ValueError("pass LIKE patterns as parameters; '%' is reserved in SQL text")
        out = _translated[sql] = sql.replace("?", "%s")
    return out


class Database:
    """The process's handle on the database; see the module docstring."""

    def __init__(self, url: str) -> None:
        self.url = DatabaseURL.parse(url)
        self.dialect: Dialect = self.url.dialect
        self._local = threading.local()
        self._sqlite_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._pool: Any = None
        if self.dialect == "sqlite":
            assert self.url.sqlite_path is not None
            create_sqlite_file(self.url.sqlite_path)
        else:
            from psycopg_pool import ConnectionPool

            self._pool = ConnectionPool(
                self.url.raw,
                min_size=1,
                max_size=int(os.environ.get("PAYMENTKIT_PG_POOL_SIZE", "10")),
                open=True,
                # No server-side prepared statements: after five runs PostgreSQL may switch to a
                # generic plan that ignores the values, and the best plan of a search or a
                # filtered list depends on them (a 1-2 letter search: 0.09 ms custom, 3.6-4.3 s
                # generic, perf-notes.md).
                kwargs={"autocommit": False, "prepare_threshold": None},
            )

    # -- running work -----------------------------------------------------------------------

    async def transaction(self, work: Callable[[Tx], T], *, write: bool = False) -> T:
        """Run `work` in one transaction: committed when it returns, rolled back when it raises."""
        if self.dialect == "sqlite":
            return self.run_sync(work, write=write)
        return await anyio.to_thread.run_sync(lambda: self.run_sync(work, write=write))

    def run_sync(self, work: Callable[[Tx], T], *, write: bool = False) -> T:
        if self.dialect == "sqlite":
            return self._run_sqlite(work, write)
        with self._pg_tx() as tx:
            return work(tx)

    def _run_sqlite(self, work: Callable[[Tx], T], write: bool) -> T:
        # Plain try/except rather than a context manager: this runs on every request.
        conn = self._sqlite_conn()
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = work(Tx(cur, "sqlite"))
        except BaseException:
            conn.rollback()
            raise
        finally:
            cur.close()
        try:
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return result

    @contextmanager
    def _pg_tx(self) -> Iterator[Tx]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield Tx(cur, "postgresql")

    def _sqlite_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            assert self.url.sqlite_path is not None
            conn = sqlite3.connect(
                self.url.sqlite_path, isolation_level=None, check_same_thread=False, timeout=30
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            # At a million customers the default 2 MB page cache missed on most index pages
            # and a bulk load spent its time in pread (98% of its syscalls); memory-mapped
            # reads skip the syscall for pages the OS already holds.
            conn.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            conn.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            self._local.conn = conn
            with self._conns_lock:
                self._sqlite_conns.append(conn)
        return conn

    def close(self) -> None:
        with self._conns_lock:
            for conn in self._sqlite_conns:
                conn.close()
            self._sqlite_conns.clear()
        self._local = threading.local()
        if self._pool is not None:
            self._pool.close()


def _unique_violation(exc: Exception) -> UniqueViolation | None:
    """The driver's unique-constraint error as our own, so services can turn it into a 409."""
    if isinstance(exc, sqlite3.IntegrityError):
        message = str(exc)
        if message.startswith("UNIQUE constraint failed"):
            # SQLite names the columns, not the index: "customers.livemode, customers.did"
            return UniqueViolation(message.split(":", 1)[1].strip())
        return None
    import psycopg

    if isinstance(exc, psycopg.errors.UniqueViolation):
        return UniqueViolation(exc.diag.constraint_name)
    return None
