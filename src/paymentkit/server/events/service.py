"""The Events API's rules: reading events, the list's filters, resending, and pruning."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from paymentkit.schemas.events import Event, EventList, EventRequest
from paymentkit.server import errors, listing, params
from paymentkit.server.db import codec
from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.db.paging import ListRequest
from paymentkit.server.events import outbox
from paymentkit.server.events import repository as repo
from paymentkit.server.ids import MAX_UNIX_SECONDS, iso_ms, now_ms
from paymentkit.server.resource import Resource
from paymentkit.server.webhooks import repository as endpoints

TYPE_FILTER = re.compile(r"[a-z_.]{0,63}\*?")
PRUNE_BATCH = 1_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_wire(row: Row) -> Event:
    (
        _seq,
        id_,
        livemode,
        type_,
        api_version,
        object_type,
        object_id,
        data,
        request_id,
        idempotency_key,
        requested_by,
        pending,
        metadata,
        created,
        updated,
    ) = row
    return Event(
        id=id_,
        livemode=bool(livemode),
        type=type_,
        api_version=api_version,
        data=msgspec.Raw(data.encode()),
        object_type=object_type,
        object_id=object_id,
        request=EventRequest(
            id=request_id, idempotency_key=idempotency_key, requested_by=requested_by
        ),
        pending_webhooks=int(pending),
        metadata=codec.object_of(metadata),
        created_at=iso_ms(created),
        updated_at=iso_ms(updated),
    )


RESOURCE = Resource("event", repo.records, to_wire, EventList)
retrieve = RESOURCE.retrieve


@dataclass(frozen=True)
class EventFilters:
    """`type` (a name, or a prefix ending in `*`), `created[gte]`/`created[lte]` (ms)."""

    conditions: tuple[tuple[str, tuple[Any, ...]], ...]


def list_request(query: dict[str, Any]) -> tuple[ListRequest, EventFilters]:
    """The paging and filters of `GET /api/events` (object_id exact; type exact or a prefix)."""
    rest = dict(query)
    conditions: list[tuple[str, tuple[Any, ...]]] = []
    type_filter = params.string(rest, "type")
    rest.pop("type", None)
    if type_filter is not None:
        if not TYPE_FILTER.fullmatch(type_filter):
            raise errors.InvalidRequest(
                "type must be an event type, or a prefix ending in * such as invoice.*", "type"
            )
        if type_filter.endswith("*"):
            prefix = type_filter[:-1]
            if prefix:  # `*` alone is every type
                # an index range: every name that starts with the prefix
                conditions.append(("type >= ? AND type < ?", (prefix, prefix + "\x7f")))
        else:
            conditions.append(("type = ?", (type_filter,)))
    created = rest.pop("created", None)
    if created is not None:
        if not isinstance(created, dict):
            raise errors.InvalidRequest("created takes created[gte] and created[lte]", "created")
        for bound, value in created.items():
            if bound not in ("gte", "lte", "gt", "lt"):
                raise errors.UnknownParameter(
                    f"Unknown query parameter: created[{bound}]", f"created.{bound}"
                )
            op = {"gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}[bound]
            conditions.append((f"created_at {op} ?", (_instant(value, f"created.{bound}"),)))
    request = params.billing_list_request(rest, ("object_id",))
    return request, EventFilters(tuple(conditions))


def _instant(value: Any, param: str) -> int:
    """ISO-8601 or unix seconds, as milliseconds."""
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise errors.InvalidRequest(f"{param} must be ISO-8601 or unix seconds", param)
    text = value.strip()
    if text.isdigit():
        seconds = int(text)
        if seconds > MAX_UNIX_SECONDS:
            raise errors.InvalidRequest(f"{param} is beyond the year 9999", param)
        return seconds * 1000
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise errors.InvalidRequest(f"{param} must be ISO-8601 or unix seconds", param) from None
    if moment.tzinfo is None:
        raise errors.InvalidRequest(f"{param} needs a time zone (Z or +hh:mm)", param)
    # exact integer arithmetic: moment.timestamp() * 1000 is a float, 1 ms low for some values
    return (moment - EPOCH) // timedelta(milliseconds=1)


def list_events(tx: Tx, livemode: bool, request: ListRequest, filters: EventFilters) -> EventList:
    page = repo.page(tx, livemode, request, filters.conditions)
    return listing.answer(EventList, request, page, to_wire)


def list_for_objects(
    tx: Tx, livemode: bool, object_ids: list[str], request: ListRequest
) -> EventList:
    """The events of any of `object_ids` (a customer's timeline: the customer, its invoices and
    subscriptions), newest first; each id is one range of ix_events_object."""
    page = repo.page_of_objects(tx, livemode, request, object_ids)
    return listing.answer(EventList, request, page, to_wire)


def resend(tx: Tx, livemode: bool, event_id: str, endpoint_id: str | None) -> Event:
    """Queue the event again, with the same id: to one endpoint of the mode (enabled; it need
    not be subscribed to the type), or to every enabled endpoint subscribed to it."""
    queue_again(tx, livemode, event_id, endpoint_id)
    return retrieve(tx, livemode, event_id)


def queue_again(tx: Tx, livemode: bool, event_id: str, endpoint_id: str | None) -> int:
    """`resend`'s work; the number of deliveries it queued (0 when no endpoint takes it)."""
    row = RESOURCE.require(tx, livemode, event_id, lock=True)
    value = repo.records.value
    event_seq, object_id, event_type = (
        value(row, "seq"),
        value(row, "object_id"),
        value(row, "type"),
    )
    if endpoint_id is None:
        targets = endpoints.subscribed(tx, livemode, event_type)
    else:
        target = endpoints.enabled_seq(tx, livemode, endpoint_id)
        if target is None:
            raise errors.MissingReference(
                f"No such enabled webhook endpoint: {endpoint_id}", "webhook_endpoint_id"
            )
        targets = [target]
    outbox.queue(tx, event_seq, object_id, targets, now_ms())
    repo.add_pending(tx, event_seq, len(targets))
    return len(targets)


def prune(tx: Tx, retention_days: int) -> int:
    """Delete a batch of events older than the retention (with their deliveries and attempts)."""
    return repo.prune(tx, now_ms() - retention_days * 86_400_000, PRUNE_BATCH)
