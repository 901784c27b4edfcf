"""The delivery worker: claims due deliveries, sends them outside any transaction, records each
outcome, and about hourly prunes old events and refreshes stale search figures.

One `Worker` per process (`paymentkit worker`, which `serve` runs as its delivery process unless
--no-deliver; or an app built with Settings.deliver, in its lifespan):
- It polls the due deliveries every IDLE_POLL seconds when idle (a cheap read of the due index
  on SQLite, the claim itself on PostgreSQL) and at once when a delivery it sent settles (the
  next event of that object may be due now), so a committed change goes out within a poll.
- It claims at most as many deliveries as it has free sending slots (Settings.
  webhook_concurrency), each leased for DELIVERY_LEASE_MS, longer than an attempt may take
  (sender.TIMEOUT) plus its recording.
- On PostgreSQL every worker claims (`FOR UPDATE SKIP LOCKED`); they share the work. On SQLite
  the `delivery` row of worker_leases (renewed every LEASE_RENEW_MS, lapsing after
  PROCESS_LEASE_MS) keeps it to one delivering process at a time; the process taking over a
  lapsed lease frees the deliveries its predecessor had claimed, so they go out again at once.
- kill -9 at any moment loses nothing: a delivery is settled only by the transaction that
  records its attempt, and a lapsed lease is claimed again; the repeat carries the same
  webhook-id (the event id).
- Stopping (`stop()`): no new claims; attempts in flight get STOP_GRACE seconds to finish and be
  recorded, the rest are abandoned and their leases freed, so another worker sends them at once.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import anyio.abc
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from paymentkit.server import errors
from paymentkit.server.component_sig import load_app_signing_key
from paymentkit.server.config import Settings
from paymentkit.server.crypto import SecretBox
from paymentkit.server.customers import search_stats
from paymentkit.server.customers import service as customers
from paymentkit.server.db.engine import Database, Tx
from paymentkit.server.delivery import outcome, signing
from paymentkit.server.delivery import repository as repo
from paymentkit.server.delivery.sender import Outcome, Sender
from paymentkit.server.events import service as events
from paymentkit.server.ids import new_id, now_ms
from paymentkit.server.webhooks import signing as endpoint_secrets

log = logging.getLogger("paymentkit.delivery")

RECORD_GATHER = 0.005  # seconds the recorder waits for more attempts to share a commit
IDLE_POLL = 0.15  # seconds between looks at the due deliveries when there is nothing to send
ERROR_BACKOFF = 1.0  # seconds after the database failed a claim
UNRECORDED_ROUNDS = 4  # claimed-but-unrecorded deliveries: at most this many × concurrency
MAX_BATCH = 100  # deliveries claimed by one transaction
DELIVERY_LEASE_MS = 30_000
PROCESS_LEASE = "delivery"  # worker_leases row: SQLite's one delivering process
PROCESS_LEASE_MS = 10_000
LEASE_RENEW_MS = 2_000
PRUNE_LEASE = "prune"  # worker_leases row: held for an hour by the process that last pruned
PRUNE_EVERY_MS = 3_600_000
PRUNE_CHECK_MS = 60_000  # how often a worker asks whether the hourly prune is due
PRUNE_PAUSE = 0.05  # seconds between two prune batches, so writers get the lock in between
STOP_GRACE = 10.0  # seconds attempts in flight may take to finish once stopping


@dataclass(frozen=True)
class Options:
    retry_delays: tuple[float, ...]
    concurrency: int = 16
    allow_private: bool = False
    retention_days: int = 30
    app_key: Ed25519PrivateKey | None = None


@dataclass(frozen=True)
class Prepared:
    """A claimed delivery, ready to send."""

    seq: int
    endpoint_seq: int
    url: str
    event_id: str
    body: bytes
    secrets: tuple[str, ...]


def options(settings: Settings) -> Options:
    return Options(
        retry_delays=settings.webhook_retry_delays,
        concurrency=settings.webhook_concurrency,
        allow_private=settings.webhook_allow_private,
        retention_days=settings.event_retention_days,
        app_key=None if settings.app_sk is None else load_app_signing_key(settings.app_sk),
    )


def owner_name() -> str:
    """This process's name on leases: host, pid and a random part (a restarted pid differs)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{new_id('w')[-8:]}"


