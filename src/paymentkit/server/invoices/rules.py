"""The invoice state machine and payment arithmetic (pure, exact integers).

    draft ──finalize──▶ open ──pay (in full)──▶ paid
                         │ ╲
                         │  mark_uncollectible ──▶ uncollectible ──pay (in full)──▶ paid
                         │                          │
                         └──void──▶ void ◀──void────┘

A partial `pay` keeps the status; every other transition is refused (409 invalid_state).
"""

from __future__ import annotations

from dataclasses import dataclass

TRANSITIONS: dict[str, frozenset[str]] = {
    "finalize": frozenset({"draft"}),
    "pay": frozenset({"open", "uncollectible"}),
    "mark_uncollectible": frozenset({"open"}),
    "void": frozenset({"open", "uncollectible"}),
}
TIMESTAMP_OF = {
    "finalize": "finalized_at",
    "mark_uncollectible": "marked_uncollectible_at",
    "void": "voided_at",
}
TARGET = {"finalize": "open", "mark_uncollectible": "uncollectible", "void": "void"}


def allowed(action: str, status: str) -> bool:
    return status in TRANSITIONS[action]


@dataclass(frozen=True)
class Amounts:
    due: int
    paid: int

    @property
    def remaining(self) -> int:
        return self.due - self.paid


class PaymentRefused(ValueError):
    pass


def apply_payment(amounts: Amounts, payment: int | None) -> Amounts:
    """Pay `payment` (default: everything remaining); it must be positive and not exceed what remains."""
    amount = amounts.remaining if payment is None else payment
    if amount <= 0:
        raise PaymentRefused("amount must be greater than zero")
    if amount > amounts.remaining:
        raise PaymentRefused(
            f"amount {amount} is more than the {amounts.remaining} that remains to be paid"
        )
    return Amounts(amounts.due, amounts.paid + amount)
