"""Recording what one attempt came to, in one transaction, only while its lease is still ours.

- 2xx: the delivery `succeeded`, its event has one pending webhook less, the endpoint's run of
  failures (failing_since) ends.
- 410 Gone: the receiver says the endpoint is no more: it is disabled and every pending delivery
  of it settled (`failed`, off their events' pending_webhooks).
- anything else (an error, a timeout, a 3xx, 4xx, 5xx): the delivery is due again after the
  schedule's next delay (a 429/503 Retry-After replaces it), or `failed` after the last retry;
  the endpoint's failing_since starts if it was not running, and an endpoint failing for five
  days is disabled like a 410.
Every attempt is stored (status, response code, first 2 KB of the answer, duration, error, retry
count). A delivery whose lease was lost meanwhile (it lapsed and another worker took it, its
endpoint was disabled or deleted) records nothing: the other path already settled it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from enum import Enum

from paymentkit.server.db.engine import Tx
from paymentkit.server.delivery import repository as repo
from paymentkit.server.delivery import schedule
from paymentkit.server.delivery.sender import Outcome
from paymentkit.server.webhooks import repository as endpoints

GONE = 410


class Result(Enum):
    SUCCEEDED = "succeeded"
    RETRY = "retry"  # due again later
    FAILED = "failed"  # given up after the last retry
    DISABLED = "disabled"  # the endpoint was disabled (410, or five days of failures)
    LOST = "lost"  # the lease was no longer ours: nothing recorded


def record(
    tx: Tx,
    delivery_seq: int,
    owner: str,
    outcome: Outcome,
    now: int,
    delays: Sequence[float],
    rng: random.Random | None = None,
) -> Result:
    """Store the attempt and settle the delivery accordingly (see the module docstring). The
    caller holds the lock of the delivery's endpoint row (repository.lock_endpoint)."""
    current = repo.state(tx, delivery_seq)
    if current is None or current.status != "pending" or current.lease_owner != owner:
        return Result.LOST
    attempts = current.attempts + 1

    def plan(failing_since: int | None) -> tuple[bool, float | None]:
        """(disable the endpoint, seconds until the next attempt or None to give up)."""
        if outcome.succeeded:
            return False, None
        if outcome.status == GONE or schedule.should_disable(failing_since, now):
            return True, None
        asked = None
        if outcome.status in schedule.RETRY_AFTER_STATUSES:
            asked = schedule.retry_after(outcome.retry_after, time.time())
        return False, schedule.next_delay(delays, attempts, asked, rng)

    # The caller locked the endpoint's row before this (Worker._record_batch: the lock order of
    # disabling, endpoint before deliveries), so `failing_since` as read is the one that counts.
    failing_since = current.failing_since
    disable, delay = plan(failing_since)
    if outcome.succeeded:
        status, next_at = "succeeded", now
    elif delay is None:
        status, next_at = ("pending" if disable else "failed"), now
    else:
        status, next_at = "pending", now + round(delay * 1000)
    if not repo.settle(tx, delivery_seq, owner, status, attempts, next_at, now):
        return Result.LOST
    endpoints.record_attempt(
        tx,
        delivery_seq=delivery_seq,
        status="succeeded" if outcome.succeeded else "failed",
        response_status=outcome.status,
        response_body=outcome.body,
        duration_ms=outcome.duration_ms,
        error=outcome.error,
        retry_count=current.attempts,
        created_at=now,
    )
    if outcome.succeeded:
        repo.one_less_pending(tx, current.event_seq)
        if failing_since is not None:
            repo.set_failing_since(tx, current.endpoint_seq, None)
        return Result.SUCCEEDED
    if failing_since is None:
        repo.set_failing_since(tx, current.endpoint_seq, now)
    if disable:
        repo.disable_endpoint(tx, current.endpoint_seq, now)
        endpoints.drop_pending(tx, current.endpoint_seq, now)  # this delivery with the rest
        return Result.DISABLED
    if status == "failed":
        repo.one_less_pending(tx, current.event_seq)
        return Result.FAILED
    return Result.RETRY
