"""Idempotency-Key handling for writes (POST, PUT, DELETE).

The first request with a key claims it (a 'running' row). A successful write stores its answer in
the same transaction as its effects (`Call.write`), so the effects and the stored answer exist
together or not at all; a 4xx is stored after the fact (it changed nothing); a 5xx or crash
releases the key so a retry can run. A repeat of the same request (method, path, query, body)
replays the stored answer; a different request with the key is 409 `idempotency_key_reused`;
a repeat while the first still runs waits up to `WAIT_SECONDS`, then gets 409
`idempotency_key_in_use`. Keys live 24 hours per mode.

A claim is held under a lease: the row names its owner (this process's random `INSTANCE_ID` and
a token of the claim) and `lease_until`, which the owner renews every `RENEW_SECONDS` while the
request runs. A process killed mid-request stops renewing, so its claim is taken over by the next
request once the lease lapses (at most `LEASE_MS` after the kill; a retry waits that out within
`WAIT_SECONDS`). This works wherever the workers run, since only the database decides. Storing
the answer checks the owner in the write's own transaction, so a request whose claim was taken
over (it stalled past its lease) rolls its write back: one of the two runs, never both.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass, field

from paymentkit.server import errors
from paymentkit.server.crypto import SecretBox
from paymentkit.server.db.engine import Database, Tx
from paymentkit.server.idempotency import repository as repo
from paymentkit.server.ids import now_ms

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
TTL_MS = 24 * 60 * 60 * 1000
# Random per process start: the claims this process holds carry it.
INSTANCE_ID = secrets.token_hex(8)
# A claim whose lease has lapsed belongs to a process that stopped renewing it: dead, or stalled
# so long that letting a retry run is the lesser harm (the stalled one cannot commit, see above).
LEASE_MS = 3000
RENEW_SECONDS = 1.0
# Longer than a lease, so a retry sent at once after a crash outwaits the dead claim.
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05
SWEEP_ONE_IN = 1000
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
# Marks a stored answer encrypted by `sealed` (a JSON answer starts with `{`).
SEALED = b"sealed:"


log = logging.getLogger("paymentkit")


@dataclass
class Claim:
    livemode: bool
    key: str
    owner: str = field(default_factory=lambda: f"{INSTANCE_ID}.{secrets.token_hex(8)}")
    done: bool = False
    _renewing: asyncio.Task[None] | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop renewing the lease (the request has answered, whatever the answer)."""
        if self._renewing is not None:
            self._renewing.cancel()
            self._renewing = None


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise errors.InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
            "Idempotency-Key",
        )
    return key


async def claim(db: Database, livemode: bool, key: str, fp: str) -> Claim | Replay:
    """Claim `key` for this request, or return the stored answer of the same earlier request."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        outcome = await db.transaction(lambda tx: _try_claim(tx, livemode, key, fp), write=True)
        if isinstance(outcome, Claim):
            outcome._renewing = asyncio.create_task(_renew(db, outcome))
        if outcome is not None:
            return outcome
        if loop.time() >= deadline:
            raise errors.IdempotencyKeyInUse(
                "A request with this Idempotency-Key is still being processed; retry later"
            )
        await asyncio.sleep(POLL_SECONDS)


def _try_claim(tx: Tx, livemode: bool, key: str, fp: str) -> Claim | Replay | None:
    now = now_ms()
    if secrets.randbelow(SWEEP_ONE_IN) == 0:  # now and then, forget every expired key
        repo.delete_older_than(tx, now - TTL_MS)
    else:
        repo.drop_expired(tx, livemode, key, now - TTL_MS)
    new = Claim(livemode, key)
    if repo.insert_running(tx, livemode, key, fp, new.owner, now, now + LEASE_MS):
        return new
    row = repo.get(tx, livemode, key)
    if row is None:  # released between our insert and read; try again
        return None
    stored_fp, state, status, response, lease_until = row
    if stored_fp != fp:
        raise errors.IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request"
        )
    if state == "done":
        return Replay(int(status), str(response).encode())
    # The row lock (PostgreSQL) or the write lock (SQLite) makes this check-and-take atomic: of
    # two retries racing for a dead claim, the second sees the first one's fresh lease.
    if lease_until is None or int(lease_until) < now:
        repo.take_over(tx, livemode, key, new.owner, now, now + LEASE_MS)
        return new
    return None  # still running: wait


async def _renew(db: Database, claim: Claim) -> None:
    while True:
        await asyncio.sleep(RENEW_SECONDS)

        def renew(tx: Tx) -> bool:
            return repo.renew(tx, claim.livemode, claim.key, claim.owner, now_ms() + LEASE_MS)

        try:
            held = await db.transaction(renew, write=True)
        except Exception:  # the lease lapses; the claim's owner check keeps it safe
            log.warning("could not renew the lease of an Idempotency-Key claim", exc_info=True)
            return
        if not held:
            return


def sealed(box: SecretBox | None, body: bytes) -> bytes:
    """An answer as stored: encrypted with `box` when it holds a secret (a webhook endpoint's
    signing secret must not sit in clear in this table for 24 hours), else as it is."""
    return body if box is None else SEALED + box.encrypt(body).encode()


def opened(box: SecretBox, body: bytes) -> bytes:
    """A stored answer as sent again: decrypted when it was sealed."""
    return box.decrypt(body[len(SEALED) :].decode()) if body.startswith(SEALED) else body


def complete_in(tx: Tx, claim: Claim, status: int, body: bytes) -> None:
    """Store the answer inside the caller's transaction (set `claim.done` after it commits).
    Raises 409 `idempotency_key_in_use` (rolling the write back) when the claim was taken over."""
    if not repo.complete(tx, claim.livemode, claim.key, claim.owner, status, body.decode()):
        raise errors.IdempotencyKeyInUse(
            "This request stalled past its claim on the Idempotency-Key and a retry took it over;"
            " nothing was written"
        )


async def complete(db: Database, claim: Claim, status: int, body: bytes) -> None:
    """Store a refusal's answer after the fact; a claim lost meanwhile keeps the other's."""
    await db.transaction(
        lambda tx: repo.complete(tx, claim.livemode, claim.key, claim.owner, status, body.decode()),
        write=True,
    )
    claim.done = True


async def release(db: Database, claim: Claim) -> None:
    await db.transaction(
        lambda tx: repo.delete(tx, claim.livemode, claim.key, claim.owner), write=True
    )
