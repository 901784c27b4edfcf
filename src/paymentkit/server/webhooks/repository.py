"""All SQL on webhook_endpoints and webhook_attempts, and the settling of an endpoint's pending
deliveries when it stops taking them."""

from __future__ import annotations

import codecs
from collections import Counter
from typing import Any

import msgspec

from paymentkit.server import errors
from paymentkit.server.db import paging
from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.db.records import Records
from paymentkit.server.events import types
from paymentkit.server.ids import new_id, now_ms

_names = msgspec.json.Decoder(list[str])

records = Records(
    "webhook_endpoints",
    (
        "id",
        "livemode",
        "url",
        "description",
        "enabled_events",
        "metadata",
        "status",
        "api_version",
        "created_via",
        "created_at",
        "updated_at",
        "seq",
    ),
)
get, insert, update, page = records.get, records.insert, records.update, records.page

RESPONSE_BODY_MAX = 2048  # bytes of an answer an attempt keeps (UTF-8, cut at a character)
ERROR_MAX = 1000  # characters of an attempt's error text


def subscribed(tx: Tx, livemode: bool, event_type: str) -> list[int]:
    """The seqs of the enabled endpoints of this mode that take `event_type`, oldest first.
    Endpoints are few (a handful per mode), so the subscription test runs here, not in SQL."""
    rows = tx.all(
        "SELECT seq, enabled_events FROM webhook_endpoints"
        " WHERE livemode = ? AND status = 'enabled' ORDER BY seq",
        (livemode,),
    )
    return [int(seq) for seq, names in rows if types.subscribed(_names.decode(names), event_type)]


def enabled_seq(tx: Tx, livemode: bool, endpoint_id: str) -> int | None:
    """The seq of this mode's endpoint with this id while it is enabled."""
    seq = tx.scalar(
        "SELECT seq FROM webhook_endpoints WHERE id = ? AND livemode = ? AND status = 'enabled'",
        (endpoint_id, livemode),
    )
    return None if seq is None else int(seq)


def count(tx: Tx, livemode: bool) -> int:
    return int(tx.scalar("SELECT count(*) FROM webhook_endpoints WHERE livemode = ?", (livemode,)))


def sealed_secrets(tx: Tx, endpoint_seq: int) -> tuple[str, str | None, int | None] | None:
    """(secret_encrypted, previous_secret_encrypted, previous_secret_expires_at) of an endpoint."""
    row = tx.one(
        "SELECT secret_encrypted, previous_secret_encrypted, previous_secret_expires_at"
        " FROM webhook_endpoints WHERE seq = ?",
        (endpoint_seq,),
    )
    if row is None:
        return None
    current, previous, expires = row
    return str(current), None if previous is None else str(previous), _int(expires)


def set_secrets(
    tx: Tx, endpoint_seq: int, current: str, previous: str | None, expires: int | None, now: int
) -> None:
    tx.execute(
        "UPDATE webhook_endpoints SET secret_encrypted = ?, previous_secret_encrypted = ?,"
        " previous_secret_expires_at = ?, updated_at = ? WHERE seq = ?",
        (current, previous, expires, now, endpoint_seq),
    )


def delete(tx: Tx, endpoint_seq: int) -> None:
    """The endpoint, and with it (ON DELETE CASCADE) its deliveries and their attempts."""
    tx.execute("DELETE FROM webhook_endpoints WHERE seq = ?", (endpoint_seq,))


def drop_pending(tx: Tx, endpoint_seq: int, now: int | None = None) -> int:
    """Settle every pending delivery of the endpoint as `failed` (it no longer takes them: it
    was disabled or is being deleted) and take each off its event's `pending_webhooks`, in the
    caller's transaction; how many there were. A delivery being sent right now loses its lease
    here, so the sender's result (recorded only while the lease is its own) changes nothing.
    Re-enabling the endpoint does not bring them back (resend does)."""
    when = now if now is not None else now_ms()
    # The deliveries first: their row locks (PostgreSQL) make a sender that is settling one of
    # them at the same time either finish first (then the row is no longer pending here) or
    # wait, so each delivery leaves pending_webhooks once.
    settled = tx.all(
        "UPDATE webhook_deliveries SET status = 'failed', lease_owner = NULL, lease_until = NULL,"
        " updated_at = ? WHERE endpoint_seq = ? AND status = 'pending' RETURNING event_seq",
        (when, endpoint_seq),
    )
    per_event = Counter(int(event_seq) for (event_seq,) in settled)
    if per_event:
        tx.executemany(
            "UPDATE events SET pending_webhooks = pending_webhooks - ? WHERE seq = ?",
            [(n, event_seq) for event_seq, n in sorted(per_event.items())],
        )
    return len(settled)


