"""The invoice state machine and payment arithmetic, without I/O
(`paymentkit.server.invoices.rules`; API.md, Billing objects behind it)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paymentkit.server.invoices.rules import (
    TARGET,
    TIMESTAMP_OF,
    TRANSITIONS,
    Amounts,
    PaymentRefused,
    allowed,
    apply_payment,
)

STATUSES = ("draft", "open", "paid", "uncollectible", "void")
ALLOWED = {
    ("finalize", "draft"),
    ("pay", "open"),
    ("pay", "uncollectible"),
    ("mark_uncollectible", "open"),
    ("void", "open"),
    ("void", "uncollectible"),
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", ["finalize", "pay", "mark_uncollectible", "void"])
def test_allowed_matches_the_contract(action: str, status: str) -> None:
    assert allowed(action, status) is ((action, status) in ALLOWED)


def test_paid_and_void_are_final() -> None:
    for action in TRANSITIONS:
        assert not allowed(action, "paid")
        assert not allowed(action, "void")


def test_targets_and_timestamps() -> None:
    assert TARGET == {"finalize": "open", "mark_uncollectible": "uncollectible", "void": "void"}
    assert TIMESTAMP_OF == {
        "finalize": "finalized_at",
        "mark_uncollectible": "marked_uncollectible_at",
        "void": "voided_at",
    }


def test_remaining() -> None:
    assert Amounts(1000, 300).remaining == 700
    assert Amounts(10**40, 1).remaining == 10**40 - 1


def test_partial_then_full_payment() -> None:
    a = apply_payment(Amounts(1000, 0), 300)
    assert a == Amounts(1000, 300) and a.remaining == 700
    b = apply_payment(a, 700)
    assert b == Amounts(1000, 1000) and b.remaining == 0


def test_no_amount_pays_what_remains() -> None:
    assert apply_payment(Amounts(1000, 250), None) == Amounts(1000, 1000)
    assert apply_payment(Amounts(10**40 + 1, 1), None) == Amounts(10**40 + 1, 10**40 + 1)


@pytest.mark.parametrize("payment", [0, -1, -(10**40), 701, 10**40])
def test_refused_payments(payment: int) -> None:
    before = Amounts(1000, 300)
    with pytest.raises(PaymentRefused):
        apply_payment(before, payment)
    assert before == Amounts(1000, 300)


def test_nothing_remaining_refuses_a_default_payment() -> None:
    with pytest.raises(PaymentRefused):
        apply_payment(Amounts(1000, 1000), None)
    with pytest.raises(PaymentRefused):
        apply_payment(Amounts(0, 0), None)


def test_payment_refused_is_a_value_error() -> None:
    assert issubclass(PaymentRefused, ValueError)


def test_large_values_are_exact() -> None:
    due = 123456789012345678901234567890123456789
    a = apply_payment(Amounts(due, 0), due // 3)
    assert a.paid == due // 3 and a.remaining == due - due // 3
    assert apply_payment(a, a.remaining) == Amounts(due, due)


@given(
    due=st.integers(min_value=1, max_value=10**60),
    payments=st.lists(st.integers(min_value=-(10**20), max_value=10**61), max_size=20),
)
def test_payments_never_exceed_what_is_due(due: int, payments: list[int]) -> None:
    amounts = Amounts(due, 0)
    for payment in payments:
        try:
            after = apply_payment(amounts, payment)
        except PaymentRefused:
            assert payment <= 0 or payment > amounts.remaining
            continue
        assert 0 < payment <= amounts.remaining
        assert after.paid == amounts.paid + payment
        amounts = after
        assert 0 <= amounts.paid <= amounts.due
        assert amounts.remaining == amounts.due - amounts.paid
