"""The objects the API answers with, as typed Python objects.

Attribute access and editor completion for every documented field. Amounts (`balance`,
`amount_due`, `amount_paid`, `amount_remaining`, a summary's `amount`) are exact `int`s, however
large; on the wire they stay decimal strings and `to_dict()` gives them back as such. Fields a newer
server adds are kept: they are reachable as attributes (`obj.new_field`), in `obj.extra_fields`,
and in `obj.to_dict()`. Timestamps are the wire's ISO-8601 strings, except those the API keeps as
unix seconds (`due_date`, `period_start`, `period_end`, `canceled_at`, `status_transitions`).
An event's `data.object` stays the plain dict the server sent (its shape depends on the type;
`Customer.from_wire(event.data.object)` and the like give the typed object).
"""

from __future__ import annotations

import copy
import keyword
from typing import Any, ClassVar, Self

import msgspec

__all__ = [
    "Address",
    "Customer",
    "DeletedObject",
    "Event",
    "EventData",
    "EventRequest",
    "Invoice",
    "OverdueInvoices",
    "OverdueSummary",
    "PaymentCurrency",
    "PaymentKitObject",
    "PaymentMethod",
    "StatusTransitions",
    "Subscription",
    "WebhookAttempt",
    "WebhookEndpoint",
]

Metadata = dict[str, str | int | float | bool]


class PaymentKitObject(msgspec.Struct, kw_only=True, dict=True):
    """Base of every API object: decoding from the wire and back, unknown fields kept."""

    __amount_fields__: ClassVar[frozenset[str]] = frozenset()
    # Fields the server sends only sometimes: left out of `to_dict()` while None, so the wire
    # form round-trips (a `secret` shown only on create, `previous_attributes` on updates only).
    __omitted_when_none__: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        """Build the object from decoded JSON; amount strings become ints, unknown fields stay."""
        obj = msgspec.convert(data, cls, strict=False)
        _keep_extra_fields(obj, data)
        return obj

    @property
    def extra_fields(self) -> dict[str, Any]:
        """Fields the server sent that this version of the SDK does not know."""
        extra: dict[str, Any] = self.__dict__.get("_extra_fields", {})
        return extra

    def to_dict(self) -> dict[str, Any]:
        """The object in its wire form (JSON-ready; amounts as decimal strings)."""
        out: dict[str, Any] = {}
        for attr, wire in zip(self.__struct_fields__, self.__struct_encode_fields__, strict=True):
            value = getattr(self, attr)
            if value is None and attr in self.__omitted_when_none__:
                continue
            if attr in self.__amount_fields__ and isinstance(value, int):
                out[wire] = str(value)
            else:
                out[wire] = _to_wire(value)
        out.update(copy.deepcopy(self.extra_fields))
        return out


def _to_wire(value: Any) -> Any:
    if isinstance(value, PaymentKitObject):
        return value.to_dict()
    if isinstance(value, list):
        return [_to_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_wire(v) for k, v in value.items()}
    return value


def _keep_extra_fields(value: Any, raw: Any) -> None:
    if isinstance(value, PaymentKitObject):
        if not isinstance(raw, dict):
            return
        known = value.__struct_encode_fields__
        extra = {k: v for k, v in raw.items() if k not in known}
        if extra:
            value.__dict__["_extra_fields"] = extra
            for name, item in extra.items():
                if (
                    name.isidentifier()
                    and not name.startswith("_")
                    and not keyword.iskeyword(name)
                    and not hasattr(type(value), name)
                ):
                    value.__dict__[name] = item
        for attr, wire in zip(value.__struct_fields__, known, strict=True):
            _keep_extra_fields(getattr(value, attr), raw.get(wire))
    elif isinstance(value, list) and isinstance(raw, list):
        for item, raw_item in zip(value, raw, strict=False):
            _keep_extra_fields(item, raw_item)
    elif isinstance(value, dict) and isinstance(raw, dict):
        for key, item in value.items():
            _keep_extra_fields(item, raw.get(key))


class Address(PaymentKitObject, kw_only=True, dict=True):
    """A postal address; `country` is an ISO 3166-1 alpha-2 code."""

    country: str | None = None
    state: str | None = None
    city: str | None = None
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None


class Customer(PaymentKitObject, kw_only=True, dict=True):
    """A customer. `balance` is an integer amount; `delinquent` is true while one of the
    customer's invoices is uncollectible."""

    __amount_fields__ = frozenset({"balance"})

    id: str
    object: str = "customer"
    did: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: Address | None = None
    description: str | None = None
    balance: int = 0
    delinquent: bool = False
    livemode: bool
    metadata: Metadata = msgspec.field(default_factory=dict)
    created_at: str
    updated_at: str


class StatusTransitions(PaymentKitObject, kw_only=True, dict=True):
    """When an invoice changed status, in unix seconds (None until it happens)."""

    finalized_at: int | None = None
    marked_uncollectible_at: int | None = None
    paid_at: int | None = None
    voided_at: int | None = None


class Invoice(PaymentKitObject, kw_only=True, dict=True):
    """An invoice: `draft`, `open`, `paid`, `uncollectible` or `void`. Amounts are integers in the
    currency's smallest unit, with `amount_remaining == amount_due - amount_paid`."""

    __amount_fields__ = frozenset({"amount_due", "amount_paid", "amount_remaining"})

    id: str
    object: str = "invoice"
    customer_id: str
    currency_id: str
    subscription_id: str | None = None
    status: str
    amount_due: int
    amount_paid: int
    amount_remaining: int
    due_date: int | None = None
    period_start: int | None = None
    period_end: int | None = None
    description: str | None = None
    status_transitions: StatusTransitions = msgspec.field(default_factory=StatusTransitions)
    livemode: bool
    metadata: Metadata = msgspec.field(default_factory=dict)
    created_at: str
    updated_at: str


