"""What every resource command shares: connection and paging options, running an SDK call with
errors as one line on stderr (exit 1), printing tables or the API's JSON, and `list_command`,
which makes a list or search command from its SDK method, columns and filter options."""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar, cast

import click
import httpx
from rich.console import Console
from rich.table import Table
from rich.text import Text

from paymentkit.sdk import (
    ConfigurationError,
    OverdueInvoices,
    Page,
    PaymentKit,
    PaymentKitError,
    PaymentKitObject,
)
from paymentkit.sdk._params import Paging as SDKPaging
from paymentkit.sdk._transport import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL

R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")
SUBSCRIPTION_STATUSES = (
    "active",
    "past_due",
    "paused",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "trialing",
)


# -- options shared by every command ----------------------------------------------------------


def connection_options(f: F) -> F:
    """--api-key, --base-url and --json."""
    f = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")(f)
    f = click.option(
        "--base-url",
        envvar=BASE_URL_ENV,
        default=None,
        help=f"The server [env {BASE_URL_ENV}; default {DEFAULT_BASE_URL}]",
    )(f)
    f = click.option(
        "--api-key",
        envvar=API_KEY_ENV,
        default=None,
        help=f"A secret key, sk_test_… or sk_live_… [env {API_KEY_ENV}]",
    )(f)
    return f


@dataclass(frozen=True)
class Paging:
    """The paging options of a list or search command (None: not given)."""

    page: int | None = None
    page_size: int | None = None
    starting_after: str | None = None
    ending_before: str | None = None
    limit: int | None = None
    all_pages: bool = False

    @property
    def params(self) -> SDKPaging:
        """The given options as the SDK's keyword arguments: `pk.customers.list(**p.params)`."""
        params = SDKPaging()
        if self.page is not None:
            params["page"] = self.page
        if self.page_size is not None:
            params["page_size"] = self.page_size
        if self.starting_after is not None:
            params["starting_after"] = self.starting_after
        if self.ending_before is not None:
            params["ending_before"] = self.ending_before
        if self.limit is not None:
            params["limit"] = self.limit
        return params


_PAGING_OPTIONS = (
    click.option("--page", type=click.IntRange(min=1), default=None, help="From 1."),
    click.option(
        "--page-size", type=click.IntRange(1, 100), default=None, help="1–100 [default 20]"
    ),
    click.option(
        "--starting-after", metavar="ID", default=None, help="The page after this object."
    ),
    click.option(
        "--ending-before", metavar="ID", default=None, help="The page before this object."
    ),
    click.option(
        "--limit",
        type=click.IntRange(1, 100),
        default=None,
        help="Objects per page with a cursor, 1–100 [default 20]",
    ),
    click.option(
        "--all",
        "all_pages",
        is_flag=True,
        help="Every page from the first one on, fetched as needed (backwards from "
        "--ending-before).",
    ),
)


def paging_options(f: F) -> F:
    """--page, --page-size, --starting-after, --ending-before, --limit and --all, given to the
    command as one argument, `paging: Paging`."""

    @functools.wraps(f)
    def command(*args: Any, **kwargs: Any) -> Any:
        fields = {field.name: kwargs.pop(field.name) for field in dataclasses.fields(Paging)}
        return f(*args, paging=Paging(**fields), **kwargs)

    for option in reversed(_PAGING_OPTIONS):
        command = option(command)
    return cast(F, command)


def pairs_option(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """KEY=VALUE, repeatable."""
    pairs = []
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", ctx, param)
        pairs.append((key, item))
    return tuple(pairs)


def amount_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An integer amount in the currency's smallest unit, any size (kept exact as text)."""
    if value is None:
        return None
    text = value.strip()
    if not text.isascii() or not text.lstrip("-").isdigit():
        raise click.BadParameter(
            f"{value!r} is not an integer amount in the smallest unit (cents, …)", ctx, param
        )
    return text


def metadata_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--metadata", metavar="KEY=VALUE", multiple=True, callback=pairs_option, help=help_text
    )


def pairs(values: Sequence[tuple[str, str]]) -> dict[str, str] | None:
    return dict(values) if values else None


def given(**values: Any) -> dict[str, Any]:
    """The options that were used (click gives None for the others)."""
    return {k: v for k, v in values.items() if v is not None}


# -- running and printing ---------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def call(api_key: str | None, base_url: str | None, work: Callable[[PaymentKit], R]) -> R:
    """Run `work` with a client; an SDK error becomes one line on stderr and exit status 1.

    A test can hand its own `httpx.Client` in as the root context's `obj`.
    """
    if not api_key:
        fail(f"no API key: pass --api-key or set {API_KEY_ENV}")
    obj = click.get_current_context().find_root().obj
    http_client = obj if isinstance(obj, httpx.Client) else None
    try:
        with PaymentKit(api_key, base_url, http_client=http_client) as pk:
            return work(pk)
    except ConfigurationError as exc:
        fail(exc.message)
    except PaymentKitError as exc:
        fail(str(exc))
    except ValueError as exc:  # an argument the SDK refuses before sending
        fail(str(exc))


