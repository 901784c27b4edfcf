"""All SQL on webhook_endpoints."""

from __future__ import annotations

import msgspec

from paymentkit.server.db.engine import Tx
from paymentkit.server.events import types

_names = msgspec.json.Decoder(list[str])


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
