"""Idempotency-Key handling for writes (POST, PUT, DELETE).

The first request with a key claims it (a 'running' row). A successful write stores its answer in
the same transaction as its effects (`Call.write`), so the effects and the stored answer exist
together or not at all; a 4xx is stored after the fact (it changed nothing); a 5xx or crash
releases the key so a retry can run. A repeat of the same request (method, path, query, body)
replays the stored answer; a different request with the key is 409 `idempotency_key_reused`;
a repeat while the first still runs waits up to `WAIT_SECONDS`, then gets 409
`idempotency_key_in_use`. Keys live 24 hours per mode.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass

from paymentkit.server import errors
from paymentkit.server.db.engine import Database, Tx
from paymentkit.server.idempotency import repository as repo
from paymentkit.server.ids import now_ms

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
TTL_MS = 24 * 60 * 60 * 1000
# A 'running' claim older than this belongs to a request that died before committing anything
# (a committed write marks its key done in the same transaction), so a retry may take it over.
STALE_MS = 120 * 1000
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05
SWEEP_ONE_IN = 1000
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


@dataclass
class Claim:
    livemode: bool
    key: str
    done: bool = False


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
    if repo.insert_running(tx, livemode, key, fp, now):
        return Claim(livemode, key)
    row = repo.get(tx, livemode, key)
    if row is None:  # released between our insert and read; try again
        return None
    stored_fp, state, status, response, created = row
    if stored_fp != fp:
        raise errors.IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request"
        )
    if state == "done":
        return Replay(int(status), str(response).encode())
    if int(created) < now - STALE_MS:
        repo.take_over(tx, livemode, key, now)
        return Claim(livemode, key)
    return None  # still running: wait


def complete_in(tx: Tx, claim: Claim, status: int, body: bytes) -> None:
    """Store the answer inside the caller's transaction (set `claim.done` after it commits)."""
    repo.complete(tx, claim.livemode, claim.key, status, body.decode())


async def complete(db: Database, claim: Claim, status: int, body: bytes) -> None:
    await db.transaction(lambda tx: complete_in(tx, claim, status, body), write=True)
    claim.done = True


async def release(db: Database, claim: Claim) -> None:
    await db.transaction(lambda tx: repo.delete(tx, claim.livemode, claim.key), write=True)