def _console() -> Console:
    # Not a terminal (a pipe, a file): wide, so ids are never cut.
    return Console(width=200 if not sys.stdout.isatty() else None, highlight=False)


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _cell(value: Any) -> Text:
    if value is None:
        return Text("")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, dict | list):
        return Text(json.dumps(value, ensure_ascii=False) if value else "")
    return Text(str(value))


def _table(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Table:
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    table = Table()
    for i, column in enumerate(columns):
        if _is_id(column):
            # Ids get copied into the next command: never shorten or wrap them.
            widest = max([len(column), *(len(r[i]) for r in cells)])
            table.add_column(column, no_wrap=True, overflow="ignore", min_width=widest)
        else:
            table.add_column(column, overflow="fold")
    for r in cells:
        table.add_row(*r)
    return table


def _is_id(column: str) -> bool:
    return column == "id" or column.endswith("_id") or column == "did"


def show(obj: PaymentKitObject, as_json: bool) -> None:
    """One object: its JSON, or a field/value table."""
    wire = obj.to_dict()
    if as_json:
        _echo_json(wire)
        return
    table = Table(show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in wire.items():
        table.add_row(key, _cell(value))
    _console().print(table)


def show_page(page: Page[Any], columns: Sequence[str], as_json: bool, paging: Paging) -> None:
    """A page (or with --all every page from it on) as a table or JSON, and a footer line: where
    the page is, how many match, and how to get more."""
    count = str(page.count) if page.count_is_exact else f"more than {page.count:,}"
    if paging.all_pages:
        items = [x.to_dict() for x in page.auto_paging_iter()]
        if as_json:
            _echo_json(items)
            return
        _console().print(_table(columns, items))
        click.echo(f"{len(items)} of {count}")
        return
    if as_json:
        _echo_json(page.to_dict())
        return
    rows = [x.to_dict() for x in page.data]
    _console().print(_table(columns, rows))
    click.echo(_footer(page, paging, count))


def _footer(page: Page[Any], paging: Paging, count: str) -> str:
    if paging.ending_before is not None:
        first = getattr(page.data[0], "id", "ID") if page.data else "ID"
        more = f" (--ending-before {first} or --all for more)" if page.has_more else ""
        return f"{len(page.data)} before {paging.ending_before}, {count} in all{more}"
    if paging.starting_after is not None:
        last = getattr(page.data[-1], "id", "ID") if page.data else "ID"
        more = f" (--starting-after {last} or --all for more)" if page.has_more else ""
        return f"{len(page.data)} after {paging.starting_after}, {count} in all{more}"
    more = " (--page N or --all for more)" if page.has_more else ""
    if not page.count_is_exact:
        return f"page {page.page}, {count} in all{more}"
    pages = max(1, -(-page.count // page.page_size))
    return f"page {page.page} of {pages}, {count} in all{more}"


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def list_command(
    group: click.Group,
    name: str,
    doc: str,
    method: Callable[[PaymentKit], Callable[..., Page[Any]]],
    columns: Sequence[str],
    *filters: Decorator,
    arguments: Sequence[str] = (),
    convert: Mapping[str, Callable[[Any], Any]] | None = None,
) -> None:
    """Add `group name`, a list command: its `arguments`, the paging options, the `filters` (click
    options) and the connection options. It calls `method(pk)` with the arguments in order, the
    paging and every filter by name (through `convert[name]` where given), and shows the page."""

    def command(
        paging: Paging, api_key: str | None, base_url: str | None, as_json: bool, **options: Any
    ) -> None:
        args = [options.pop(argument) for argument in arguments]
        for key, to_sdk in (convert or {}).items():
            options[key] = to_sdk(options[key])
        call(
            api_key,
            base_url,
            lambda pk: show_page(
                method(pk)(*args, **paging.params, **options), columns, as_json, paging
            ),
        )

    decorated: Callable[..., Any] = connection_options(command)
    for option in reversed(filters):
        decorated = option(decorated)
    decorated = paging_options(decorated)
    for argument in reversed(arguments):
        decorated = click.argument(argument)(decorated)
    group.command(name, help=doc)(decorated)


def _human(amount: int, decimal: int, symbol: str) -> str:
    """An integer amount of the smallest unit as a decimal number, exactly (no float)."""
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**decimal)
    text = f"{whole}.{part:0{decimal}d}" if decimal else str(whole)
    return f"{sign}{text} {symbol}"


def show_overdue(result: OverdueInvoices, as_json: bool) -> None:
    if as_json:
        _echo_json(result.to_dict())
        return
    customer = result.customer
    console = _console()
    label = customer.name or customer.email or customer.did or ""
    click.echo(
        f"{customer.id} {label}".rstrip()
        + f": {len(result.invoices)} overdue invoice(s), {result.subscription_count} subscription(s)"
    )
    if not result.invoices:
        return
    console.print(
        _table(
            ("id", "status", "amount_due", "amount_paid", "amount_remaining", "currency_id"),
            (i.to_dict() for i in result.invoices),
        )
    )
    rows = [
        {
            "currency_id": currency_id,
            "amount": entry.amount,
            "owed": _human(entry.amount, entry.currency.decimal, entry.currency.symbol),
            "method": f"{entry.method.name} ({entry.method.type})",
        }
        for currency_id, entry in result.summary.items()
    ]
    console.print(_table(("currency_id", "amount", "owed", "method"), rows))
