"""Connections and transactions.

Every request runs its work as one synchronous function over a `Tx`, inside one transaction that the
caller (the route) opens through `Database.transaction`. SQL is written once with `?` placeholders and
translated for PostgreSQL.

SQLite: one connection per thread, called inline on the event loop (a primary-key lookup costs
microseconds, less than a hop to a thread pool — see perf-notes.md). Write transactions start with
`BEGIN IMMEDIATE`, so a read-then-write never has to upgrade its lock; WAL with `synchronous=FULL`
makes every answered write durable. The event loop's connection never waits for a lock
(busy_timeout 0): when another connection holds the write lock the transaction is run again in a
worker thread, whose connection waits up to `lock_timeout` before the request is 503
`database_busy`. Meanwhile reads (WAL readers take no lock) and everything else keep being served.
A progress handler interrupts a transaction's statements after `statement_timeout` (503 `timeout`).
PostgreSQL: a psycopg connection pool; the work runs in a worker thread so the event loop keeps
serving while the server answers. Each connection has `statement_timeout`; when the client goes
away (`abandoned`) the running statement is cancelled. A transaction that finds its connection
dead before its COMMIT was sent (the server rolled everything back) runs once more on a fresh one
after the pool has dropped its dead connections; otherwise it is 503 `database_unavailable`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar

import anyio.to_thread

from paymentkit.server import errors
from paymentkit.server.files import create_private_file

T = TypeVar("T")
Row = tuple[Any, ...]
Params = Sequence[Any]
Dialect = Literal["sqlite", "postgresql"]

DEFAULT_SQLITE_PATH = Path("paymentkit-data") / "paymentkit.db"
SQLITE_CACHE_KIB = 65536  # per connection
SQLITE_MMAP_BYTES = 1 << 32  # address space, not memory: pages stay the OS's to evict
# The statement timeout is checked every this many SQLite VM instructions (well under a
# millisecond of work; a primary-key lookup takes a few hundred).
SQLITE_PROGRESS_OPS = 10_000
DEFAULT_STATEMENT_TIMEOUT = 5.0  # seconds
DEFAULT_LOCK_TIMEOUT = 5.0  # seconds: SQLite's write lock, a PostgreSQL pool connection
DEFAULT_APPLICATION_NAME = "paymentkit"

log = logging.getLogger("paymentkit")


class Departure:
    """A request's client going away (server/disconnect.py sets one per request in `abandoned`):
    the PostgreSQL transactions running for the request register their `_Watch` here, and
    `leave()` cancels their statements. No task waits per transaction."""

    __slots__ = ("_watches", "gone")

    def __init__(self) -> None:
        self.gone = False
        self._watches: set[_Watch] = set()

    def add(self, watch: _Watch) -> None:
        if self.gone:
            watch.stopped = True  # it has no connection yet: it will run no statement
        self._watches.add(watch)

    def discard(self, watch: _Watch) -> None:
        self._watches.discard(watch)

    async def leave(self) -> None:
        self.gone = True
        for watch in list(self._watches):
            await anyio.to_thread.run_sync(watch.cancel)


abandoned: ContextVar[Departure | None] = ContextVar("abandoned", default=None)

CLIENT_GONE = "The request was cancelled because the client closed its connection"


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
    """Make a missing database file private (`create_private_file`): SQLite gives the -wal and
    -shm files the database file's mode."""
    fd = create_private_file(path)
    if fd is not None:
        os.close(fd)  # an empty file is an empty database to SQLite


BACKGROUND_RETRY = 0.002  # seconds between a background transaction's tries for SQLite's lock