# -- attempts ---------------------------------------------------------------------------------

ATTEMPT_COLUMNS = (
    "id",
    "livemode",
    "event_id",
    "status",
    "response_status",
    "response_body",
    "retry_count",
    "duration_ms",
    "error",
    "created_at",
)
_ATTEMPT_SELECT = ", ".join(ATTEMPT_COLUMNS)
ATTEMPT_SORTABLE = {"id": "seq", "created_at": "created_at"}


def record_attempt(
    tx: Tx,
    *,
    delivery_seq: int,
    status: str,
    response_status: int | None,
    response_body: bytes | str | None,
    duration_ms: int,
    error: str | None,
    retry_count: int,
    created_at: int,
) -> str | None:
    """Store one attempt of a delivery; its `wat_…` id, or None when the delivery no longer
    exists (its endpoint was deleted meanwhile). The mode, endpoint and event come from the
    delivery row. `status` is succeeded or failed; the body keeps its first RESPONSE_BODY_MAX
    bytes and the error its first ERROR_MAX characters, both NUL-free."""
    attempt_id = new_id("wat")
    inserted = tx.execute(
        "INSERT INTO webhook_attempts (id, livemode, delivery_seq, endpoint_seq, event_id, status,"
        " response_status, response_body, duration_ms, error, retry_count, created_at)"
        " SELECT ?, e.livemode, d.seq, d.endpoint_seq, e.id, ?, ?, ?, ?, ?, ?, ?"
        " FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq WHERE d.seq = ?",
        (
            attempt_id,
            status,
            response_status,
            _kept_body(response_body),
            max(0, int(duration_ms)),
            None if error is None else _clean(error[:ERROR_MAX]),
            retry_count,
            created_at,
            delivery_seq,
        ),
    )
    return attempt_id if inserted else None


def attempts_page(tx: Tx, endpoint_seq: int, request: paging.ListRequest) -> paging.Page[Row]:
    """A page of the endpoint's attempts (newest first unless ordered otherwise), filtered by
    `event_id` and/or `status` exactly (names from the route); counts stop past
    EXACT_COUNT_MAX. Read along ix_webhook_attempts_endpoint."""
    where = ["endpoint_seq = ?", *(f"{name} = ?" for name in request.filters)]
    params: list[Any] = [endpoint_seq, *request.filters.values()]
    keys = paging.sort_keys(request.order, ATTEMPT_SORTABLE)
    values = None
    if request.cursor is not None:
        values = paging.cursor_values(
            tx, "webhook_attempts", keys, request.cursor, where, params, _no_such_attempt
        )
    rows, has_more = paging.walk(
        tx, _ATTEMPT_SELECT, "webhook_attempts", where, params, keys, request, values
    )
    n, exact = paging.bounded_count(
        tx, f"SELECT 1 FROM webhook_attempts WHERE {' AND '.join(where)}", params
    )
    return paging.Page(rows, has_more, n, exact)


def attempts_of_events(tx: Tx, livemode: bool, event_ids: list[str], limit: int) -> list[Row]:
    """The newest `limit` attempts to deliver any of these events, to any endpoint, each with
    its endpoint's id last: from the events' ids (their unique index) through
    ix_webhook_deliveries_event and ix_webhook_attempts_delivery. The mode is tested on the
    attempts: as `e.livemode = ?` it drew SQLite to ix_events_object, whose first column it is,
    and a walk of the mode's every event (2 s at 1.2M events)."""
    if not event_ids:
        return []
    member, ids = tx.member_of("e.id", event_ids)
    columns = ", ".join(f"a.{c}" for c in ATTEMPT_COLUMNS)
    return tx.all(
        f"SELECT {columns}, w.id FROM events e"
        " JOIN webhook_deliveries d ON d.event_seq = e.seq"
        " JOIN webhook_attempts a ON a.delivery_seq = d.seq"
        " JOIN webhook_endpoints w ON w.seq = a.endpoint_seq"
        f" WHERE {member} AND a.livemode = ? ORDER BY a.created_at DESC, a.seq DESC LIMIT ?",
        (ids, livemode, limit),
    )


def _no_such_attempt(cursor: paging.Cursor) -> Exception:
    return errors.InvalidRequest(
        f"{cursor.param} names no attempt of this list: {cursor.id}", cursor.param
    )


def _kept_body(body: bytes | str | None) -> str | None:
    if body is None:
        return None
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
    # Not final: a character the cut splits is left out rather than turned into U+FFFD.
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    return _clean(decoder.decode(raw[:RESPONSE_BODY_MAX], final=False))


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; a lone surrogate cannot be encoded for either database.
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
