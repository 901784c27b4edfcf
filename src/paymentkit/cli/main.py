"""`paymentkit`: run the server (`serve`, `migrate`), manage API keys (`keys`).

serve, migrate, keys, import and export work on the database directly; every other command talks
to a running server through the SDK. Every failure is one `Error: …` line on stderr and exit
status 1 (click's usage errors keep theirs: 2).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from typing import TYPE_CHECKING, Any, Literal

import click

from paymentkit import __version__
from paymentkit.cli import bulk
from paymentkit.cli._database import CREATE, DATABASE_URL, one_line
from paymentkit.cli._database import on_database as _on_database
from paymentkit.cli._database import open_database as _open_database
from paymentkit.cli._database import url as _url
from paymentkit.cli._delivery_process import DeliveryProcess
from paymentkit.cli.resources import GROUPS
from paymentkit.cli.worker import worker

if TYPE_CHECKING:
    from paymentkit.server.db.engine import DatabaseURL


class _Main(click.Group):
    """The root group: whatever a command did not turn into an `Error:` line itself (a driver
    error, a full disk, a lock held too long) still ends as one line and exit status 1, never a
    traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            raise click.ClickException(one_line(exc)) from None


@click.group(cls=_Main)
@click.version_option(__version__, prog_name="paymentkit")
def main() -> None:
    """paymentkit: a self-hostable payments backend."""


for _group in GROUPS:  # customers, invoices, …, listen: through the SDK (cli/resources.py)
    main.add_command(_group)
main.add_command(bulk.import_group)  # import and export: on the database (cli/bulk.py)
main.add_command(bulk.export_group)
main.add_command(worker)  # webhook delivery alone (cli/worker.py)


@main.command()
@click.option("--host", envvar="PAYMENTKIT_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="PAYMENTKIT_PORT", default=8080, type=int, show_default=True)
@DATABASE_URL
@click.option("--workers", default=1, type=click.IntRange(1, 64), show_default=True)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    envvar="PAYMENTKIT_LOG_FORMAT",
    default="text",
    show_default=True,
    help="json: every log record as one JSON object per line, and one line per request "
    "(request id, method, route, status, duration, API key id) instead of the access log",
)
@click.option(
    "--app-sk-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="File holding the Blocklet app secret key (0x hex); enables component signatures, "
    "the authentication of @blocklet/payment-js [or env PAYMENTKIT_APP_SK]",
)
@click.option(
    "--deliver/--no-deliver",
    envvar="PAYMENTKIT_DELIVER",
    default=True,
    show_default=True,
    help="Send webhooks from a delivery process this server starts beside its --workers "
    "(`paymentkit worker`, restarted if it dies); --no-deliver leaves it to `paymentkit worker` "
    "processes elsewhere",
)
def serve(
    host: str,
    port: int,
    database_url: str | None,
    workers: int,
    access_log: bool,
    log_format: Literal["text", "json"],
    app_sk_file: str | None,
    deliver: bool,
) -> None:
    """Start the API server (applies pending migrations first)."""
    _check_port(host, port)  # before anything is printed, created or started
    import uvicorn

    from paymentkit.server.component_sig import load_app_key
    from paymentkit.server.config import app_sk_from_env
    from paymentkit.server.logs import log_config

    if app_sk_file is not None:
        os.environ["PAYMENTKIT_APP_SK_FILE"] = os.path.abspath(app_sk_file)
    app_sk = app_sk_from_env()
    if app_sk is not None:
        try:
            load_app_key(app_sk)
        except ValueError as exc:
            raise click.BadParameter(
                str(exc), param_hint="--app-sk-file / PAYMENTKIT_APP_SK"
            ) from None

    from paymentkit.server.config import Settings
    from paymentkit.server.db.engine import DatabaseURL
    from paymentkit.server.keys import service as keys
    from paymentkit.server.serving import uvicorn_options

    url = _url(database_url)
    try:  # the workers read the same variables; a bad one is one line here, not a crash there
        settings = Settings.from_env(database_url=url)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"paymentkit {__version__}", err=True)
    created = _on_database(
        url,
        lambda tx: None if keys.has_any(tx) else keys.create(tx, False, "default"),
        write=True,
        create=True,
    )
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    _secret_key_notice(DatabaseURL.parse(url))
    if created is not None:
        _, secret = created
        click.echo(
            "\nNo API key existed, so a test-mode key was created. It is shown only this once:\n\n"
            f"    {secret}\n\n"
            "Try it:\n\n"
            f"    curl -H 'Authorization: Bearer {secret}' {base}/api/customers\n",
            err=True,
        )
    if app_sk is not None:
        click.echo("Component signatures (@blocklet/payment-js) are accepted.", err=True)
    click.echo(f"API docs: {base}/docs", err=True)
    if not deliver:
        click.echo(
            "Webhooks are not delivered here (--no-deliver): run `paymentkit worker`.", err=True
        )
    os.environ["PAYMENTKIT_DATABASE_URL"] = url
    # The HTTP worker processes never deliver (Settings.deliver is off in from_env): with
    # --deliver (the default) a delivery process of its own does, beside them
    # (cli/_delivery_process.py says why).
    delivering = DeliveryProcess(url, log_format) if deliver else None
    if delivering is not None:
        delivering.start()
    try:
        uvicorn.run(
            "paymentkit.server.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=access_log and log_format == "text",
            log_config=log_config(log_format),
            log_level=os.environ.get("PAYMENTKIT_LOG_LEVEL", "info"),
            server_header=False,
            **uvicorn_options(settings),
        )
    finally:
        if delivering is not None:
            delivering.stop()


