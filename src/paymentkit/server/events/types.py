"""Event type names: Payment Kit's own list (event_types.txt, copied from its source), which
webhook endpoints' `enabled_events` are checked against, and the rule that matches a type to a
subscription (`*`, or a name)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from paymentkit.server import errors

ALL_EVENTS = "*"
# The api_version events and endpoints carry (Payment Kit's, as its objects answer it).
API_VERSION = "2023-09-05"
EVENT_TYPES: frozenset[str] = frozenset(
    line.strip()
    for line in resources.files(__package__).joinpath("event_types.txt").read_text().splitlines()
    if line.strip()
)
MAX_ENABLED_EVENTS = len(EVENT_TYPES) + 1

# The types this server emits (all in EVENT_TYPES; the test of the outbox checks it).
CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_DELETED = "customer.deleted"
INVOICE_CREATED = "invoice.created"
INVOICE_UPDATED = "invoice.updated"
INVOICE_FINALIZED = "invoice.finalized"
INVOICE_PAID = "invoice.paid"
INVOICE_MARKED_UNCOLLECTIBLE = "invoice.marked_uncollectible"
INVOICE_VOIDED = "invoice.voided"
SUBSCRIPTION_CREATED = "customer.subscription.created"
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
PAYMENT_METHOD_UPDATED = "payment_method.updated"
EMITTED = frozenset(
    {
        CUSTOMER_CREATED,
        CUSTOMER_UPDATED,
        CUSTOMER_DELETED,
        INVOICE_CREATED,
        INVOICE_UPDATED,
        INVOICE_FINALIZED,
        INVOICE_PAID,
        INVOICE_MARKED_UNCOLLECTIBLE,
        INVOICE_VOIDED,
        SUBSCRIPTION_CREATED,
        SUBSCRIPTION_DELETED,
        PAYMENT_METHOD_UPDATED,
    }
)


def enabled_events(value: Iterable[str], param: str = "enabled_events") -> list[str]:
    """A subscription list as stored: known names or `*`, each once, in the order given; at
    least one (400 naming the first unknown name otherwise)."""
    out: list[str] = []
    for i, name in enumerate(value):
        if name != ALL_EVENTS and name not in EVENT_TYPES:
            raise errors.InvalidRequest(
                f"{name!r} is not one of Payment Kit's event types (or '*' for all)",
                f"{param}.{i}",
            )
        if name not in out:
            out.append(name)
    if not out:
        raise errors.InvalidRequest("enabled_events needs at least one event type or '*'", param)
    return out


def subscribed(enabled: Iterable[str], event_type: str) -> bool:
    return any(name in (ALL_EVENTS, event_type) for name in enabled)
