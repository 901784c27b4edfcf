"""`paymentkit customers|invoices|subscriptions|payment-methods|payment-currencies …`: the API's
resources from the shell, through the SDK.

Every command takes `--api-key` and `--base-url` (or PAYMENTKIT_API_KEY and PAYMENTKIT_BASE_URL)
and prints a table, or with `--json` the API's own JSON. An API error is one line on stderr and
exit status 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

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
METHOD_TYPES = ("stripe", "arcblock", "ethereum", "bitcoin", "base")


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


def paging_options(f: F) -> F:
    """--page, --page-size and --all."""
    f = click.option(
        "--all", "all_pages", is_flag=True, help="Every page from --page on, fetched as needed."
    )(f)
    f = click.option(
        "--page-size", type=click.IntRange(1, 100), default=None, help="1–100 [default 20]"
    )(f)
    f = click.option("--page", type=click.IntRange(min=1), default=None, help="From 1.")(f)
    return f


def _pairs_option(
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


def _amount_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
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
        "--metadata", metavar="KEY=VALUE", multiple=True, callback=_pairs_option, help=help_text
    )


def _pairs(values: Sequence[tuple[str, str]]) -> dict[str, str] | None:
    return dict(values) if values else None


def _given(**values: Any) -> dict[str, Any]:
    """The options that were used (click gives None for the others)."""
    return {k: v for k, v in values.items() if v is not None}


# -- running and printing ---------------------------------------------------------------------


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def call(api_key: str | None, base_url: str | None, work: Callable[[PaymentKit], R]) -> R:
    """Run `work` with a client; an SDK error becomes one line on stderr and exit status 1.

    A test can hand its own `httpx.Client` in as the root context's `obj`.
    """
    if not api_key:
        _fail(f"no API key: pass --api-key or set {API_KEY_ENV}")
    obj = click.get_current_context().find_root().obj
    http_client = obj if isinstance(obj, httpx.Client) else None
    try:
        with PaymentKit(api_key, base_url, http_client=http_client) as pk:
            return work(pk)
    except ConfigurationError as exc:
        _fail(exc.message)
    except PaymentKitError as exc:
        _fail(str(exc))
    except ValueError as exc:  # an argument the SDK refuses before sending
        _fail(str(exc))


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


def show_page(page: Page[Any], columns: Sequence[str], as_json: bool, all_pages: bool) -> None:
    """A page (or with --all every page from it on) as a table or JSON."""
    if all_pages:
        items = [x.to_dict() for x in page.auto_paging_iter()]
        if as_json:
            _echo_json(items)
            return
        _console().print(_table(columns, items))
        click.echo(f"{len(items)} of {page.count}")
        return
    if as_json:
        _echo_json(page.to_dict())
        return
    rows = [x.to_dict() for x in page.data]
    _console().print(_table(columns, rows))
    pages = max(1, -(-page.count // page.page_size))
    more = " (--page N or --all for more)" if page.has_more else ""
    click.echo(f"page {page.page} of {pages}, {page.count} in all{more}")


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


# -- customers --------------------------------------------------------------------------------

CUSTOMER_COLUMNS = ("id", "name", "email", "did", "balance", "delinquent", "created_at")


def customer_fields(f: F) -> F:
    """The writable fields of a customer, as options (address fields one by one)."""
    for name, help_text in reversed(
        (
            ("--did", "DID (base58 starting with z; did:abt: prefix ok)"),
            ("--name", None),
            ("--email", None),
            ("--phone", "With the country code: +15551234567"),
            ("--description", None),
            ("--country", "Address: ISO 3166-1 alpha-2 code"),
            ("--state", "Address"),
            ("--city", "Address"),
            ("--line1", "Address"),
            ("--line2", "Address"),
            ("--postal-code", "Address"),
        )
    ):
        f = click.option(name, default=None, help=help_text)(f)
    return metadata_option('Repeatable; on update an empty VALUE ("KEY=") removes KEY.')(f)


def _customer_body(values: dict[str, Any]) -> dict[str, Any]:
    address = _given(
        **{k: values.pop(k) for k in ("country", "state", "city", "line1", "line2", "postal_code")}
    )
    body = _given(**values)
    if address:
        body["address"] = address
    metadata = _pairs(body.pop("metadata", ()))
    if metadata:
        body["metadata"] = metadata
    return body


@click.group()
def customers() -> None:
    """Customers: list, get, create, update, search, delete, overdue."""


@customers.command("list")
@paging_options
@click.option("--did", default=None, help="Only the customer with this DID.")
@click.option("--email", default=None, help="Case-insensitive exact email.")
@metadata_option("Only customers whose metadata KEY is VALUE; repeatable.")
@click.option("--order", default=None, help="FIELD:ASC|DESC; created_at, updated_at, name, email.")
@connection_options
def customers_list(
    page: int | None,
    page_size: int | None,
    all_pages: bool,
    did: str | None,
    email: str | None,
    metadata: tuple[tuple[str, str], ...],
    order: str | None,
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """List customers, newest first."""

    def work(pk: PaymentKit) -> None:
        result = pk.customers.list(
            page=page,
            page_size=page_size,
            did=did,
            email=email,
            metadata=_pairs(metadata),
            order=order,
        )
        show_page(result, CUSTOMER_COLUMNS, as_json, all_pages)

    call(api_key, base_url, work)


@customers.command("get")
@click.argument("id_or_did")
@click.option("--create", is_flag=True, help="Create the customer when the DID has none.")
@connection_options
def customers_get(
    id_or_did: str, create: bool, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Show a customer by id (cus_…) or DID."""
    call(
        api_key, base_url, lambda pk: show(pk.customers.retrieve(id_or_did, create=create), as_json)
    )