class Tx:
    """One open transaction. `one`, `all` and `execute` take `?`-style SQL."""

    __slots__ = ("_cur", "_watch", "dialect", "origin")

    def __init__(self, cursor: Any, dialect: Dialect, watch: _Watch | None = None) -> None:
        self._cur = cursor
        self.dialect = dialect
        self._watch = watch
        # What asked for this unit of work (events.outbox.Origin), set by the request's write;
        # the events a transaction records carry it as their `request`.
        self.origin: object = None

    def _run(self, sql: str, params: Params) -> None:
        if self._watch is not None and self._watch.stopped:
            # the client went away between two statements: run no more
            raise errors.StatementTimeout(CLIENT_GONE)
        try:
            self._cur.execute(_sql(sql, self.dialect), params)
        except Exception as exc:
            _raise_translated(exc)

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
            _raise_translated(exc)

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


class _Busy(Exception):
    """SQLite answered SQLITE_BUSY: another connection holds the lock (nothing was written)."""


class _SQLite(sqlite3.Connection):
    """A SQLite connection whose statements stop (SQLITE_INTERRUPT) after `deadline`."""

    deadline = math.inf  # time.monotonic() seconds


class _Watch:
    """The connection a worker thread runs a request's transaction on, so that the event loop can
    cancel its statement when the client goes away, and never a connection back in the pool."""

    __slots__ = ("_lock", "conn", "stopped")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.conn: Any = None
        self.stopped = False

    def attach(self, conn: Any) -> None:
        with self._lock:
            self.conn = conn

    def detach(self) -> None:
        with self._lock:
            self.conn = None

    def cancel(self) -> None:
        with self._lock:
            self.stopped = True
            if self.conn is not None:
                try:
                    self.conn.cancel_safe(timeout=5.0)
                except Exception:  # the statement may have ended, or the server be gone
                    log.debug("cancelling a statement failed", exc_info=True)


