"""`paymentkit invoices …`: list, get, create and the four transitions."""

from __future__ import annotations

from typing import Any

import click

from paymentkit.cli._common import (
    INVOICE_STATUSES,
    amount_option,
    call,
    connection_options,
    given,
    list_command,
    metadata_option,
    show,
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


list_command(
    invoices,
    "list",
    "List invoices, newest first.",
    lambda pk: pk.invoices.list,
    INVOICE_COLUMNS,
    click.option("--customer-id", default=None),
    click.option("--status", type=click.Choice(INVOICE_STATUSES), default=None),
    click.option("--currency-id", default=None),
    click.option("--subscription-id", default=None),
    click.option("--order", default=None, help="FIELD:ASC|DESC; created_at, updated_at, id."),
)


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
    "--amount-due", required=True, callback=amount_option, help="In the smallest unit (cents)."
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
    body = given(**fields)
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
    "--amount", default=None, callback=amount_option, help="Part of what remains [default: all]."
)
@connection_options
def invoices_pay(
    invoice_id: str, amount: str | None, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Pay an open or uncollectible invoice, in full or in part."""
    call(api_key, base_url, lambda pk: show(pk.invoices.pay(invoice_id, amount=amount), as_json))
