"""What the commands that work on the database directly share (serve, migrate, keys, import,
export): the --database-url option, checking it, migrating, one transaction on it."""

from __future__ import annotations

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


def url(database_url: str | None) -> str:
    """The database URL to use (the option, the environment or the default), checked."""
    from paymentkit.server.db.engine import DatabaseURL, default_database_url

    chosen = database_url or default_database_url()
    try:
        DatabaseURL.parse(chosen)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--database-url") from None
    return chosen


def migrate(database_url: str) -> None:
    """Apply pending migrations; a failure is one line and exit status 1."""
    from paymentkit.server.db.migrate import upgrade

    try:
        upgrade(database_url)
    except Exception as exc:  # the driver's message is the useful part
        from paymentkit.server.db.engine import DatabaseURL

        raise click.ClickException(
            f"cannot migrate {DatabaseURL.parse(database_url).redacted()}: {exc}"
        ) from None


def on_database(database_url: str | None, work: Callable[[Tx], R], *, write: bool = False) -> R:
    """Migrate the database, run `work` in one transaction on it, and close it again."""
    from paymentkit.server.db.engine import Database

    chosen = url(database_url)
    migrate(chosen)
    db = Database(chosen)
    try:
        return db.run_sync(work, write=write)
    finally:
        db.close()