class Worker:
    def __init__(self, db: Database, box: SecretBox, options: Options) -> None:
        self.db = db
        self.box = box
        self.options = options
        self.owner = owner_name()
        self.sender = Sender(options.allow_private, options.concurrency)
        self._rng = random.Random()  # noqa: S311 (retry jitter, not a secret)
        self._stopping = anyio.Event()
        self._wake = anyio.Event()
        self._in_flight: set[int] = set()  # claimed, outcome not yet recorded
        self._sending: set[int] = set()  # its request not yet answered: the concurrency bound
        self._sent: list[tuple[Prepared, Outcome]] = []  # attempts back, not yet recorded
        self._sent_ready = anyio.Event()
        self._lease_until = 0  # ms: this process holds the SQLite delivery lease until then
        self._lease_checked = -LEASE_RENEW_MS  # ms: when the lease was last renewed or tried
        self._last_prune_check: int | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Deliver until `stop()`; then wait for the attempts in flight (up to STOP_GRACE)."""
        try:
            async with anyio.create_task_group() as sending:
                sending.start_soon(self._record)
                while not self._stopping.is_set():
                    try:
                        await self._round(sending)
                    except errors.ServiceUnavailable as exc:  # busy or unreachable: wait
                        log.warning("webhook delivery waits: %s", exc.message)
                        await self._pause(ERROR_BACKOFF)
                    except Exception:
                        log.exception("webhook delivery round failed; retrying")
                        await self._pause(ERROR_BACKOFF)
                with anyio.move_on_after(STOP_GRACE):
                    while self._in_flight:
                        self._wake = anyio.Event()
                        await self._wake.wait()
                sending.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._let_go()
                await self.sender.aclose()

    async def _round(self, sending: anyio.abc.TaskGroup) -> None:
        now = now_ms()
        if self._last_prune_check is None or now - self._last_prune_check >= PRUNE_CHECK_MS:
            self._last_prune_check = now
            sending.start_soon(self._prune)
        # A slot is a request on the wire; recording its outcome does not hold it (a batch is
        # recorded at once, see _record), but no more than a few rounds may wait for that.
        concurrency = self.options.concurrency
        free = min(
            concurrency - len(self._sending),
            UNRECORDED_ROUNDS * concurrency - len(self._in_flight),
            MAX_BATCH,
        )
        # Claim when at least half the slots are free (or nothing is in flight): a claim is a
        # commit, and claiming each freed slot on its own made two commits per delivery.
        enough = not self._in_flight or free >= max(1, concurrency // 2)
        claimed: list[Prepared] = []
        if free > 0 and enough and await self._may_deliver(now):
            claimed = await self._claim(free)
        for item in claimed:
            self._in_flight.add(item.seq)
            self._sending.add(item.seq)
            sending.start_soon(self._deliver, item)
        if len(claimed) < free or free <= 0 or not enough:
            await self._pause(IDLE_POLL)

    async def _pause(self, seconds: float) -> None:
        """Sleep `seconds`, or less when a delivery settles or the worker stops."""
        self._wake = anyio.Event()
        with anyio.move_on_after(seconds):
            await self._wake.wait()

    async def _may_deliver(self, now: int) -> bool:
        """PostgreSQL: always. SQLite: while this process holds the delivery lease, which it
        renews (or, not holding it, tries to take) every LEASE_RENEW_MS."""
        if self.db.dialect == "postgresql":
            return True
        if now - self._lease_checked < LEASE_RENEW_MS:
            return now < self._lease_until
        self._lease_checked = now
        until = now + PROCESS_LEASE_MS
        holder = await self.db.background(lambda tx: repo.lease_holder(tx, PROCESS_LEASE))
        if holder is not None and holder[0] != self.owner and holder[1] > now:
            self._lease_until = 0  # another process delivers: no write lock taken to see it
            return False

        def take(tx: Tx) -> bool:
            previous = repo.take_lease(tx, PROCESS_LEASE, self.owner, now, until, renew=True)
            if previous is None:
                return False
            if previous != self.owner:  # taking over: its claims will never be recorded
                freed = repo.release_others(tx, self.owner)
                if freed:
                    log.info("took over webhook delivery; %d claimed deliveries freed", freed)
            return True

        held = await self.db.background(take, write=True)
        self._lease_until = until if held else 0
        return held

    async def _claim(self, limit: int) -> list[Prepared]:
        now = now_ms()
        if self.db.dialect == "sqlite":
            # A read first: the claim takes the write lock, which an idle poll should not.
            found = await self.db.background(lambda tx: repo.due(tx, now, 1))
            if not found:
                return []

        def work(tx: Tx) -> list[Prepared]:
            rows = repo.claim(tx, self.owner, now, now + DELIVERY_LEASE_MS, limit)
            secrets: dict[int, tuple[str, ...]] = {}
            out = []
            for due in rows:
                if due.endpoint_seq not in secrets:
                    secrets[due.endpoint_seq] = tuple(
                        endpoint_secrets.signing_secrets(tx, self.box, due.endpoint_seq, now)
                    )
                event = events.to_wire(due.event)
                body = msgspec.json.encode(event)
                out.append(
                    Prepared(
                        due.seq,
                        due.endpoint_seq,
                        due.url,
                        event.id,
                        body,
                        secrets[due.endpoint_seq],
                    )
                )
            return out

        return await self.db.background(work, write=True)

    async def _deliver(self, item: Prepared) -> None:
        """Send one claimed delivery; its outcome goes to the recorder (`_record`)."""
        try:
            headers = signing.attempt_headers(
                item.event_id,
                item.body,
                item.secrets,
                url=item.url,
                now=time.time(),
                app_key=self.options.app_key,
            )
            result = await self.sender.post(item.url, item.body, headers)
        except Exception:
            log.exception("delivery %s failed unexpectedly; sent again later", item.seq)
            self._in_flight.discard(item.seq)
            return
        finally:
            self._sending.discard(item.seq)
            self._wake.set()  # a slot is free
        self._sent.append((item, result))
        self._sent_ready.set()

    async def _record(self) -> None:
        """Record the outcomes of the attempts that came back, all those ready in ONE
        transaction (group commit): a commit costs an fsync on SQLite, and one per attempt
        starved delivery under write load (42 deliveries/s beside 129 writes/s). Runs until
        the worker stops and nothing is in flight."""
        while not (self._stopping.is_set() and not self._in_flight):
            if not self._sent:
                self._sent_ready = anyio.Event()
                with anyio.move_on_after(IDLE_POLL):
                    await self._sent_ready.wait()
                continue
            if self._sending:
                # More attempts are about to come back: gather them into this commit.
                await anyio.sleep(RECORD_GATHER)
            batch, self._sent = self._sent, []
            try:
                await self._record_batch(batch)
            finally:
                for item, _ in batch:
                    self._in_flight.discard(item.seq)
                self._wake.set()

    async def _record_batch(self, batch: list[tuple[Prepared, Outcome]]) -> None:
        def work(tx: Tx) -> list[outcome.Result]:
            # Every endpoint involved is locked first, in seq order, before any delivery row:
            # the lock order of disabling (repository.lock_endpoint) for the whole batch.
            for endpoint_seq in sorted({item.endpoint_seq for item, _ in batch}):
                repo.lock_endpoint(tx, endpoint_seq)
            now = now_ms()
            return [
                outcome.record(
                    tx, item.seq, self.owner, result, now, self.options.retry_delays, self._rng
                )
                for item, result in batch
            ]

        for attempt in (1, 2):  # once more when the database failed it (e.g. a deadlock)
            try:
                settled = await self.db.background(work, write=True)
                log.debug("recorded %d attempts: %s", len(batch), [r.value for r in settled])
                return
            except errors.ServiceUnavailable as exc:
                # The leases lapse and the deliveries are claimed again: at least once.
                log.warning(
                    "%d webhook attempts not recorded (%s); sent again later", len(batch), exc
                )
                return
            except Exception:
                if attempt == 2:
                    log.exception(
                        "recording %d webhook attempts failed; sent again later", len(batch)
                    )
                    return
                log.warning("recording webhook attempts failed; trying once more")

    async def _prune(self) -> None:
        """The hourly upkeep, when no process did it in the last hour: delete events past the
        retention, in batches; sample the search trigrams of a mode whose figures are stale."""
        try:
            now = now_ms()
            taken = await self.db.background(
                lambda tx: repo.take_lease(
                    tx, PRUNE_LEASE, self.owner, now, now + PRUNE_EVERY_MS, renew=False
                ),
                write=True,
            )
            if taken is None:
                return
            total = 0
            while not self._stopping.is_set():
                n = await self.db.background(
                    lambda tx: events.prune(tx, self.options.retention_days), write=True
                )
                total += n
                if n < events.PRUNE_BATCH:
                    break
                await anyio.sleep(PRUNE_PAUSE)
            if total:
                log.info("pruned %d events older than %d days", total, self.options.retention_days)
            await self._sample_search()
        except Exception:
            log.exception("hourly upkeep failed; trying again within the hour")

    async def _sample_search(self) -> None:
        """New search trigram figures for a mode that grew or shrank by a fifth since its last
        sample (customers/search_stats.py): taken in a read, stored in a short write."""
        for livemode in (False, True):

            def take(tx: Tx, mode: bool = livemode) -> search_stats.Sample | None:
                return customers.search_sample(tx, mode)

            sample = await self.db.background(take)
            if sample is None or self._stopping.is_set():
                continue

            def store(tx: Tx, mode: bool = livemode, s: search_stats.Sample = sample) -> None:
                search_stats.store(tx, mode, s)

            await self.db.background(store, write=True)
            log.info("sampled %d customers for search (livemode=%s)", len(sample.texts), livemode)

    async def _let_go(self) -> None:
        """Free what this process holds, so others need not wait for its leases to lapse."""
        try:

            def work(tx: Tx) -> None:
                repo.release(tx, self.owner)
                repo.drop_lease(tx, PROCESS_LEASE, self.owner)

            await self.db.background(work, write=True)
        except Exception:
            log.warning("could not free this worker's leases; they lapse by themselves")


@asynccontextmanager
async def running(db: Database, box: SecretBox, options: Options) -> AsyncIterator[Worker]:
    """A worker delivering in the background while the block runs; stopped cleanly after."""
    worker = Worker(db, box, options)
    async with anyio.create_task_group() as group:
        group.start_soon(worker.run)
        try:
            yield worker
        finally:
            worker.stop()
