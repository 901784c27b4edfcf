"""`paymentkit import customers FILE` and `paymentkit export customers`: on the database directly,
like `keys` (the use case is server/customers/bulk.py). Both apply pending migrations first and
are safe while `paymentkit serve` runs on the same database; neither makes a new SQLite database
unless `import --create` asks."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from paymentkit.cli._common import metadata_option
from paymentkit.cli._database import CREATE, DATABASE_URL, open_database

if TYPE_CHECKING:
    from rich.progress import Progress

    from paymentkit.server.customers.bulk import Format, Problem
    from paymentkit.server.customers.bulk import Progress as ImportProgress

SHOWN_FAILURES = 20  # failed rows printed on stderr; --errors FILE gets every row not imported
TIDYING = "Rows written; refreshing statistics and the search index …"
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}

MODE = click.option(
    "--mode", type=click.Choice(["test", "live"]), default="test", show_default=True
)
FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default=None,
    help="[default: from the file's extension (.jsonl, .ndjson, .csv); jsonl for -]",
)


def _format(fmt: str | None, path: str, param: str) -> Format:
    if fmt is None:
        fmt = "jsonl" if path == "-" else _EXTENSIONS.get(Path(path).suffix.lower())
        if fmt is None:
            raise click.ClickException(
                f"cannot tell the format of {path}; give {param} jsonl or {param} csv"
            )
    return "csv" if fmt == "csv" else "jsonl"


@contextmanager
def _progress_bar(total: int | None, what: str) -> Iterator[Progress | None]:
    """A rich progress bar on stderr when it is a terminal (rows, rows/s, ETA), else nothing."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn(what),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows · {task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True)) as bar:
        bar.add_task(what, total=total, rows=0, rate=0.0)
        yield bar


def _advance(bar: Progress | None, completed: int, rows: int, started: float) -> None:
    if bar is None:
        return
    rate = rows / max(time.perf_counter() - started, 1e-9)
    bar.update(bar.task_ids[0], completed=completed, rows=rows, rate=rate)


# -- import -----------------------------------------------------------------------------------


@click.group("import")
def import_group() -> None:
    """Load objects from a file straight into the database."""


