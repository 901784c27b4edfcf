"""`paymentkit customers …`: list, get, create, update, search, delete, overdue."""

from __future__ import annotations

from typing import Any

import click

from paymentkit.cli._common import (
    F,
    _echo_json,
    call,
    connection_options,
    given,
    list_command,
    metadata_option,
    pairs,
    show,
    show_overdue,
)

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
    address = given(
        **{k: values.pop(k) for k in ("country", "state", "city", "line1", "line2", "postal_code")}
    )
    body = given(**values)
    if address:
        body["address"] = address
    metadata = pairs(body.pop("metadata", ()))
    if metadata:
        body["metadata"] = metadata
    return body


@click.group()
def customers() -> None:
    """Customers: list, get, create, update, search, delete, overdue."""


list_command(
    customers,
    "list",
    "List customers, newest first.",
    lambda pk: pk.customers.list,
    CUSTOMER_COLUMNS,
    click.option("--did", default=None, help="Only the customer with this DID."),
    click.option("--email", default=None, help="Case-insensitive exact email."),
    metadata_option("Only customers whose metadata KEY is VALUE; repeatable."),
    click.option(
        "--order", default=None, help="FIELD:ASC|DESC; created_at, updated_at, name, email."
    ),
    convert={"metadata": pairs},
)


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


list_command(
    customers,
    "search",
    "Customers whose id, DID, name, email or phone contains QUERY (any case).",
    lambda pk: pk.customers.search,
    CUSTOMER_COLUMNS,
    arguments=("query",),
)


@customers.command("delete")
@click.argument("customer_id")
@connection_options
def customers_delete(
    customer_id: str, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Delete a customer (refused while it has invoices that are not paid or void, drafts
    included, or live subscriptions)."""
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