def _check_port(host: str, port: int) -> None:
    """Fail with one line when `serve` could not listen on host:port. Uvicorn would find out only
    after starting the application, and say so in several log lines."""
    # Bound as uvicorn binds (the family from the host, SO_REUSEADDR), so a port in TIME_WAIT
    # passes and one another process listens on does not.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(f"port {port} on {host} is in use") from None
        raise click.ClickException(
            f"cannot listen on port {port} on {host}: {exc.strerror or exc}"
        ) from None
    except OverflowError:  # a port beyond 65535
        raise click.ClickException(f"--port {port}: a port is 0 to 65535") from None


def _secret_key_notice(url: DatabaseURL) -> None:
    """Make sure a key for secret settings exists before workers start, and say where it lives."""
    from paymentkit.server.crypto import ENV, key_file_for, load_or_create_key

    if os.environ.get(ENV):
        return
    key_file = key_file_for(url.sqlite_path)
    existed = key_file.exists()
    load_or_create_key(key_file)
    if not existed:
        click.echo(
            f"Generated the key for secret settings: {key_file} (keep it with the data)", err=True
        )
    if url.dialect == "postgresql":
        click.echo(
            f"Note: {ENV} is not set; every worker and host must share the key in {key_file}.",
            err=True,
        )


@main.command()
@DATABASE_URL
def migrate(database_url: str | None) -> None:
    """Apply pending database migrations."""
    from paymentkit.server.db.migrate import current

    url = _open_database(database_url, create=True)
    click.echo(f"database at revision {current(url)}")


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--mode", type=click.Choice(["test", "live"]), required=True)
@click.option("--name", default=None, help="A label to recognise the key by.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the secret.")
@DATABASE_URL
@CREATE
def keys_create(
    mode: str, name: str | None, as_json: bool, database_url: str | None, create: bool
) -> None:
    """Create a key. Its secret is printed now and never again."""
    from paymentkit.server.keys import service

    info, secret = _on_database(
        database_url,
        lambda tx: service.create(tx, mode == "live", name),
        write=True,
        create=create,
        create_flag=True,
    )
    if as_json:
        click.echo(json.dumps({**info.as_dict(), "secret": secret}))
    else:
        click.echo(f"Created {info.mode} key {info.id}. Secret (shown only once):\n{secret}")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@DATABASE_URL
def keys_list(as_json: bool, database_url: str | None) -> None:
    """List keys (never their secrets)."""
    from rich.console import Console
    from rich.table import Table

    from paymentkit.server.keys import service

    infos = _on_database(database_url, service.list_keys)
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in infos]))
        return
    table = Table()
    for column in ("id", "mode", "name", "secret", "created", "revoked"):
        # Ids are copied into `keys revoke`: never shorten or wrap them, whatever the width.
        table.add_column(column, no_wrap=True, overflow="ignore")
    for i in infos:
        table.add_row(i.id, i.mode, i.name or "", i.hint, i.created_at, i.revoked_at or "")
    Console(width=200 if not sys.stdout.isatty() else None).print(table)


@keys.command("revoke")
@click.argument("key_id")
@DATABASE_URL
def keys_revoke(key_id: str, database_url: str | None) -> None:
    """Revoke a key; running servers stop accepting it within seconds. An unknown key, or one
    already revoked, is an error (exit status 1)."""
    from paymentkit.server.keys import service

    revoked = _on_database(database_url, lambda tx: service.revoke(tx, key_id), write=True)
    if revoked is None:
        raise click.ClickException(f"no such key: {key_id}")
    info, now = revoked
    if not now:
        raise click.ClickException(f"key {info.id} was already revoked at {info.revoked_at}")
    click.echo(f"Revoked {info.id} ({info.mode}).")
