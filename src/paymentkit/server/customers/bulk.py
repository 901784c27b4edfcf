"""Bulk import and export of customers: `paymentkit import customers`, `paymentkit export
customers` and `GET /api/customers/export` (their SQL is in bulk_repository.py).

Import. Every row goes through what `POST /api/customers` does to its body: decoding (one JSON
object, no NUL characters; for CSV, a row turned into that object first), `http.convert` into
`CustomerInput` and `service.prepare`. A row that fails is reported with its line, `param` and
message and skipped; the read-only fields an exported line carries (`id`, `object`, `livemode`,
`balance`, `delinquent`, `created_at`, `updated_at`) are dropped first, so an export imports as it
is, with new ids and timestamps. Rows are validated in batches by a pool of worker processes
(the email and phone rules cost about as much CPU as the database's work on a row) while this
process writes chunks, each chunk one transaction, so a running server's writes interleave with
the import. A DID that a live customer of the mode already has, in the database or from an
earlier row, makes the row a duplicate: the unique index decides, at insert time, so an import
racing the server never inserts a DID twice, and running the same file again adds nothing but
its rows without a DID. Rows are created in file order, a chunk at a time with the clock's
millisecond at that chunk (never earlier than the chunk before); seq orders the rows of one
millisecond, so newest first is the reverse file order.

Export. Newest first, in keyset batches of `EXPORT_BATCH` customers, each read in its own short
transaction and rendered before the next is read: memory does not grow with the export, and no
transaction stays open while a slow client reads. JSON Lines: each line the customer exactly as
`GET /api/customers/{id}` renders it. CSV: a header line, then `CSV_COLUMNS`; metadata is one
column holding the JSON object (collecting every metadata key for `metadata.KEY` columns would
mean reading everything before the first line, and keeps the values' types), and import reads
that column, `metadata.KEY` columns (values as strings) and `address.FIELD` columns.
"""

from __future__ import annotations

import csv
import functools
import io
import multiprocessing
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import chain, islice
from typing import IO, Any, Literal, NamedTuple

import msgspec

from paymentkit.schemas.customers import Customer, CustomerInput
from paymentkit.server import errors, http
from paymentkit.server.customers import bulk_repository as bulk_repo
from paymentkit.server.customers import repository as repo
from paymentkit.server.customers import rules, search_stats, service
from paymentkit.server.customers.bulk_repository import Position, Staged
from paymentkit.server.db.engine import Database, Tx
from paymentkit.server.ids import now_ms

Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")

CHUNK_ROWS = 20_000  # rows per import transaction (see README, "Import and export")
BATCH_LINES = 2_000  # lines per validation task sent to a worker
IN_PROCESS_MAX = 10_000  # inputs up to this many lines are validated in this process
EXPORT_BATCH = 1_000  # customers per export read

READ_ONLY_FIELDS = ("id", "object", "livemode", "balance", "delinquent", "created_at", "updated_at")
TEXT_FIELDS = ("did", "name", "email", "phone", "description")
CSV_COLUMNS = (
    "id",
    *TEXT_FIELDS,
    *(f"address.{name}" for name in rules.ADDRESS_FIELDS),
    "metadata",
    "balance",
    "delinquent",
    "livemode",
    "created_at",
    "updated_at",
)
_BOM = b"\xef\xbb\xbf"
_DUPLICATE = errors.ResourceExists.code


class ImportFileError(Exception):
    """The input cannot be read at all (not UTF-8, a CSV header naming unknown columns)."""


class Problem(NamedTuple):
    """A row that was not imported: the answer POST would have given, with the row's line."""

    line: int
    code: str  # invalid_request, unknown_parameter, payload_too_large or resource_exists
    param: str | None
    error: str

    @property
    def duplicate(self) -> bool:
        return self.code == _DUPLICATE

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "param": self.param, "error": self.error}


@dataclass
class Summary:
    imported: int = 0
    duplicates: int = 0
    failed: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Progress:
    """How far an import has got: lines read and written, and bytes of the input behind them;
    `tidying` once every row is written and the tidy-up after a large load has begun."""

    lines: int = 0
    bytes: int = 0
    imported: int = 0
    tidying: bool = False