@import_group.command("customers")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@FORMAT
@MODE
@click.option(
    "--errors",
    "errors_file",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default=None,
    help="Write every row not imported (failed or duplicate) to FILE as JSON Lines: "
    '{"line", "code", "param", "error"}.',
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary line.")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="Processes validating rows [default: one per CPU, none for small files; 0: none]",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(100, 100_000),
    default=20_000,
    show_default=True,
    help="Rows per transaction; smaller keeps a running server's writes waiting less.",
)
@DATABASE_URL
@CREATE
def import_customers(
    file: str,
    fmt: str | None,
    mode: str,
    errors_file: str | None,
    as_json: bool,
    workers: int | None,
    chunk_size: int,
    database_url: str | None,
    create: bool,
) -> None:
    """Import customers from a JSON Lines or CSV file (- reads standard input).

    Each row is validated exactly like POST /api/customers; a bad row is reported with its line,
    field and message and skipped, and a row whose DID a customer of the mode already has is a
    duplicate, skipped (so running the same file again adds only its rows without a DID). The
    read-only fields of an exported line (id, created_at, …) are ignored: imported customers get
    new ids and timestamps. Exit status 0 when no row failed; duplicates alone are not failures.
    """
    from paymentkit.server.customers import bulk
    from paymentkit.server.db.engine import Database

    chosen = _format(fmt, file, "--format")
    if file != "-":
        _readable(file)  # before the database is touched
    database = open_database(database_url, create=create, create_flag=True)
    total = None if file == "-" else _size(file)
    shown = 0
    more = 0

    with (
        _open_input(file) as source,
        _open_errors(errors_file) as errors_out,
        _progress_bar(total, "import") as bar,
    ):
        started = time.perf_counter()

        def problems(found: list[Problem]) -> None:
            nonlocal shown, more
            if errors_out is not None:
                errors_out.write("".join(json.dumps(p.as_dict()) + "\n" for p in found))
            for p in found:
                if p.duplicate:  # expected when a file is imported again: counted, not listed
                    continue
                if shown < SHOWN_FAILURES:
                    shown += 1
                    where = f" {p.param}:" if p.param else ""
                    line = f"line {p.line}: {p.code}{where} {p.error}"
                    if bar is not None:
                        bar.console.print(line, markup=False, highlight=False)
                    else:
                        click.echo(line, err=True)
                else:
                    more += 1

        def progress(at: ImportProgress) -> None:
            if at.tidying:  # seconds at a million rows, with the bar at its end: say why
                if bar is not None:
                    bar.console.print(TIDYING, highlight=False)
                return
            _advance(bar, at.bytes if total else at.lines, at.lines, started)

        db = Database(database)
        try:
            summary = bulk.import_customers(
                db,
                source,
                chosen,
                mode == "live",
                workers=workers,
                chunk_rows=chunk_size,
                on_problems=problems,
                on_progress=progress,
            )
        except bulk.ImportFileError as exc:
            raise click.ClickException(f"{file}: {exc}") from None
        finally:
            db.close()
    if more:
        hint = "" if errors_file else "; --errors FILE writes them all"
        click.echo(f"… and {more:,} more failed rows{hint}", err=True)
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
    else:
        click.echo(
            f"Imported {summary.imported:,} customers into {mode} mode"
            f" ({summary.duplicates:,} duplicates, {summary.failed:,} failed)"
            f" in {summary.seconds:.1f} s"
        )
    if summary.failed:
        sys.exit(1)


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _readable(path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None


@contextmanager
def _open_binary(path: str, mode: str, dash: IO[bytes], failure: str) -> Iterator[IO[bytes]]:
    """`path` opened in `mode` (`-` is `dash`); a file that cannot be opened is one Error:
    line, `failure` followed by the system's reason."""
    if path == "-":
        yield dash
        return
    try:
        file = open(path, mode)  # noqa: SIM115  (closed below)
    except OSError as exc:
        raise click.ClickException(f"{failure}: {exc.strerror}") from None
    with file:
        yield file


def _open_input(path: str) -> AbstractContextManager[IO[bytes]]:
    return _open_binary(path, "rb", sys.stdin.buffer, f"cannot read {path}")


def _open_errors(path: str | None) -> Any:
    if path is None:
        return nullcontext(None)
    if path == "-":
        return nullcontext(sys.stdout)
    try:
        return open(path, "w", encoding="utf-8")  # closed by the caller's with
    except OSError as exc:
        raise click.ClickException(f"--errors: cannot write {path}: {exc.strerror}") from None


# -- export -----------------------------------------------------------------------------------


@click.group("export")
def export_group() -> None:
    """Write objects from the database to a file."""


@export_group.command("customers")
@FORMAT
@MODE
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default="-",
    help="The file to write [default: standard output]",
)
@click.option("--did", default=None, help="Only the customer with this DID")
@click.option("--email", default=None, help="Only customers with this email (any case)")
@metadata_option("Only customers whose metadata KEY equals VALUE; repeatable.")
@DATABASE_URL
def export_customers(
    fmt: str | None,
    mode: str,
    output: str,
    did: str | None,
    email: str | None,
    metadata: tuple[tuple[str, str], ...],
    database_url: str | None,
) -> None:
    """Export the customers of a mode, newest first, as GET /api/customers/export answers:
    JSON Lines (each line a customer object) or CSV. `paymentkit import customers` reads the
    result back (with new ids)."""
    from paymentkit.server.customers import bulk, service
    from paymentkit.server.db.engine import Database

    chosen = _format(fmt, output, "--format")
    database = open_database(database_url, create=False)
    livemode = mode == "live"
    filters = service.list_filters(livemode, did, email, metadata)
    db = Database(database)
    try:
        total = bulk.count(db, livemode) if filters is not None and filters.none else None
        with _open_output(output) as out, _progress_bar(total, "export") as bar:
            started = time.perf_counter()
            written = 0
            if filters is None:  # a DID or email create would refuse: nothing matches
                out.write(bulk.header(chosen))
            else:
                for data, rows in bulk.export(db, filters, chosen):
                    out.write(data)
                    written += rows
                    _advance(bar, written, written, started)
            out.flush()
    finally:
        db.close()
    if output != "-" or sys.stderr.isatty():
        where = "" if output == "-" else f" to {output}"
        click.echo(
            f"Exported {written:,} customers{where} in {time.perf_counter() - started:.1f} s",
            err=True,
        )


def _open_output(path: str) -> AbstractContextManager[IO[bytes]]:
    return _open_binary(path, "wb", sys.stdout.buffer, f"--output: cannot write {path}")
