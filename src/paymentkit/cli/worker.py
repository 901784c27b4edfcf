"""`paymentkit worker`: webhook delivery alone, beside servers started with `serve --no-deliver`
(or as well as delivering servers: on PostgreSQL they share the work, on SQLite one delivers at
a time). SIGINT or SIGTERM stops it: no new claims, attempts in flight get a few seconds to
finish and be recorded, the rest are freed for the next worker; a second signal stops at once."""

from __future__ import annotations

import logging.config
import os
import signal
from typing import Literal

import click

from paymentkit.cli._database import DATABASE_URL
from paymentkit.cli._database import open_database as _open_database


@click.command()
@DATABASE_URL
@click.option(
    "--app-sk-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="File holding the Blocklet app secret key (0x hex): deliveries then also carry the "
    "component-signature headers @blocklet/sdk's verifySig checks [or env PAYMENTKIT_APP_SK]",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    envvar="PAYMENTKIT_LOG_FORMAT",
    default="text",
    show_default=True,
)
def worker(database_url: str | None, app_sk_file: str | None, log_format: str) -> None:
    """Deliver webhooks until stopped (Ctrl-C or SIGTERM), without serving the API."""
    import anyio

    from paymentkit.server.config import Settings
    from paymentkit.server.crypto import ENV, SecretBox, existing_key, key_file_for
    from paymentkit.server.db.engine import Database, DatabaseURL
    from paymentkit.server.delivery import worker as delivery
    from paymentkit.server.logs import log_config

    if app_sk_file is not None:
        os.environ["PAYMENTKIT_APP_SK_FILE"] = os.path.abspath(app_sk_file)
    url = _open_database(database_url, create=False)
    try:
        settings = Settings.from_env(database_url=url)
        options = delivery.options(settings)  # reads the app key: a bad one is one line here
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    key_file = key_file_for(DatabaseURL.parse(url).sqlite_path)
    key = existing_key(key_file)
    if key is None:
        # A new key could decrypt no endpoint's secret: the worker needs the servers' key.
        raise click.ClickException(
            f"no key for secret settings: set {ENV} to the servers' key, or run where "
            f"{key_file} is (serve writes it on its first start)"
        )
    fmt: Literal["text", "json"] = "json" if log_format == "json" else "text"
    logging.config.dictConfig(log_config(fmt))
    db = Database(url, statement_timeout=settings.statement_timeout)

    async def run() -> None:
        deliverer = delivery.Worker(db, SecretBox(key), options)
        async with anyio.create_task_group() as group:

            async def on_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        if not deliverer.stopping:
                            click.echo("Stopping: finishing the attempts in flight…", err=True)
                            deliverer.stop()
                        else:  # abandoned attempts are freed, and sent again by a worker
                            click.echo("Stopping at once.", err=True)
                            group.cancel_scope.cancel()

            group.start_soon(on_signals)
            click.echo("Delivering webhooks; Ctrl-C or SIGTERM stops.", err=True)
            await deliverer.run()
            group.cancel_scope.cancel()

    try:
        anyio.run(run)
    finally:
        db.close()
    click.echo("Stopped.", err=True)
