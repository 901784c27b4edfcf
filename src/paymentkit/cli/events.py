"""`paymentkit events …` (list, get, resend) and `paymentkit webhook-endpoints …` (create, list,
get, update, delete, rotate-secret, attempts)."""

from __future__ import annotations

from collections.abc import Callable
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
    show,
)
from paymentkit.sdk import WebhookEndpoint

# -- events -----------------------------------------------------------------------------------

EVENT_COLUMNS = ("id", "type", "object_id", "pending_webhooks", "created_at")


@click.group()
def events() -> None:
    """Events: list, get, resend."""


list_command(
    events,
    "list",
    "List events, newest first.",
    lambda pk: pk.events.list,
    EVENT_COLUMNS,
    click.option(
        "--type", default=None, help="A type (invoice.paid) or a prefix ending in * (invoice.*)."
    ),
    click.option("--object-id", default=None, help="Only the events of this object."),
    click.option(
        "--created-gte",
        metavar="TIME",
        default=None,
        help="Created at or after: ISO-8601 or unix seconds.",
    ),
    click.option(
        "--created-lte",
        metavar="TIME",
        default=None,
        help="Created at or before: ISO-8601 or unix seconds.",
    ),
    click.option("--order", default=None, help="created_at:ASC for oldest first."),
)


@events.command("get")
@click.argument("event_id")
@connection_options
def events_get(event_id: str, api_key: str | None, base_url: str | None, as_json: bool) -> None:
    """Show an event (its data.object is the object after the change)."""
    call(api_key, base_url, lambda pk: show(pk.events.retrieve(event_id), as_json))


