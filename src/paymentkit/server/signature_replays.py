"""Each component signature is accepted for one write (issue 9: a captured signed write could be
sent again while it was valid). The write spends it in its own transaction, by inserting the
signature's hash into component_signatures: a failed write spends nothing (its retry, same
signature, still runs), two racing copies cannot both commit (the primary key), and every worker
sharing the database sees it. Rows are kept until the signature can no longer verify anywhere
(`component_sig.Use.expires_at`) and pruned by the writes that follow. All SQL on the table is here.
"""

from __future__ import annotations

import threading
import time

from paymentkit.server import errors
from paymentkit.server.component_sig import Use
from paymentkit.server.db.engine import Tx

# How often (per process) a write also deletes the expired rows: they live ten minutes at most.
PRUNE_EVERY_SECONDS = 60.0


class _Pruning:
    """When this process last pruned; the first spend after start prunes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = float("-inf")

    def due(self, now: float) -> bool:
        with self._lock:
            if now - self._last < PRUNE_EVERY_SECONDS:
                return False
            self._last = now
            return True


_pruning = _Pruning()


def spend(tx: Tx, use: Use) -> None:
    """Record `use` inside the write's transaction; 401 when a write already spent it."""
    now = int(time.time())
    if _pruning.due(time.monotonic()):
        prune(tx, now)
    inserted = tx.execute(
        "INSERT INTO component_signatures (signature_hash, expires_at) VALUES (?, ?)"
        " ON CONFLICT (signature_hash) DO NOTHING",
        (use.signature_hash, use.expires_at),
    )
    if inserted != 1:
        raise errors.InvalidSignature(
            "This component signature was already used for a write; sign the request again"
        )


def prune(tx: Tx, now: int) -> int:
    return tx.execute("DELETE FROM component_signatures WHERE expires_at < ?", (now,))
