"""GET /api/webhook-endpoints/{id}/attempts: the attempts the delivery worker recorded (through
repository.record_attempt), newest first, numbered and cursor pages, filters, kept bodies."""

from __future__ import annotations

import re
from typing import Any

import pytest

from paymentkit.server.db.engine import Database, Tx
from tests.api.billing.helpers import assert_error, body, ids
from tests.api.webhooks.helpers import (
    endpoint_seq,
    insert_delivery,
    insert_event,
    make_endpoint,
    record,
)
from tests.conftest import API

PATH = "/api/webhook-endpoints"
ATTEMPT_KEYS = {
    "id",
    "object",
    "livemode",
    "event_id",
    "webhook_endpoint_id",
    "status",
    "response_status",
    "response_body",
    "retry_count",
    "duration_ms",
    "error",
    "created_at",
}


def _delivery(db: Database, endpoint_id: str, livemode: bool = False) -> tuple[int, str]:
    """A pending delivery of a new event to the endpoint: (delivery seq, event id)."""
    seq = endpoint_seq(db, endpoint_id)

    def made(tx: Tx) -> tuple[int, str]:
        event = insert_event(tx, livemode)
        delivery = insert_delivery(tx, event, seq)
        return delivery, str(tx.scalar("SELECT id FROM events WHERE seq = ?", (event,)))

    result: tuple[int, str] = db.run_sync(made, write=True)
    return result


def _attempts(api: API, endpoint_id: str, **query: Any) -> dict[str, Any]:
    page: dict[str, Any] = body(api.get(f"{PATH}/{endpoint_id}/attempts", params=query), 200)
    return page


def test_attempts_newest_first_in_their_shape(hooks: API, db: Database) -> None:
    e = make_endpoint(hooks)
    delivery, event_id = _delivery(db, e["id"])
    first = record(
        db,
        delivery,
        status="failed",
        response_status=503,
        response_body="busy",
        duration_ms=40,
        retry_count=0,
        created_at=1_700_000_000_000,
    )
    second = record(
        db,
        delivery,
        status="failed",
        response_status=None,
        response_body=None,
        error="connection refused",
        duration_ms=3,
        retry_count=1,
        created_at=1_700_000_005_000,
    )
    third = record(
        db,
        delivery,
        status="succeeded",
        response_status=200,
        response_body="ok",
        retry_count=2,
        created_at=1_700_000_305_000,
    )
    page = _attempts(hooks, e["id"])
    assert ids(page) == [third, second, first]
    assert page["count"] == 3 and page["count_is_exact"] is True and page["has_more"] is False
    newest, middle, oldest = page["list"]
    assert set(newest) == ATTEMPT_KEYS
    assert re.match(r"^wat_[0-9A-Za-z]{24}$", newest["id"])
    assert newest["object"] == "webhook_attempt" and newest["livemode"] is False
    assert (newest["event_id"], newest["webhook_endpoint_id"]) == (event_id, e["id"])
    assert (newest["status"], newest["response_status"], newest["response_body"]) == (
        "succeeded",
        200,
        "ok",
    )
    assert newest["retry_count"] == 2 and newest["error"] is None
    assert (middle["response_status"], middle["response_body"], middle["error"]) == (
        None,
        None,
        "connection refused",
    )
    assert (oldest["duration_ms"], oldest["created_at"]) == (40, "2023-11-14T22:13:20.000Z")
    assert ids(_attempts(hooks, e["id"], order="created_at:ASC")) == [first, second, third]


def test_attempts_page_by_number_and_by_cursor(hooks: API, db: Database) -> None:
    e = make_endpoint(hooks)
    delivery, _ = _delivery(db, e["id"])
    made = [record(db, delivery, retry_count=i, created_at=1_700_000_000_000 + i) for i in range(7)]
    newest = list(reversed(made))
    page2 = _attempts(hooks, e["id"], size=3, page=2)
    assert ids(page2) == newest[3:6] and page2["has_more"] is True
    assert page2["paging"] == {"page": 2, "pageSize": 3} and page2["count"] == 7
    assert _attempts(hooks, e["id"], pageSize=3, page=2) == page2
    after = _attempts(hooks, e["id"], starting_after=newest[2], limit=3)
    assert ids(after) == newest[3:6] and after["paging"]["page"] == 1
    last = _attempts(hooks, e["id"], starting_after=newest[5], limit=3)
    assert ids(last) == newest[6:] and last["has_more"] is False
    before = _attempts(hooks, e["id"], ending_before=newest[3], limit=2)
    assert ids(before) == newest[1:3] and before["has_more"] is True