@events.command("resend")
@click.argument("event_id")
@click.option(
    "--webhook-endpoint-id",
    metavar="ID",
    default=None,
    help="Only to this endpoint [default: every enabled endpoint subscribed to the type].",
)
@connection_options
def events_resend(
    event_id: str,
    webhook_endpoint_id: str | None,
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """Deliver an event again (same webhook-id, so receivers can tell it is a repeat)."""
    result = call(
        api_key,
        base_url,
        lambda pk: pk.events.resend(event_id, webhook_endpoint_id=webhook_endpoint_id),
    )
    if as_json:
        _echo_json(result.to_dict())
        return
    where = webhook_endpoint_id or "every subscribed endpoint"
    click.echo(f"Resending {result.id} ({result.type}) to {where}.")


# -- webhook endpoints ------------------------------------------------------------------------

ENDPOINT_STATUSES = ("enabled", "disabled")
ENDPOINT_COLUMNS = ("id", "url", "status", "enabled_events", "description", "created_at")
ATTEMPT_COLUMNS = (
    "id",
    "event_id",
    "status",
    "response_status",
    "retry_count",
    "error",
    "created_at",
)


def event_types(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[str] | None:
    """Event types, comma-separated and/or repeated: `--events invoice.paid,customer.created`."""
    names = [name.strip() for value in values for name in value.split(",")]
    if any(not name for name in names):
        raise click.BadParameter("an empty event type (a stray comma?)", ctx, param)
    return names or None


def _events_option(required: bool) -> Callable[[F], F]:
    return click.option(
        "--events",
        "--enabled-events",
        "enabled_events",
        metavar="TYPES",
        multiple=True,
        required=required,
        callback=event_types,
        help="Event types, comma-separated or repeated (invoice.paid,customer.created), or '*'.",
    )


def _endpoint_fields(f: F) -> F:
    f = metadata_option('Repeatable; on update an empty VALUE ("KEY=") removes KEY.')(f)
    f = click.option("--api-version", default=None)(f)
    f = click.option("--status", type=click.Choice(ENDPOINT_STATUSES), default=None)(f)
    return click.option("--description", default=None)(f)


def _endpoint_body(fields: dict[str, Any]) -> dict[str, Any]:
    body = given(**fields)
    metadata = body.pop("metadata", ())
    if metadata:
        body["metadata"] = dict(metadata)
    return body


def _show_with_secret(endpoint: WebhookEndpoint, as_json: bool, what: str) -> None:
    """The endpoint, then its secret set apart, since this is the one time it is shown."""
    if as_json:
        _echo_json(endpoint.to_dict())
        return
    secret = endpoint.secret
    endpoint.secret = None
    show(endpoint, as_json=False)
    if secret is None:  # a server that did not send it
        click.echo(f"\nThe server sent no signing secret for {endpoint.id}.")
        return
    click.echo(
        f"\n{what} signing secret of {endpoint.id} (shown only this once; give it to the "
        f"receiver's paymentkit.webhooks.verify):\n\n    {secret}\n"
    )


@click.group("webhook-endpoints")
def webhook_endpoints() -> None:
    """Webhook endpoints: create, list, get, update, delete, rotate-secret, attempts."""


@webhook_endpoints.command("create")
@click.option("--url", required=True, help="Where events are POSTed (http or https).")
@_events_option(required=True)
@_endpoint_fields
@connection_options
def webhook_endpoints_create(
    url: str,
    enabled_events: list[str],
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
    **fields: Any,
) -> None:
    """Create an endpoint; prints its signing secret, the only time it is shown."""
    body = _endpoint_body(fields)
    made = call(
        api_key,
        base_url,
        lambda pk: pk.webhook_endpoints.create(url=url, enabled_events=enabled_events, **body),
    )
    _show_with_secret(made, as_json, "The")


list_command(
    webhook_endpoints,
    "list",
    "List endpoints, newest first (never their secrets).",
    lambda pk: pk.webhook_endpoints.list,
    ENDPOINT_COLUMNS,
    click.option("--status", type=click.Choice(ENDPOINT_STATUSES), default=None),
)


@webhook_endpoints.command("get")
@click.argument("endpoint_id")
@connection_options
def webhook_endpoints_get(
    endpoint_id: str, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Show an endpoint (without its secret)."""
    call(api_key, base_url, lambda pk: show(pk.webhook_endpoints.retrieve(endpoint_id), as_json))


@webhook_endpoints.command("update")
@click.argument("endpoint_id")
@click.option("--url", default=None)
@_events_option(required=False)
@_endpoint_fields
@connection_options
def webhook_endpoints_update(
    endpoint_id: str, api_key: str | None, base_url: str | None, as_json: bool, **fields: Any
) -> None:
    """Change the given fields of an endpoint; --events replaces the list, metadata merges."""
    body = _endpoint_body(fields)
    if not body:
        raise click.UsageError("nothing to update: give at least one field option")
    call(
        api_key,
        base_url,
        lambda pk: show(pk.webhook_endpoints.update(endpoint_id, **body), as_json),
    )


@webhook_endpoints.command("delete")
@click.argument("endpoint_id")
@connection_options
def webhook_endpoints_delete(
    endpoint_id: str, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Delete an endpoint: nothing more is delivered to it."""
    result = call(api_key, base_url, lambda pk: pk.webhook_endpoints.delete(endpoint_id))
    if as_json:
        _echo_json(result.to_dict())
    else:
        click.echo(f"Deleted {result.id}.")


@webhook_endpoints.command("rotate-secret")
@click.argument("endpoint_id")
@connection_options
def webhook_endpoints_rotate_secret(
    endpoint_id: str, api_key: str | None, base_url: str | None, as_json: bool
) -> None:
    """Give an endpoint a new signing secret; for 24 hours deliveries are signed with both."""
    rotated = call(api_key, base_url, lambda pk: pk.webhook_endpoints.rotate_secret(endpoint_id))
    _show_with_secret(rotated, as_json, "The new")
    if not as_json:
        click.echo("The old secret keeps signing beside the new one for 24 hours.")


list_command(
    webhook_endpoints,
    "attempts",
    "List an endpoint's delivery attempts, newest first.",
    lambda pk: pk.webhook_endpoints.attempts,
    ATTEMPT_COLUMNS,
    click.option("--event-id", default=None, help="Only the attempts of this event."),
    click.option("--status", type=click.Choice(["succeeded", "failed"]), default=None),
    click.option("--order", default=None, help="created_at:ASC for oldest first."),
    arguments=("endpoint_id",),
)