class Subscription(PaymentKitObject, kw_only=True, dict=True):
    """A subscription of a customer in a currency; `canceled_at` is unix seconds."""

    id: str
    object: str = "subscription"
    customer_id: str
    currency_id: str
    status: str
    canceled_at: int | None = None
    livemode: bool
    metadata: Metadata = msgspec.field(default_factory=dict)
    created_at: str
    updated_at: str


class PaymentMethod(PaymentKitObject, kw_only=True, dict=True):
    """A payment method. `settings` shows which secret settings are set, each as "[redacted]"."""

    id: str
    object: str = "payment_method"
    type: str
    name: str
    description: str | None = None
    active: bool = True
    settings: dict[str, str] = msgspec.field(default_factory=dict)
    livemode: bool
    metadata: Metadata = msgspec.field(default_factory=dict)
    created_at: str
    updated_at: str


class PaymentCurrency(PaymentKitObject, kw_only=True, dict=True):
    """A currency of a payment method; amounts in it are integers of 10^-`decimal` units."""

    id: str
    object: str = "payment_currency"
    payment_method_id: str
    name: str
    symbol: str
    decimal: int
    active: bool = True
    livemode: bool
    metadata: Metadata = msgspec.field(default_factory=dict)
    created_at: str
    updated_at: str


class OverdueSummary(PaymentKitObject, kw_only=True, dict=True):
    """What a customer owes in one currency: the exact sum of `amount_remaining` of the
    uncollectible invoices, with the currency and its payment method."""

    __amount_fields__ = frozenset({"amount"})

    amount: int
    currency: PaymentCurrency
    method: PaymentMethod


class OverdueInvoices(PaymentKitObject, kw_only=True, dict=True):
    """A customer's overdue invoices: every uncollectible invoice (oldest first), a summary per
    currency id, and the number of distinct subscriptions among those invoices."""

    customer: Customer
    invoices: list[Invoice] = msgspec.field(default_factory=list)
    summary: dict[str, OverdueSummary] = msgspec.field(default_factory=dict)
    subscription_count: int = msgspec.field(default=0, name="subscriptionCount")


class DeletedObject(PaymentKitObject, kw_only=True, dict=True):
    """The answer of a delete: the id, the object type and `deleted: True`."""

    id: str
    object: str
    deleted: bool = True


class EventRequest(PaymentKitObject, kw_only=True, dict=True):
    """The request that made an event: its `req_…` id, the `Idempotency-Key` it carried (None
    without one) and the id of the API key that sent it (None when no key did)."""

    id: str | None = None
    idempotency_key: str | None = None
    requested_by: str | None = None


class EventData(PaymentKitObject, kw_only=True, dict=True):
    """What an event carries: `object`, the object after the change (a dict as sent), and on
    `*.updated` events `previous_attributes`, the old values of the fields that changed."""

    __omitted_when_none__ = frozenset({"previous_attributes"})

    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class Event(PaymentKitObject, kw_only=True, dict=True):
    """Something that changed, such as `customer.updated` or `invoice.paid`, recorded by the
    same transaction as the change. `object_type` and `object_id` name the object;
    `pending_webhooks` is how many endpoints still have it to deliver."""

    id: str
    object: str = "event"
    type: str
    api_version: str
    data: EventData
    object_type: str
    object_id: str
    request: EventRequest = msgspec.field(default_factory=EventRequest)
    pending_webhooks: int = 0
    livemode: bool
    metadata: Metadata = msgspec.field(default_factory=dict)
    created_at: str
    updated_at: str


class WebhookEndpoint(PaymentKitObject, kw_only=True, dict=True):
    """A URL events are sent to: the `enabled_events` type names (or `["*"]`), `status`
    `enabled` or `disabled`. `secret` (`whsec_…`, for `paymentkit.webhooks.verify`) is set only
    on the answers of `create` and `rotate_secret`, the only times the server shows it; it is
    None otherwise, and never shown by `repr`."""

    __omitted_when_none__ = frozenset({"secret"})

    id: str
    object: str = "webhook_endpoint"
    url: str
    description: str | None = None
    enabled_events: list[str]
    status: str
    api_version: str
    created_via: str = "api"
    livemode: bool
    metadata: Metadata = msgspec.field(default_factory=dict)
    created_at: str
    updated_at: str
    secret: str | None = None

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'<secret>' if name == 'secret' and value is not None else repr(value)}"
            for name in self.__struct_fields__
            for value in (getattr(self, name),)
        )
        return f"WebhookEndpoint({shown})"


class WebhookAttempt(PaymentKitObject, kw_only=True, dict=True):
    """One attempt to deliver an event to an endpoint: `status` `succeeded` or `failed`, the
    receiver's `response_status` and the first 2 KB of its `response_body` (None when no answer
    came; `error` then says why), how long it took (`duration_ms`), and `retry_count` (0 for
    the first attempt)."""

    id: str
    object: str = "webhook_attempt"
    livemode: bool
    event_id: str
    webhook_endpoint_id: str
    status: str
    response_status: int | None = None
    response_body: str | None = None
    retry_count: int = 0
    duration_ms: int | None = None
    error: str | None = None
    created_at: str
