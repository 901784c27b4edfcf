"""Racing `pay` calls from two server processes' worth of apps on one database can never pay more
than is due, and every accepted payment is counted exactly once (API.md, Billing objects: pay)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.billing.helpers import Billing, act, body, get_invoice
from tests.conftest import API

THREADS = 8


def race(apis: tuple[API, API], invoice_id: str, amounts: list[Any]) -> list[tuple[Any, Any]]:
    """Fire one pay per amount (None: pay what remains) at once, alternating apps; (amount, response)."""
    barrier = threading.Barrier(len(amounts))

    def fire(i: int) -> tuple[Any, Any]:
        api = apis[i % 2]
        payload = {} if amounts[i] is None else {"amount": amounts[i]}
        barrier.wait()
        return amounts[i], act(api, invoice_id, "pay", payload)

    with ThreadPoolExecutor(len(amounts)) as pool:
        return list(pool.map(fire, range(len(amounts))))


def check(apis: tuple[API, API], invoice_id: str, due: int, results: Any) -> list[int]:
    """Refused calls are 400 amount / 409 invalid_state; accepted calls, ordered by the amount_paid
    they answered with, each added exactly their amount (or what remained, when they sent none),
    and together exactly the final amount_paid, which never exceeds amount_due. The increments."""
    accepted = []
    for amount, r in results:
        assert r.status_code in (200, 400, 409), r.text
        if r.status_code == 200:
            accepted.append((int(body(r)["amount_paid"]), amount))
        else:
            err = body(r)
            assert (err["code"], err["param"]) in {
                ("invalid_request", "amount"),  # more than remains by now
                ("invalid_state", None),  # already paid
            }, err
    increments = []
    previous = 0
    for paid, amount in sorted(accepted, key=lambda pair: pair[0]):
        increment = paid - previous
        assert increment > 0, accepted  # two calls answering the same total: a lost update
        if amount is None:
            assert paid == due, accepted  # an amount-less pay pays what remains
        else:
            assert increment == int(amount), accepted
        increments.append(increment)
        previous = paid
    final = get_invoice(apis[0], invoice_id)
    assert get_invoice(apis[1], invoice_id) == final
    assert int(final["amount_paid"]) == sum(increments) <= due
    assert int(final["amount_remaining"]) == due - sum(increments)
    assert (final["status"] == "paid") == (sum(increments) == due)
    return increments


@pytest.mark.timeout(120)
def test_racing_full_payments_pay_once(two_apps: tuple[API, API]) -> None:
    b = Billing(two_apps[0])
    for _ in range(3):
        inv = b.invoice_in("open", "1000")
        results = race(two_apps, inv["id"], [None] * THREADS)
        assert check(two_apps, inv["id"], 1000, results) == [1000]
        assert sorted(r.status_code for _, r in results) == [200] + [409] * (THREADS - 1)


@pytest.mark.timeout(120)
def test_racing_partial_payments_never_overpay(two_apps: tuple[API, API]) -> None:
    b = Billing(two_apps[0])
    for due in (1000, 10**40):
        inv = b.invoice_in("uncollectible", str(due))
        part = due * 3 // 10  # three of these fit, a fourth does not
        results = race(two_apps, inv["id"], [str(part)] * THREADS)
        assert check(two_apps, inv["id"], due, results) == [part] * 3
        assert sorted(r.status_code for _, r in results) == [200] * 3 + [400] * (THREADS - 3)


@pytest.mark.timeout(120)
def test_racing_mixed_payments(two_apps: tuple[API, API]) -> None:
    b = Billing(two_apps[0])
    for _ in range(4):
        inv = b.invoice_in("open", "1000")
        amounts: list[Any] = ["400", 400, None, "250", 250, None, "100", "1000"]
        increments = check(two_apps, inv["id"], 1000, race(two_apps, inv["id"], amounts))
        assert increments
