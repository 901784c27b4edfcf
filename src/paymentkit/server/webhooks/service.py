"""Webhook endpoint rules that need the database: create with a sealed secret, update (disabling
settles the pending deliveries), delete, rotate the secret, list an endpoint's attempts."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UnsetType

from paymentkit.schemas.webhooks import (
    WebhookAttempt,
    WebhookAttemptList,
    WebhookEndpoint,
    WebhookEndpointList,
    WebhookEndpointWithSecret,
)
from paymentkit.server import errors, listing, validation
from paymentkit.server.crypto import SecretBox
from paymentkit.server.db import codec
from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.db.paging import ListRequest
from paymentkit.server.ids import iso_ms, new_id, now_ms
from paymentkit.server.resource import Resource
from paymentkit.server.webhooks import repository as repo
from paymentkit.server.webhooks import rules, signing
from paymentkit.webhooks import new_secret

# Every event written reads its mode's enabled endpoints (repository.subscribed): keep them few.
MAX_ENDPOINTS_PER_MODE = 100

_names = msgspec.json.Decoder(list[str])


def to_wire(row: Row) -> WebhookEndpoint:
    (
        id_,
        livemode,
        url,
        description,
        enabled_events,
        metadata,
        status,
        api_version,
        created_via,
        created,
        updated,
        _seq,
    ) = row
    return WebhookEndpoint(
        id=id_,
        livemode=bool(livemode),
        api_version=api_version,
        url=url,
        description=description,
        enabled_events=_names.decode(enabled_events),
        metadata=codec.object_of(metadata),
        status=status,
        created_via=created_via,
        created_at=iso_ms(created),
        updated_at=iso_ms(updated),
    )


RESOURCE = Resource("webhook endpoint", repo.records, to_wire, WebhookEndpointList)
retrieve = RESOURCE.retrieve


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(**msgspec.structs.asdict(endpoint), secret=secret)


def _seq(row: Row) -> int:
    return int(repo.records.value(row, "seq"))


def _touched(row: Row) -> int:
    return max(now_ms(), int(repo.records.value(row, "updated_at")))


def create(tx: Tx, box: SecretBox, livemode: bool, draft: rules.Draft) -> WebhookEndpointWithSecret:
    if repo.count(tx, livemode) >= MAX_ENDPOINTS_PER_MODE:
        raise errors.InvalidRequest(
            f"a mode may have at most {MAX_ENDPOINTS_PER_MODE} webhook endpoints; delete one"
            " first (one endpoint can take many event types)"
        )
    now = now_ms()
    endpoint_id = new_id("we")
    secret = new_secret()
    repo.insert(
        tx,
        {
            "id": endpoint_id,
            "livemode": livemode,
            "url": draft.url,
            "description": draft.description,
            "enabled_events": codec.to_text(draft.enabled_events),
            "metadata": codec.to_text(draft.metadata),
            "status": draft.status,
            "api_version": draft.api_version,
            "created_via": rules.CREATED_VIA,
            "secret_encrypted": signing.seal(box, secret),
            "created_at": now,
            "updated_at": now,
        },
    )
    return _with_secret(retrieve(tx, livemode, endpoint_id), secret)


def update(tx: Tx, livemode: bool, endpoint_id: str, changes: rules.Changes) -> WebhookEndpoint:
    """Partial update. Disabling settles the endpoint's pending deliveries as failed (in this
    transaction); enabling again, or a new url, starts its failure clock afresh."""
    row = RESOURCE.require(tx, livemode, endpoint_id, lock=True)
    fields: dict[str, Any] = {}
    for name, value in changes.fields.items():
        stored = repo.records.value(row, name)
        if name == "enabled_events":
            value = codec.to_text(value)
        if value != stored:
            fields[name] = value
    if not isinstance(changes.metadata, UnsetType):
        current = codec.object_of(repo.records.value(row, "metadata"))
        merged = validation.metadata(current, changes.metadata)
        if merged != current:
            fields["metadata"] = codec.to_text(merged)
    if not fields:
        return to_wire(row)
    now = _touched(row)
    status = fields.get("status")
    if status == "disabled":
        repo.drop_pending(tx, _seq(row), now)
    if status == "enabled" or "url" in fields:
        fields["failing_since"] = None
    fields["updated_at"] = now
    repo.update(tx, endpoint_id, fields)
    return retrieve(tx, livemode, endpoint_id)


def delete(tx: Tx, livemode: bool, endpoint_id: str) -> WebhookEndpoint:
    """The endpoint as it was; its pending deliveries leave their events' pending_webhooks, and
    its deliveries and attempts go with it."""
    row = RESOURCE.require(tx, livemode, endpoint_id, lock=True)
    repo.drop_pending(tx, _seq(row))
    repo.delete(tx, _seq(row))
    return to_wire(row)


def rotate_secret(
    tx: Tx, box: SecretBox, livemode: bool, endpoint_id: str
) -> WebhookEndpointWithSecret:
    row = RESOURCE.require(tx, livemode, endpoint_id, lock=True)
    sealed = repo.sealed_secrets(tx, _seq(row))
    if sealed is None:  # cannot happen under the row lock
        raise errors.NotFound(f"No such webhook endpoint: {endpoint_id}")
    now = _touched(row)
    secret, current, previous, expires = signing.rotated(box, sealed[0], now)
    repo.set_secrets(tx, _seq(row), current, previous, expires, now)
    return _with_secret(retrieve(tx, livemode, endpoint_id), secret)


def attempts(tx: Tx, livemode: bool, endpoint_id: str, request: ListRequest) -> WebhookAttemptList:
    row = RESOURCE.require(tx, livemode, endpoint_id)
    page = repo.attempts_page(tx, _seq(row), request)
    return listing.answer(
        WebhookAttemptList, request, page, lambda attempt: _attempt(attempt, endpoint_id)
    )


def attempts_of_events(
    tx: Tx, livemode: bool, event_ids: list[str], limit: int = 200
) -> dict[str, list[WebhookAttempt]]:
    """The newest attempts (at most `limit` in all) to deliver each of these events, newest
    first, by event id (a customer's timeline in the dashboard)."""
    out: dict[str, list[WebhookAttempt]] = {}
    for row in repo.attempts_of_events(tx, livemode, event_ids, limit):
        attempt = _attempt(row[:-1], str(row[-1]))
        out.setdefault(attempt.event_id, []).append(attempt)
    return out


def _attempt(row: Row, endpoint_id: str) -> WebhookAttempt:
    (
        id_,
        livemode,
        event_id,
        status,
        response_status,
        response_body,
        retry_count,
        duration_ms,
        error,
        created,
    ) = row
    return WebhookAttempt(
        id=id_,
        livemode=bool(livemode),
        event_id=event_id,
        webhook_endpoint_id=endpoint_id,
        status=status,
        response_status=None if response_status is None else int(response_status),
        response_body=response_body,
        retry_count=int(retry_count),
        duration_ms=int(duration_ms),
        error=error,
        created_at=iso_ms(int(created)),
    )