class Database:
    """The process's handle on the database; see the module docstring.

    `statement_timeout` bounds each transaction's statements (0: no bound); `lock_timeout` how long
    a write waits for SQLite's write lock, or any transaction for a PostgreSQL pool connection.
    """

    def __init__(
        self,
        url: str,
        *,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        pool_size: int | None = None,
    ) -> None:
        self.url = DatabaseURL.parse(url)
        self.dialect: Dialect = self.url.dialect
        self.statement_timeout = statement_timeout
        self.lock_timeout = lock_timeout
        self._local = threading.local()
        self._sqlite_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._pool: Any = None
        if self.dialect == "sqlite":
            assert self.url.sqlite_path is not None
            create_sqlite_file(self.url.sqlite_path)
        else:
            from psycopg.conninfo import conninfo_to_dict
            from psycopg_pool import ConnectionPool

            kwargs: dict[str, Any] = {
                "autocommit": False,
                # No server-side prepared statements: after five runs PostgreSQL may switch to a
                # generic plan that ignores the values, and the best plan of a search or a
                # filtered list depends on them (a 1-2 letter search: 0.09 ms custom, 3.6-4.3 s
                # generic, perf-notes.md).
                "prepare_threshold": None,
            }
            if "application_name" not in conninfo_to_dict(self.url.raw):
                kwargs["application_name"] = (
                    DEFAULT_APPLICATION_NAME  # names us in pg_stat_activity
                )
            size = pool_size or int(os.environ.get("PAYMENTKIT_PG_POOL_SIZE", "10"))
            self._pool = ConnectionPool(
                self.url.raw,
                min_size=1,
                max_size=size,
                open=True,
                kwargs=kwargs,
                configure=self._configure_pg,
            )

    # -- running work -----------------------------------------------------------------------

    async def transaction(self, work: Callable[[Tx], T], *, write: bool = False) -> T:
        """Run `work` in one transaction: committed when it returns, rolled back when it raises.
        `work` may run twice (after a busy SQLite lock or a lost PostgreSQL connection), so it
        must not change anything but the database."""
        if self.dialect == "sqlite":
            try:
                return self._run_sqlite(self._sqlite_conn(loop=True), work, write)
            except _Busy:
                pass
            # Another connection (usually another process) holds the lock: wait off the loop.
            return await anyio.to_thread.run_sync(self._run_sqlite_waiting, work, write)
        departure = abandoned.get()
        if departure is None:
            return await anyio.to_thread.run_sync(self._run_pg, work, None)
        watch = _Watch()
        departure.add(watch)
        try:
            return await anyio.to_thread.run_sync(self._run_pg, work, watch)
        finally:
            departure.discard(watch)

    async def background(self, work: Callable[[Tx], T], *, write: bool = False) -> T:
        """`transaction` for background work (webhook delivery): on SQLite it runs in a worker
        thread, waiting for the lock up to the lock timeout, so its commits' fsync never holds
        the event loop the API's requests run on; on PostgreSQL it is `transaction`."""
        if self.dialect != "sqlite":
            return await self.transaction(work, write=write)
        # The thread's connection does not wait for the lock: this loop retries every
        # BACKGROUND_RETRY seconds instead. SQLite's own busy wait sleeps up to 100 ms between
        # tries, which lost the lock to the API's writers every time (delivery fell to 61/s
        # beside 174 writes/s, then drained at 364/s once they stopped).
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                return await anyio.to_thread.run_sync(self._run_sqlite_nowait, work, write)
            except _Busy:
                if time.monotonic() >= deadline:
                    raise self._busy() from None
                await anyio.sleep(BACKGROUND_RETRY)

    def _run_sqlite_nowait(self, work: Callable[[Tx], T], write: bool) -> T:
        # `loop=True`: this thread's connection that never waits for a lock (busy_timeout 0)
        return self._run_sqlite(self._sqlite_conn(loop=True), work, write)

    def run_sync(self, work: Callable[[Tx], T], *, write: bool = False) -> T:
        """`transaction` for code without an event loop (the CLI): waits in this thread. Its
        statements are not bounded: imports and exports take as long as they take."""
        if self.dialect == "sqlite":
            return self._run_sqlite_waiting(work, write, 0.0)
        return self._run_pg(work, None, bounded=False)

    async def ping(self) -> None:
        """Read from the database (readiness); raises when it cannot answer."""
        await self.transaction(lambda tx: tx.one("SELECT 1 FROM alembic_version"))

    def _run_sqlite_waiting(
        self, work: Callable[[Tx], T], write: bool, timeout: float | None = None
    ) -> T:
        try:
            return self._run_sqlite(self._sqlite_conn(loop=False), work, write, timeout)
        except _Busy:
            raise self._busy() from None

    def _busy(self) -> errors.DatabaseBusy:
        return errors.DatabaseBusy(
            f"The database is busy: the write lock stayed taken for {self.lock_timeout:g} s; "
            "nothing was changed, retry"
        )

    def _run_sqlite(
        self, conn: _SQLite, work: Callable[[Tx], T], write: bool, timeout: float | None = None
    ) -> T:
        # Plain try/except rather than a context manager: this runs on every request.
        cur = conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.OperationalError as exc:
            cur.close()
            if _sqlite_busy(exc):
                raise _Busy from exc
            raise
        limit = self.statement_timeout if timeout is None else timeout
        conn.deadline = time.monotonic() + limit if limit > 0 else math.inf
        try:
            result = work(Tx(cur, "sqlite"))
            cur.close()
            conn.commit()
        except sqlite3.OperationalError as exc:
            cur.close()
            conn.rollback()
            if _sqlite_busy(exc):
                raise _Busy from exc
            if exc.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT:
                raise errors.StatementTimeout(
                    f"The request took longer than the statement timeout ({limit:g} s); "
                    "nothing was changed"
                ) from exc
            raise
        except BaseException:
            cur.close()
            conn.rollback()
            raise
        return result

    def _run_pg(self, work: Callable[[Tx], T], watch: _Watch | None, bounded: bool = True) -> T:
        import psycopg
        from psycopg_pool import PoolTimeout

        for attempt in (1, 2):
            committing = False
            conn: Any = None
            try:
                with self._pool.connection(timeout=self.lock_timeout) as conn:
                    if watch is not None:
                        watch.attach(conn)
                    try:
                        with conn.cursor() as cur:
                            if not bounded:
                                cur.execute("SET LOCAL statement_timeout = 0")
                            result = work(Tx(cur, "postgresql", watch))
                        committing = True
                        conn.commit()
                    except BaseException:
                        if not conn.broken:
                            # on failure the pool checks the connection when it comes back
                            with contextlib.suppress(psycopg.Error):
                                conn.rollback()
                        raise
                    finally:
                        if watch is not None:
                            watch.detach()
                return result
            except psycopg.errors.QueryCanceled as exc:
                if watch is not None and watch.stopped:
                    raise errors.StatementTimeout(CLIENT_GONE) from exc
                raise errors.StatementTimeout(
                    "The request took longer than the statement timeout "
                    f"({self.statement_timeout:g} s); nothing was changed"
                ) from exc
            except PoolTimeout as exc:
                raise errors.DatabaseUnavailable(
                    f"No database connection within {self.lock_timeout:g} s; retry"
                ) from exc
            except psycopg.OperationalError as exc:
                if conn is None or not conn.broken:
                    raise
                if committing:
                    raise errors.DatabaseUnavailable(
                        "The database connection was lost while committing; the outcome is "
                        "unknown (a retry with the same Idempotency-Key is safe)"
                    ) from exc
                if attempt == 2:
                    raise errors.DatabaseUnavailable(
                        "The database connection was lost twice; nothing was changed, retry"
                    ) from exc
                log.warning("database connection lost (%s); checking the pool and retrying", exc)
                # The server rolled the transaction back, so running it again is safe; drop every
                # other dead connection first (a restart of the server kills them all at once).
                self._pool.check()
        raise AssertionError("unreachable")

    def _configure_pg(self, conn: Any) -> None:
        ms = round(self.statement_timeout * 1000)
        conn.execute("SELECT set_config('statement_timeout', %s, false)", [str(ms)])
        # No JIT: PostgreSQL compiles a statement it costs high for tens of milliseconds (78 ms
        # for a bounded count whose filter it could not estimate, at 1M), where every
        # statement of this service runs in milliseconds or is bounded by a LIMIT.
        conn.execute("SELECT set_config('jit', 'off', false)")
        conn.commit()

    def _sqlite_conn(self, *, loop: bool = False) -> _SQLite:
        # The event loop's connection never waits for a lock (see the module docstring); every
        # other thread's waits up to lock_timeout.
        name = "loop_conn" if loop else "conn"
        conn: _SQLite | None = getattr(self._local, name, None)
        if conn is None:
            assert self.url.sqlite_path is not None
            busy_ms = 0 if loop else round(self.lock_timeout * 1000)
            conn = sqlite3.connect(
                self.url.sqlite_path,
                isolation_level=None,
                check_same_thread=False,
                timeout=busy_ms / 1000,
                factory=_SQLite,
            )
            try:
                # Switching to WAL takes a lock, so only a database not in WAL yet is switched
                # (the loop's connection, which waits for no lock, met a writer there: a 500).
                if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                conn.close()
                if _sqlite_busy(exc):
                    raise _Busy from exc  # the loop: run this transaction in a thread instead
                raise
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={busy_ms}")
            # At a million customers the default 2 MB page cache missed on most index pages
            # and a bulk load spent its time in pread (98% of its syscalls); memory-mapped
            # reads skip the syscall for pages the OS already holds.
            conn.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            conn.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            conn.set_progress_handler(_deadline_check(conn), SQLITE_PROGRESS_OPS)
            setattr(self._local, name, conn)
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


def _deadline_check(conn: _SQLite) -> Callable[[], bool]:
    def past_deadline() -> bool:
        return time.monotonic() > conn.deadline

    return past_deadline


def _sqlite_busy(exc: sqlite3.OperationalError) -> bool:
    return exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _raise_translated(exc: Exception) -> NoReturn:
    """Re-raise a driver error, a unique-constraint violation as our own UniqueViolation."""
    violation = _unique_violation(exc)
    if violation is not None:
        raise violation from exc
    raise exc


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