# -- reading the input ------------------------------------------------------------------------


class Batch(NamedTuple):
    """Lines for one validation task: (line number, raw JSON line or CSV cells)."""

    livemode: bool
    header: tuple[str, ...] | None  # the CSV header; None for JSON Lines
    items: list[tuple[int, Any]]
    end: int  # bytes of the input read when the batch was cut


class _Position:
    """Bytes read so far from a binary stream (tell() where it works, a running sum otherwise)."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        try:
            source.tell()
            self.seekable = True
        except (OSError, ValueError):
            self.seekable = False

    def now(self, fallback: int) -> int:
        if self.seekable:
            try:
                return self.source.tell()
            except (OSError, ValueError):
                return fallback
        return fallback


def batches(source: IO[bytes], fmt: Format, livemode: bool) -> Iterator[Batch]:
    """The input cut into batches of `BATCH_LINES` rows; blank lines are skipped."""
    if fmt == "jsonl":
        return _jsonl_batches(source, livemode)
    return _csv_batches(source, livemode)


def _jsonl_batches(source: IO[bytes], livemode: bool) -> Iterator[Batch]:
    read = 0
    items: list[tuple[int, Any]] = []
    for number, raw in enumerate(source, 1):
        read += len(raw)
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if raw.isspace() or not raw:
            continue
        items.append((number, raw))
        if len(items) == BATCH_LINES:
            yield Batch(livemode, None, items, read)
            items = []
    if items:
        yield Batch(livemode, None, items, read)


def _csv_batches(source: IO[bytes], livemode: bool) -> Iterator[Batch]:
    position = _Position(source)
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        try:
            first = next(reader)
        except StopIteration:
            return
        header = tuple(name.strip() for name in first)
        csv_plan(header)  # refuse a header naming unknown columns before reading on
        items: list[tuple[int, Any]] = []
        while True:
            number = reader.line_num + 1
            try:
                cells: Any = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # e.g. a field over the csv module's limit: this row only
                cells = exc
            if not cells:
                continue
            items.append((number, cells))
            if len(items) == BATCH_LINES:
                yield Batch(livemode, header, items, position.now(0))
                items = []
        if items:
            yield Batch(livemode, header, items, position.now(0))
    except UnicodeDecodeError:
        raise ImportFileError(f"line {reader.line_num + 1}: the file is not UTF-8 text") from None
    finally:
        text.detach()  # the caller owns the stream


# -- validating rows (in worker processes) ----------------------------------------------------


class Validated(NamedTuple):
    staged: list[Staged]
    problems: list[Problem]
    lines: int
    end: int


_decoder = msgspec.json.Decoder()


def _jsonl_body(raw: bytes) -> dict[str, Any]:
    if len(raw) > http.MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"the line is larger than {http.MAX_BODY_BYTES} bytes")
    try:
        value = _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise errors.InvalidRequest(f"the line is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise errors.InvalidRequest("the line must be a JSON object")
    http.check_strings(value)
    for name in READ_ONLY_FIELDS:
        value.pop(name, None)
    return value


class CsvPlan(NamedTuple):
    """Where each column of a CSV header goes: (index, kind, name)."""

    width: int
    fields: tuple[tuple[int, str], ...]  # top-level text fields
    address: tuple[tuple[int, str], ...]
    metadata_keys: tuple[tuple[int, str], ...]
    metadata_json: int | None  # the `metadata` column


@functools.lru_cache(maxsize=8)
def csv_plan(header: tuple[str, ...]) -> CsvPlan:
    fields, address, keys = [], [], []
    metadata_json = None
    seen: set[str] = set()
    for index, name in enumerate(header):
        if name in seen:
            raise ImportFileError(f"line 1: the column {name!r} appears twice")
        seen.add(name)
        if name in TEXT_FIELDS:
            fields.append((index, name))
        elif name.startswith("address.") and name[len("address.") :] in rules.ADDRESS_FIELDS:
            address.append((index, name[len("address.") :]))
        elif name.startswith("metadata.") and len(name) > len("metadata."):
            keys.append((index, name[len("metadata.") :]))
        elif name == "metadata":
            metadata_json = index
        elif name not in READ_ONLY_FIELDS:
            raise ImportFileError(
                f"line 1: unknown column {name!r}; columns are {', '.join(TEXT_FIELDS)},"
                " address.FIELD, metadata (a JSON object) and metadata.KEY"
            )
    return CsvPlan(len(header), tuple(fields), tuple(address), tuple(keys), metadata_json)


def _csv_body(plan: CsvPlan, cells: list[str] | csv.Error) -> dict[str, Any]:
    """The POST body a CSV row stands for; an empty cell is a field not sent."""
    if isinstance(cells, csv.Error):
        raise errors.InvalidRequest(f"the row cannot be read as CSV: {cells}")
    if len(cells) != plan.width:
        raise errors.InvalidRequest(
            f"the row has {len(cells)} columns where the header has {plan.width}"
        )
    body: dict[str, Any] = {name: cells[i] for i, name in plan.fields if cells[i]}
    address = {name: cells[i] for i, name in plan.address if cells[i]}
    if address:
        body["address"] = address
    metadata: dict[str, Any] = {}
    if plan.metadata_json is not None and cells[plan.metadata_json].strip():
        try:
            decoded = _decoder.decode(cells[plan.metadata_json])
        except msgspec.DecodeError:
            decoded = ""
        if not isinstance(decoded, dict | None):
            raise errors.InvalidRequest("metadata must hold a JSON object", "metadata")
        metadata = decoded or {}
    metadata.update((key, cells[i]) for i, key in plan.metadata_keys if cells[i])
    if metadata:
        body["metadata"] = metadata
    http.check_strings(body)
    return body


def validate(batch: Batch) -> Validated:
    """Validate and prepare a batch of rows exactly as POST /api/customers would."""
    plan = None if batch.header is None else csv_plan(batch.header)
    staged: list[Staged] = []
    problems: list[Problem] = []
    for line, raw in batch.items:
        try:
            body = _jsonl_body(raw) if plan is None else _csv_body(plan, raw)
            new = service.prepare(batch.livemode, http.convert(body, CustomerInput), 0)
        except errors.APIError as exc:
            problems.append(Problem(line, exc.code, exc.param, exc.message))
            continue
        staged.append(
            Staged(
                line,
                new.id,
                new.did,
                new.name,
                new.email,
                new.phone,
                new.address,
                new.description,
                new.metadata,
                new.search_text,
                tuple(new.metadata_rows.items()),
            )
        )
    return Validated(staged, problems, len(batch.items), batch.end)


def _start_worker() -> None:
    """A worker's first step. It yields the CPU to the importing process, whose writes are the
    import's critical path (the workers run ahead of it and catch up while it waits for the
    disk). And it remembers email-validator's check of a domain: a pure function of the domain
    name, about 60% of validating an address, and domains repeat across customers (only the
    import's workers do this; the result of every check is still the library's)."""
    import importlib

    if hasattr(os, "nice"):
        os.nice(10)

    module = importlib.import_module("email_validator.validate_email")
    name = "validate_email_domain_name"
    check = getattr(module, name, None)
    if callable(check) and not hasattr(check, "cache_info"):
        setattr(module, name, functools.lru_cache(maxsize=4096)(check))


def _validated(
    source: Iterator[Batch], workers: int | None, chunk_rows: int
) -> Generator[Validated, None, None]:
    """Validated batches in input order: in this process for small inputs (or `workers=0`),
    otherwise by a pool of worker processes up to two chunks ahead of the writer, so they keep
    validating while a chunk is written (the database drivers release the GIL meanwhile)."""
    if workers == 0:
        yield from map(validate, source)
        return
    ahead = IN_PROCESS_MAX // BATCH_LINES
    head = list(islice(source, ahead + 1))
    if workers is None and len(head) <= ahead:
        yield from map(validate, head)
        return
    count = workers or os.cpu_count() or 1
    # spawn: the importing process may hold database connections and a pool's threads.
    pool = ProcessPoolExecutor(
        count, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker
    )
    pending: deque[Future[Validated]] = deque()
    ahead_batches = max(4 * count, 2 * -(-chunk_rows // BATCH_LINES))
    try:
        for batch in chain(head, source):
            pending.append(pool.submit(validate, batch))
            if len(pending) >= ahead_batches:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- writing ----------------------------------------------------------------------------------


class _Writer:
    """Collects validated rows and writes them a chunk per transaction."""

    def __init__(
        self,
        db: Database,
        livemode: bool,
        chunk_rows: int,
        on_problems: Callable[[list[Problem]], None] | None,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self.db = db
        self.livemode = livemode
        self.chunk_rows = chunk_rows
        self.on_problems = on_problems
        self.on_progress = on_progress
        self.summary = Summary()
        self.progress = Progress()
        self.rows: list[Staged] = []
        self.problems: list[Problem] = []
        self.lines = 0
        self.end = 0
        self.created_at = 0

    def add(self, validated: Validated) -> None:
        self.rows.extend(validated.staged)
        self.problems.extend(validated.problems)
        self.lines += validated.lines
        self.end = validated.end
        if self.lines >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        rows, failed = self.rows, self.problems
        self.created_at = max(now_ms(), self.created_at)
        inserted = (
            self.db.run_sync(
                functools.partial(
                    bulk_repo.insert_chunk,
                    livemode=self.livemode,
                    rows=rows,
                    created_at=self.created_at,
                ),
                write=True,
            )
            if rows
            else set()
        )
        duplicates = [
            Problem(r.line, _DUPLICATE, "did", f"A customer with did {r.did} already exists")
            for r in rows
            if r.id not in inserted
        ]
        self.summary.imported += len(inserted)
        self.summary.duplicates += len(duplicates)
        self.summary.failed += len(failed)
        self.progress.lines += self.lines
        self.progress.bytes = self.end
        self.progress.imported = self.summary.imported
        self.rows, self.problems, self.lines = [], [], 0
        if self.on_problems is not None and (failed or duplicates):
            self.on_problems(sorted(failed + duplicates, key=lambda p: p.line))
        if self.on_progress is not None:
            self.on_progress(self.progress)


def import_customers(
    db: Database,
    source: IO[bytes],
    fmt: Format,
    livemode: bool,
    *,
    workers: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    on_problems: Callable[[list[Problem]], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Summary:
    """Import every row of `source` into the mode; see the module docstring. `workers`: None
    picks by the input's size, 0 validates in this process (workers are spawned, so a script
    calling this needs the `if __name__ == "__main__":` guard). `on_problems` gets the rows not
    imported, in line order, a chunk at a time. Raises ImportFileError for unreadable input."""
    started = time.perf_counter()
    before = db.run_sync(lambda tx: _live_total(tx))
    db.run_sync(bulk_repo.prepare_connection)
    writer = _Writer(db, livemode, chunk_rows, on_problems, on_progress)
    validated = _validated(batches(source, fmt, livemode), workers, chunk_rows)
    try:
        for batch in validated:
            writer.add(batch)
    finally:
        validated.close()  # stops the worker processes now, even when a write failed
    writer.flush()
    grew = writer.summary.imported >= max(1_000, before // 10)
    if grew and on_progress is not None:
        writer.progress.tidying = True
        on_progress(writer.progress)
    _tidy(db, livemode, grew=grew)
    writer.summary.seconds = time.perf_counter() - started
    return writer.summary


def _live_total(tx: Tx) -> int:
    return repo.live_count(tx, False) + repo.live_count(tx, True)


def _tidy(db: Database, livemode: bool, *, grew: bool) -> None:
    """After an import that grew the tables by a tenth or more: fresh planner statistics (and on
    PostgreSQL the visibility map), the SQLite search index merged into one b-tree, then a new
    sample of the mode's search trigrams (also taken when stale after a smaller import).
    Statistics come first: planned with those of the empty table, PostgreSQL read the sample's
    12,500 random seqs by scanning the table (38 s at 1M, 0.1 s after ANALYZE)."""
    if grew and db.dialect == "postgresql":
        bulk_repo.vacuum_analyze(db.url)
    elif grew:
        db.run_sync(bulk_repo.analyze, write=True)
        _merge_search_index(db, livemode)
    sample = db.run_sync(lambda tx: service.search_sample(tx, livemode, force=grew))
    if sample is not None:
        db.run_sync(lambda tx: search_stats.store(tx, livemode, sample), write=True)


def _merge_search_index(db: Database, livemode: bool) -> None:
    """Merge the FTS5 index an import grew into one b-tree, a step per transaction so that a
    running server's writes wait a fraction of a second at most. The chunks left it in the
    segments of FTS5's incremental merging, which every search reads: at 1M, 40 steps took
    6.7 s (1.2 s the longest); an FTS5 AND of three trigrams went from 0.86 to 0.70 ms, the
    email-prefix search over HTTP from 2.39 to 2.23 ms, an exact email from 1.25 to 1.05 ms.
    Bounded by twice the index's pages, in case a server's writes keep adding segments."""
    pages = db.run_sync(lambda tx: bulk_repo.search_index_pages(tx, livemode))
    for _ in range(2 * pages // bulk_repo.MERGE_PAGES + 2):
        if not db.run_sync(lambda tx: bulk_repo.merge_search_index(tx, livemode), write=True):
            return


# -- export -----------------------------------------------------------------------------------

_encoder = msgspec.json.Encoder()


def parse_format(value: str) -> Format | None:
    """`jsonl` or `csv` as a Format; None for anything else."""
    return "jsonl" if value == "jsonl" else "csv" if value == "csv" else None


def media_type(fmt: Format) -> str:
    return "application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8"


def header(fmt: Format) -> bytes:
    return _csv_lines([CSV_COLUMNS]) if fmt == "csv" else b""


def render(records: list[repo.CustomerRecord], fmt: Format) -> bytes:
    customers = [service.to_wire(r) for r in records]
    if fmt == "jsonl":
        return _encoder.encode_lines(customers)
    return _csv_lines(_csv_row(c) for c in customers)


def _csv_lines(rows: Iterable[Iterable[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def _csv_row(c: Customer) -> list[str]:
    address = [
        "" if c.address is None else getattr(c.address, name) or "" for name in rules.ADDRESS_FIELDS
    ]
    return [
        c.id,
        *(getattr(c, name) or "" for name in TEXT_FIELDS),
        *address,
        _encoder.encode(c.metadata).decode(),
        c.balance,
        "true" if c.delinquent else "false",
        "true" if c.livemode else "false",
        c.created_at,
        c.updated_at,
    ]


def _reader(
    filters: repo.Filters, after: Position | None
) -> Callable[[Tx], list[repo.CustomerRecord]]:
    return lambda tx: bulk_repo.export_batch(tx, filters, after, EXPORT_BATCH)


def _next(records: list[repo.CustomerRecord]) -> Position | None:
    """Where the next batch starts, None when this one was the last."""
    if len(records) < EXPORT_BATCH:
        return None
    return records[-1].created_at, records[-1].seq


async def stream(db: Database, filters: repo.Filters | None, fmt: Format) -> AsyncIterator[bytes]:
    """The export as chunks of bytes, a batch per chunk; `filters` None matches nothing."""
    if fmt == "csv":
        yield header(fmt)
    if filters is None:
        return
    after: Position | None = None
    while True:
        records = await db.transaction(_reader(filters, after))
        if records:
            yield render(records, fmt)
        after = _next(records)
        if after is None:
            return


def export(db: Database, filters: repo.Filters, fmt: Format) -> Iterator[tuple[bytes, int]]:
    """The export for the CLI, synchronously: (bytes, customers in them) per batch."""
    if fmt == "csv":
        yield header(fmt), 0
    after: Position | None = None
    while True:
        records = db.run_sync(_reader(filters, after))
        if records:
            yield render(records, fmt), len(records)
        after = _next(records)
        if after is None:
            return


def count(db: Database, livemode: bool) -> int:
    """Live customers of the mode (an unfiltered export's size, for a progress bar)."""
    return db.run_sync(lambda tx: repo.live_count(tx, livemode))