@customers.command("create")
@customer_fields
@connection_options
def customers_create(
    api_key: str | None, base_url: str | None, as_json: bool, **fields: Any
) -> None:
    """Create a customer."""
    body = _customer_body(fields)
    call(api_key, base_url, lambda pk: show(pk.customers.create(**body), as_json))


@customers.command("update")
@click.argument("customer_id")
@customer_fields
@connection_options
def customers_update(
    customer_id: str, api_key: str | None, base_url: str | None, as_json: bool, **fields: Any
) -> None:
    """Change the given fields of a customer; metadata and address merge key by key."""
    body = _customer_body(fields)
    if not body:
        raise click.UsageError("nothing to update: give at least one field option")
    call(api_key, base_url, lambda pk: show(pk.customers.update(customer_id, **body), as_json))


@customers.command("search")
@click.argument("query")
@paging_options
@connection_options
def customers_search(
    query: str,
    page: int | None,
    page_size: int | None,
    all_pages: bool,
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """Customers whose id, DID, name, email or phone contains QUERY (any case)."""

    def work(pk: PaymentKit) -> None:
        result = pk.customers.search(query, page=page, page_size=page_size)
        show_page(result, CUSTOMER_COLUMNS, as_json, all_pages)

    call(api_key, base_url, work)


@customers.command("delete")
@click.argument("customer_id")
@connection_options
def customers_delete(
    customer_id: str, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Delete a customer (refused while it has open or uncollectible invoices or live
    subscriptions)."""
    result = call(api_key, base_url, lambda pk: pk.customers.delete(customer_id))
    if as_json:
        _echo_json(result.to_dict())
    else:
        click.echo(f"Deleted {result.id}.")


@customers.command("overdue")
@click.argument("id_or_did")
@connection_options
def customers_overdue(
    id_or_did: str, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """A customer's uncollectible invoices and what is owed per currency."""
    call(
        api_key,
        base_url,
        lambda pk: show_overdue(pk.customers.overdue_invoices(id_or_did), as_json),
    )


# -- invoices ---------------------------------------------------------------------------------

INVOICE_COLUMNS = (
    "id",
    "customer_id",
    "status",
    "amount_due",
    "amount_remaining",
    "currency_id",
    "created_at",
)


@click.group()
def invoices() -> None:
    """Invoices: list, get, create, finalize, pay, mark-uncollectible, void."""


@invoices.command("list")
@paging_options
@click.option("--customer-id", default=None)
@click.option("--status", type=click.Choice(INVOICE_STATUSES), default=None)
@click.option("--currency-id", default=None)
@click.option("--subscription-id", default=None)
@click.option("--order", default=None, help="FIELD:ASC|DESC; created_at, updated_at, id.")
@connection_options
def invoices_list(
    page: int | None,
    page_size: int | None,
    all_pages: bool,
    customer_id: str | None,
    status: Any,
    currency_id: str | None,
    subscription_id: str | None,
    order: str | None,
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """List invoices, newest first."""

    def work(pk: PaymentKit) -> None:
        result = pk.invoices.list(
            page=page,
            page_size=page_size,
            customer_id=customer_id,
            status=status,
            currency_id=currency_id,
            subscription_id=subscription_id,
            order=order,
        )
        show_page(result, INVOICE_COLUMNS, as_json, all_pages)

    call(api_key, base_url, work)


@invoices.command("get")
@click.argument("invoice_id")
@connection_options
def invoices_get(invoice_id: str, api_key: str | None, base_url: str | None, as_json: bool) -> None:
    """Show an invoice."""
    call(api_key, base_url, lambda pk: show(pk.invoices.retrieve(invoice_id), as_json))


@invoices.command("create")
@click.option("--customer-id", required=True)
@click.option("--currency-id", required=True)
@click.option(
    "--amount-due", required=True, callback=_amount_option, help="In the smallest unit (cents)."
)
@click.option("--subscription-id", default=None)
@click.option("--description", default=None)
@click.option("--due-date", type=int, default=None, help="Unix seconds.")
@click.option("--period-start", type=int, default=None, help="Unix seconds.")
@click.option("--period-end", type=int, default=None, help="Unix seconds.")
@metadata_option("Repeatable.")
@connection_options
def invoices_create(
    metadata: tuple[tuple[str, str], ...],
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
    **fields: Any,
) -> None:
    """Create a draft invoice."""
    body = _given(**fields)
    if metadata:
        body["metadata"] = dict(metadata)
    call(api_key, base_url, lambda pk: show(pk.invoices.create(**body), as_json))


def _transition(name: str, action: str, doc: str) -> None:
    @invoices.command(name, help=doc)
    @click.argument("invoice_id")
    @connection_options
    def command(invoice_id: str, api_key: str | None, base_url: str | None, as_json: bool) -> None:
        call(api_key, base_url, lambda pk: show(getattr(pk.invoices, action)(invoice_id), as_json))


_transition("finalize", "finalize", "draft → open.")
_transition("mark-uncollectible", "mark_uncollectible", "open → uncollectible.")
_transition("void", "void", "open or uncollectible → void.")


@invoices.command("pay")
@click.argument("invoice_id")
@click.option(
    "--amount", default=None, callback=_amount_option, help="Part of what remains [default: all]."
)
@connection_options
def invoices_pay(
    invoice_id: str, amount: str | None, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Pay an open or uncollectible invoice, in full or in part."""
    call(api_key, base_url, lambda pk: show(pk.invoices.pay(invoice_id, amount=amount), as_json))


# -- subscriptions ----------------------------------------------------------------------------

SUBSCRIPTION_COLUMNS = ("id", "customer_id", "currency_id", "status", "created_at")


@click.group()
def subscriptions() -> None:
    """Subscriptions: list, get, create, cancel."""


@subscriptions.command("list")
@paging_options
@click.option("--customer-id", default=None)
@click.option("--status", type=click.Choice(SUBSCRIPTION_STATUSES), default=None)
@connection_options
def subscriptions_list(
    page: int | None,
    page_size: int | None,
    all_pages: bool,
    customer_id: str | None,
    status: Any,
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """List subscriptions, newest first."""

    def work(pk: PaymentKit) -> None:
        result = pk.subscriptions.list(
            page=page, page_size=page_size, customer_id=customer_id, status=status
        )
        show_page(result, SUBSCRIPTION_COLUMNS, as_json, all_pages)

    call(api_key, base_url, work)


@subscriptions.command("get")
@click.argument("subscription_id")
@connection_options
def subscriptions_get(
    subscription_id: str, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Show a subscription."""
    call(api_key, base_url, lambda pk: show(pk.subscriptions.retrieve(subscription_id), as_json))


@subscriptions.command("create")
@click.option("--customer-id", required=True)
@click.option("--currency-id", required=True)
@click.option("--status", type=click.Choice(SUBSCRIPTION_STATUSES), default=None)
@metadata_option("Repeatable.")
@connection_options
def subscriptions_create(
    metadata: tuple[tuple[str, str], ...],
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
    **fields: Any,
) -> None:
    """Create a subscription."""
    body = _given(**fields)
    if metadata:
        body["metadata"] = dict(metadata)
    call(api_key, base_url, lambda pk: show(pk.subscriptions.create(**body), as_json))


@subscriptions.command("cancel")
@click.argument("subscription_id")
@connection_options
def subscriptions_cancel(
    subscription_id: str, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Cancel a subscription now."""
    call(api_key, base_url, lambda pk: show(pk.subscriptions.cancel(subscription_id), as_json))


# -- payment methods and currencies -----------------------------------------------------------

METHOD_COLUMNS = ("id", "type", "name", "active", "settings", "created_at")
CURRENCY_COLUMNS = ("id", "symbol", "name", "decimal", "payment_method_id", "active")


@click.group("payment-methods")
def payment_methods() -> None:
    """Payment methods: list, get, create, update."""


@payment_methods.command("list")
@paging_options
@connection_options
def payment_methods_list(
    page: int | None,
    page_size: int | None,
    all_pages: bool,
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """List payment methods, newest first."""

    def work(pk: PaymentKit) -> None:
        result = pk.payment_methods.list(page=page, page_size=page_size)
        show_page(result, METHOD_COLUMNS, as_json, all_pages)

    call(api_key, base_url, work)


@payment_methods.command("get")
@click.argument("method_id")
@connection_options
def payment_methods_get(
    method_id: str, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Show a payment method (settings redacted)."""
    call(api_key, base_url, lambda pk: show(pk.payment_methods.retrieve(method_id), as_json))


def _method_fields(f: F) -> F:
    f = metadata_option("Repeatable.")(f)
    f = click.option(
        "--setting",
        "settings",
        metavar="KEY=VALUE",
        multiple=True,
        callback=_pairs_option,
        help="Secret setting; repeatable.",
    )(f)
    f = click.option("--active/--inactive", default=None)(f)
    return click.option("--description", default=None)(f)


def _method_body(fields: dict[str, Any]) -> dict[str, Any]:
    body = _given(**fields)
    for name in ("settings", "metadata"):
        pairs = body.pop(name, ())
        if pairs:
            body[name] = dict(pairs)
    return body


@payment_methods.command("create")
@click.option("--type", "type_", type=click.Choice(METHOD_TYPES), required=True)
@click.option("--name", required=True)
@_method_fields
@connection_options
def payment_methods_create(
    type_: Any, api_key: str | None, base_url: str | None, as_json: bool, **fields: Any
) -> None:
    """Create a payment method."""
    body = _method_body(fields)
    call(api_key, base_url, lambda pk: show(pk.payment_methods.create(type=type_, **body), as_json))


@payment_methods.command("update")
@click.argument("method_id")
@click.option("--name", default=None)
@_method_fields
@connection_options
def payment_methods_update(
    method_id: str, api_key: str | None, base_url: str | None, as_json: bool, **fields: Any
) -> None:
    """Change the given fields of a payment method; settings and metadata merge."""
    body = _method_body(fields)
    call(api_key, base_url, lambda pk: show(pk.payment_methods.update(method_id, **body), as_json))


@click.group("payment-currencies")
def payment_currencies() -> None:
    """Payment currencies: list, get, create, update."""


@payment_currencies.command("list")
@paging_options
@connection_options
def payment_currencies_list(
    page: int | None,
    page_size: int | None,
    all_pages: bool,
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """List payment currencies, newest first."""

    def work(pk: PaymentKit) -> None:
        result = pk.payment_currencies.list(page=page, page_size=page_size)
        show_page(result, CURRENCY_COLUMNS, as_json, all_pages)

    call(api_key, base_url, work)


@payment_currencies.command("get")
@click.argument("currency_id")
@connection_options
def payment_currencies_get(
    currency_id: str, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Show a payment currency."""
    call(api_key, base_url, lambda pk: show(pk.payment_currencies.retrieve(currency_id), as_json))


@payment_currencies.command("create")
@click.option("--payment-method-id", required=True)
@click.option("--name", required=True)
@click.option("--symbol", required=True)
@click.option("--decimal", type=click.IntRange(0, 18), required=True)
@click.option("--active/--inactive", default=None)
@metadata_option("Repeatable.")
@connection_options
def payment_currencies_create(
    metadata: tuple[tuple[str, str], ...],
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
    **fields: Any,
) -> None:
    """Create a currency of a payment method."""
    body = _given(**fields)
    if metadata:
        body["metadata"] = dict(metadata)
    call(api_key, base_url, lambda pk: show(pk.payment_currencies.create(**body), as_json))


@payment_currencies.command("update")
@click.argument("currency_id")
@click.option("--name", default=None)
@click.option("--symbol", default=None)
@click.option("--active/--inactive", default=None)
@metadata_option("Repeatable.")
@connection_options
def payment_currencies_update(
    currency_id: str,
    metadata: tuple[tuple[str, str], ...],
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
    **fields: Any,
) -> None:
    """Change the given fields of a payment currency."""
    body = _given(**fields)
    if metadata:
        body["metadata"] = dict(metadata)
    call(
        api_key,
        base_url,
        lambda pk: show(pk.payment_currencies.update(currency_id, **body), as_json),
    )


GROUPS: tuple[click.Group, ...] = (
    customers,
    invoices,
    subscriptions,
    payment_methods,
    payment_currencies,
)
