"""Money is exact: decimal strings of integers of any size, through create, partial payments and the
overdue sums, on SQLite and PostgreSQL alike; no float in any response or in the database
(API.md, Conventions: Money)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from paymentkit.server.db.engine import Database
from tests.api.billing.helpers import (
    Billing,
    FloatInResponse,
    act,
    assert_amounts,
    assert_consistent,
    assert_error,
    body,
    get_invoice,
    make_currency,
    make_invoice,
    parse,
    pay,
    uncollectible,
)
from tests.conftest import API

BIG = 123456789012345678901234567890
HUGE = 10**40
MAX = 10**78 - 1  # the largest amount that fits NUMERIC(78,0)


def test_the_float_guard_works() -> None:
    assert parse('{"a": ["1", 2, {"b": null}]}') == {"a": ["1", 2, {"b": None}]}
    for text in ('{"a": 1.0}', "[1e3]", '{"a": {"b": [0.5]}}'):
        with pytest.raises(FloatInResponse):
            parse(text)


@pytest.mark.parametrize("due", [BIG, HUGE, HUGE + 7, 2**64 + 1, MAX])
def test_large_amounts_survive_partial_payments(api: API, due: int) -> None:
    b = Billing(api)
    inv = b.invoice(str(due))
    assert_amounts(inv, due, 0)
    inv = body(act(api, inv["id"], "finalize"), 200)
    paid = 0
    for part in (due // 3, 1, due // 7):  # mixed: strings and JSON integers
        inv = body(pay(api, inv["id"], str(part) if part % 2 else part), 200)
        paid += part
        assert_amounts(inv, due, paid)
        assert inv["status"] == "open"
    assert get_invoice(api, inv["id"]) == inv
    over = pay(api, inv["id"], str(due - paid + 1))
    assert_error(over, 400, "invalid_request", "amount")
    inv = body(pay(api, inv["id"], str(due - paid)), 200)
    assert_amounts(inv, due, due)
    assert inv["status"] == "paid"


def test_overdue_sums_are_exact(api: API) -> None:
    b = Billing(api)
    eth = make_currency(api, b.method["id"], symbol="ETH", decimal=18)
    dues = [BIG, HUGE, HUGE + 1, 10**40 - 1]
    payments = [[BIG // 2], [1], [], [10**20, 10**20 + 3]]
    for due, parts in zip(dues, payments, strict=True):
        uncollectible(api, b.invoice(str(due)), *parts)
    for _ in range(2):
        uncollectible(api, make_invoice(api, b.customer["id"], eth["id"], str(MAX)))
    expected = sum(d - sum(p) for d, p in zip(dues, payments, strict=True))

    summary = body(api.get(f"/api/customers/{b.customer['id']}/overdue/invoices"), 200)["summary"]
    assert summary[b.currency["id"]]["amount"] == str(expected)
    assert summary[eth["id"]]["amount"] == str(2 * MAX)  # beyond NUMERIC(78,0): still exact


def test_more_than_78_digits_is_a_clean_400(api: API, database_url: str) -> None:
    b = Billing(api)
    r = api.post(
        "/api/invoices",
        json={
            "customer_id": b.customer["id"],
            "currency_id": b.currency["id"],
            "amount_due": str(10**78),
        },
    )
    assert_error(r, 400, "invalid_request", "amount_due")


def test_no_float_in_responses_or_database(api: API, db: Database) -> None:
    """Every response on the way goes through `body()`; here the stored money is checked too."""
    b = Billing(api)
    inv = b.invoice_in("open", str(HUGE + 5))
    body(pay(api, inv["id"], str(HUGE // 3)), 200)
    body(act(api, inv["id"], "mark_uncollectible"), 200)
    results: list[Any] = [
        body(api.get(path), 200)
        for path in (
            f"/api/invoices/{inv['id']}",
            "/api/invoices",
            "/api/payment-methods",
            "/api/payment-currencies",
            "/api/subscriptions",
            f"/api/customers/{b.customer['id']}",
            f"/api/customers/{b.customer['id']}/overdue/invoices",
        )
    ]
    assert all(results)
    assert_consistent(get_invoice(api, inv["id"]))
    rows = db.run_sync(
        lambda tx: tx.all(
            f"SELECT {tx.money_out('amount_due')}, {tx.money_out('amount_paid')},"
            f" {tx.money_out('amount_remaining')} FROM invoices"
        )
    )
    due, paid, remaining = rows[0]
    assert (str(due), str(paid), str(remaining)) == (
        str(HUGE + 5),
        str(HUGE // 3),
        str(HUGE + 5 - HUGE // 3),
    )
    kinds = db.run_sync(
        lambda tx: (
            tx.all("SELECT typeof(amount_due), typeof(amount_paid) FROM invoices")
            if tx.dialect == "sqlite"
            else tx.all(
                "SELECT data_type FROM information_schema.columns"
                " WHERE table_name = 'invoices' AND table_schema = current_schema()"
                " AND column_name IN ('amount_due', 'amount_paid', 'amount_remaining')"
            )
        )
    )
    flat = json.dumps(kinds).lower()
    assert "real" not in flat and "double" not in flat and "float" not in flat, kinds
