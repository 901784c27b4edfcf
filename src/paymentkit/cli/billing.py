"""`paymentkit subscriptions|payment-methods|payment-currencies …`."""

from __future__ import annotations

from typing import Any

import click

from paymentkit.cli._common import (
    SUBSCRIPTION_STATUSES,
    F,
    call,
    connection_options,
    given,
    list_command,
    metadata_option,
    pairs_option,
    show,
)

# -- subscriptions ----------------------------------------------------------------------------

SUBSCRIPTION_COLUMNS = ("id", "customer_id", "currency_id", "status", "created_at")


@click.group()
def subscriptions() -> None:
    """Subscriptions: list, get, create, cancel."""


list_command(
    subscriptions,
    "list",
    "List subscriptions, newest first.",
    lambda pk: pk.subscriptions.list,
    SUBSCRIPTION_COLUMNS,
    click.option("--customer-id", default=None),
    click.option("--status", type=click.Choice(SUBSCRIPTION_STATUSES), default=None),
)


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
    body = given(**fields)
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


list_command(
    payment_methods,
    "list",
    "List payment methods, newest first.",
    lambda pk: pk.payment_methods.list,
    METHOD_COLUMNS,
)


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
        callback=pairs_option,
        help="Secret setting; repeatable.",
    )(f)
    f = click.option("--active/--inactive", default=None)(f)
    return click.option("--description", default=None)(f)


def _method_body(fields: dict[str, Any]) -> dict[str, Any]:
    body = given(**fields)
    for name in ("settings", "metadata"):
        pairs = body.pop(name, ())
        if pairs:
            body[name] = dict(pairs)
    return body


@payment_methods.command("create")
@click.option(
    "--type",
    "type_",
    required=True,
    help="stripe, arcblock, ethereum, bitcoin, base, or another lower-case identifier (card)",
)
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


list_command(
    payment_currencies,
    "list",
    "List payment currencies, newest first.",
    lambda pk: pk.payment_currencies.list,
    CURRENCY_COLUMNS,
)


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
    body = given(**fields)
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
    body = given(**fields)
    if metadata:
        body["metadata"] = dict(metadata)
    call(
        api_key,
        base_url,
        lambda pk: show(pk.payment_currencies.update(currency_id, **body), as_json),
    )