def test_attempts_filter_by_event_and_status(hooks: API, db: Database) -> None:
    e = make_endpoint(hooks)
    d1, event1 = _delivery(db, e["id"])
    d2, event2 = _delivery(db, e["id"])
    a = record(db, d1, status="failed")
    b = record(db, d1, status="succeeded")
    c = record(db, d2, status="failed")
    assert set(ids(_attempts(hooks, e["id"], event_id=event1))) == {a, b}
    assert ids(_attempts(hooks, e["id"], event_id=event2)) == [c]
    assert set(ids(_attempts(hooks, e["id"], status="failed"))) == {a, c}
    assert ids(_attempts(hooks, e["id"], status="succeeded", event_id=event1)) == [b]
    assert _attempts(hooks, e["id"], event_id="evt_nope")["count"] == 0


def test_attempts_are_per_endpoint(hooks: API, db: Database) -> None:
    one, two = make_endpoint(hooks), make_endpoint(hooks)
    d1, _ = _delivery(db, one["id"])
    d2, _ = _delivery(db, two["id"])
    mine = record(db, d1)
    theirs = record(db, d2)
    assert ids(_attempts(hooks, one["id"])) == [mine]
    assert ids(_attempts(hooks, two["id"])) == [theirs]
    # A cursor from another endpoint's list names nothing in this one.
    r = hooks.get(f"{PATH}/{one['id']}/attempts", params={"starting_after": theirs})
    assert_error(r, 400, "invalid_request", "starting_after")


@pytest.mark.parametrize(
    ("query", "code", "param"),
    [
        ({"status": "pending"}, "invalid_request", "status"),
        ({"order": "updated_at:DESC"}, "invalid_request", "order"),
        ({"size": 101}, "invalid_request", "pageSize"),
        ({"size": 2, "pageSize": 2}, "invalid_request", "size"),
        ({"page": 2, "starting_after": "wat_x"}, "invalid_request", "page"),
        ({"type": "x"}, "unknown_parameter", "type"),
    ],
)
def test_attempts_query_validation(
    hooks: API, query: dict[str, Any], code: str, param: str
) -> None:
    e = make_endpoint(hooks)
    assert_error(hooks.get(f"{PATH}/{e['id']}/attempts", params=query), 400, code, param)


def test_attempts_of_an_unknown_endpoint_are_404(hooks: API) -> None:
    assert_error(hooks.get(f"{PATH}/we_nope/attempts"), 404, "resource_missing")


def test_an_attempt_keeps_the_first_2_kb_of_the_answer_and_no_nul(hooks: API, db: Database) -> None:
    e = make_endpoint(hooks)
    delivery, _ = _delivery(db, e["id"])
    record(db, delivery, response_body=b"x" + "é".encode() * 2000, error="e" + "r" * 5000)
    (attempt,) = _attempts(hooks, e["id"])["list"]
    # 2048 bytes end inside an é: the body keeps the characters that fit whole.
    assert attempt["response_body"] == "x" + "é" * 1023
    assert attempt["error"] == "e" + "r" * 999
    record(db, delivery, response_body=b"a\x00b\xff\xfe", error="x\x00y", created_at=2**42)
    newest = _attempts(hooks, e["id"])["list"][0]
    assert (newest["response_body"], newest["error"]) == ("a\ufffdb\ufffd\ufffd", "x\ufffdy")
    record(db, delivery, response_body="ü" * 3000, created_at=2**43)
    assert _attempts(hooks, e["id"])["list"][0]["response_body"] == "ü" * 1024


def test_live_attempts_carry_livemode(live_hooks: API, db: Database) -> None:
    e = make_endpoint(live_hooks)
    delivery, _ = _delivery(db, e["id"], livemode=True)
    record(db, delivery)
    (attempt,) = _attempts(live_hooks, e["id"])["list"]
    assert attempt["livemode"] is True
