"""What the commands that work on the database directly share (serve, migrate, keys, import,
export): the --database-url option, checking it, naming it on stderr, refusing to make a new
SQLite file unless asked, migrating, one transaction on it, and errors as one `Error:` line."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from paymentkit.server.db.engine import Tx

R = TypeVar("R")

DATABASE_URL = click.option(
    "--database-url",
    envvar="PAYMENTKIT_DATABASE_URL",
    default=None,
    help="sqlite:///PATH or postgresql://USER@HOST/DB "
    "[env PAYMENTKIT_DATABASE_URL; default sqlite:///paymentkit-data/paymentkit.db]",
)
CREATE = click.option(
    "--create",
    is_flag=True,
    help="Make the SQLite database when its file does not exist yet (else that is an error).",
)


def one_line(exc: BaseException) -> str:
    """An exception's message on one line: the driver's own error when SQLAlchemy wraps one,
    without its type (psycopg's connection errors span lines)."""
    inner = getattr(exc, "orig", None)
    if isinstance(inner, BaseException):
        exc = inner
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return text or type(exc).__name__


def url(database_url: str | None) -> str:
    """The database URL to use (the option, the environment or the default), checked."""
    from paymentkit.server.db.engine import DatabaseURL, default_database_url

    chosen = database_url or default_database_url()
    try:
        DatabaseURL.parse(chosen)
    except ValueError as exc:
        raise click.ClickException(f"--database-url: {exc}") from None
    return chosen


def shown(database_url: str) -> str:
    """The database as the CLI names it: a SQLite file by its absolute path, a PostgreSQL URL
    without its password."""
    from paymentkit.server.db.engine import DatabaseURL

    parsed = DatabaseURL.parse(database_url)
    if parsed.sqlite_path is not None:
        return f"sqlite:///{os.path.abspath(parsed.sqlite_path)}"
    return parsed.redacted()


def open_database(database_url: str | None, *, create: bool, create_flag: bool = False) -> str:
    """The checked URL of the database to work on, migrated, then named on stderr.

    A SQLite file that does not exist is an error unless `create` (serve, migrate, `--create`):
    a command run in the wrong folder must not quietly start an empty database there.
    `create_flag` says the command has `--create`, for the message.
    """
    from paymentkit.server.db.engine import DatabaseURL

    chosen = url(database_url)
    path = DatabaseURL.parse(chosen).sqlite_path
    if not create and path is not None and not path.exists():
        how = "`paymentkit migrate` or `paymentkit serve`"
        if create_flag:
            how += ", or add --create"
        raise click.ClickException(
            f"no database at {os.path.abspath(path)}; create one with {how}"
            " (or point --database-url / PAYMENTKIT_DATABASE_URL at yours)"
        )
    migrate(chosen)  # a database that cannot be opened fails here, in one line
    click.echo(f"database: {shown(chosen)}", err=True)
    return chosen


def migrate(database_url: str) -> None:
    """Apply pending migrations; a failure is one line and exit status 1."""
    from paymentkit.server.db.migrate import upgrade

    try:
        upgrade(database_url)
    except Exception as exc:  # the driver's message is the useful part
        raise click.ClickException(
            f"cannot migrate {shown(database_url)}: {one_line(exc)}"
        ) from None


def on_database(
    database_url: str | None,
    work: Callable[[Tx], R],
    *,
    write: bool = False,
    create: bool = False,
    create_flag: bool = False,
) -> R:
    """Open the database (`open_database`), run `work` in one transaction on it, close it."""
    from paymentkit.server.db.engine import Database

    chosen = open_database(database_url, create=create, create_flag=create_flag)
    db = Database(chosen)
    try:
        return db.run_sync(work, write=write)
    finally:
        db.close()
