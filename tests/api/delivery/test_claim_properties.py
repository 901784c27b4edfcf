"""The claim rule under any interleaving (hypothesis), on SQLite and PostgreSQL: deliveries are
claimed and settled by the worker's own repository and outcome code with arbitrary batch sizes
and answers; per endpoint, an object's events are sent in commit order (a retry of an earlier
one never comes after a later one), no delivery is claimed while it is leased, and everything
ends settled."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paymentkit.server.db.engine import Database, Tx
from paymentkit.server.delivery import outcome
from paymentkit.server.delivery import repository as repo
from paymentkit.server.delivery.sender import Outcome
from paymentkit.server.events import outbox
from paymentkit.server.ids import new_id, now_ms

DELAYS = (0.0, 0.0)  # retries due at once: three attempts in all


def reset(tx: Tx) -> None:
    for table in ("webhook_attempts", "webhook_deliveries", "events", "webhook_endpoints"):
        tx.execute(f"DELETE FROM {table}")


def add_endpoint(tx: Tx) -> int:
    """A bare endpoint row: this test claims and settles, it never sends."""
    now = now_ms()
    return int(
        tx.scalar(
            "INSERT INTO webhook_endpoints (id, livemode, url, enabled_events, status, api_version,"
            " created_via, secret_encrypted, created_at, updated_at) VALUES"
            " (?, ?, 'https://example.com/h', '[\"*\"]', 'enabled', 'v', 'api', 'x', ?, ?)"
            " RETURNING seq",
            (new_id("we"), False, now, now),
        )
    )


def add_events(db: Database, objects: list[int], endpoint_seqs: list[int]) -> None:
    def work(tx: Tx) -> None:
        now = now_ms()
        for obj in objects:
            seq = int(
                tx.scalar(
                    "INSERT INTO events (id, livemode, type, api_version, object_type, object_id,"
                    " data, pending_webhooks, metadata, created_at, updated_at) VALUES"
                    " (?, ?, 'customer.updated', 'v', 'customer', ?, '{}', ?, '{}', ?, ?)"
                    " RETURNING seq",
                    (new_id("evt"), False, f"cus_{obj}", len(endpoint_seqs), now, now),
                )
            )
            outbox.queue(tx, seq, f"cus_{obj}", endpoint_seqs, now)

    db.run_sync(work, write=True)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    objects=st.lists(st.integers(0, 3), min_size=1, max_size=14),
    endpoints=st.integers(1, 2),
    data=st.data(),
)
def test_claims_keep_each_objects_order_whatever_the_answers(
    db: Database, objects: list[int], endpoints: int, data: Any
) -> None:
    db.run_sync(reset, write=True)
    seqs = [db.run_sync(add_endpoint, write=True) for _ in range(endpoints)]
    add_events(db, objects, seqs)
    sent: list[tuple[int, str, int]] = []  # (endpoint, object, event seq) in sending order
    held: dict[int, tuple[int, str, int]] = {}  # leased, not yet recorded
    for _ in range(500):
        if not held and not db.run_sync(lambda tx: repo.due(tx, now_ms(), 1)):
            break
        limit = data.draw(st.integers(1, 4), label="batch")
        claimed = db.run_sync(
            lambda tx, n=limit: repo.claim(tx, "w", now_ms(), now_ms() + 60_000, n), write=True
        )
        for due in claimed:
            assert due.seq not in held, "claimed while leased"
            key = (due.endpoint_seq, str(due.event[6]), int(due.event[0]))
            assert all(k[:2] != key[:2] for k in held.values()), "two of one object at once"
            held[due.seq] = key
            sent.append(key)
        if not held:
            continue
        # settle some of the leased deliveries, in any order, with any answer
        for seq in data.draw(st.permutations(sorted(held)), label="order")[
            : data.draw(st.integers(1, len(held)), label="settle")
        ]:
            status = data.draw(st.sampled_from([200, 500, 503, 410]), label="answer")
            result = Outcome(status, b"", 1)
            db.run_sync(
                lambda tx, s=seq, r=result: outcome.record(tx, s, "w", r, now_ms(), DELAYS),
                write=True,
            )
            del held[seq]
    assert not held
    pending = db.run_sync(
        lambda tx: tx.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
    )
    assert pending == 0
    for endpoint in seqs:
        for obj in {o for _, o, _ in sent}:
            order = [e for ep, o, e in sent if ep == endpoint and o == obj]
            assert order == sorted(order), (endpoint, obj, order)
    negative = db.run_sync(
        lambda tx: tx.scalar("SELECT count(*) FROM events WHERE pending_webhooks <> 0")
    )
    assert negative == 0  # every delivery left its event's count exactly once
