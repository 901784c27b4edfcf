"""Billing objects on the wire: payment methods, payment currencies, subscriptions, invoices, and
the customer's overdue-invoices summary."""

from __future__ import annotations

import builtins
from typing import Annotated, Literal, get_args

import msgspec
from msgspec import UNSET, UnsetType

from paymentkit.schemas.common import Amount, ListPage, Metadata, MetadataMap, SettingsMap
from paymentkit.schemas.customers import Customer

# Payment Kit types it `LiteralUnion<'stripe' | 'arcblock' | 'ethereum' | 'bitcoin' | 'base',
# string>`, and the reference document's own overdue example uses `card`: any short lower-case
# identifier (at most 16 characters: the column's width), the known ones named for completion.
KnownMethodType = Literal["stripe", "arcblock", "ethereum", "bitcoin", "base"]
KNOWN_METHOD_TYPES: tuple[str, ...] = get_args(KnownMethodType)
METHOD_TYPE_PATTERN = "^[a-z][a-z0-9_]{0,15}$"
MethodType = Annotated[
    str,
    msgspec.Meta(
        pattern=METHOD_TYPE_PATTERN,
        description="A lower-case identifier (a letter, then up to 15 letters, digits or _)."
        " Known: stripe, arcblock, ethereum, bitcoin, base; others, such as card, are kept as"
        " given.",
        examples=[*KNOWN_METHOD_TYPES, "card"],
    ),
]
SubscriptionStatus = Literal[
    "active", "past_due", "paused", "canceled", "incomplete", "incomplete_expired", "trialing"
]
InvoiceStatus = Literal["draft", "open", "paid", "uncollectible", "void"]
MetadataInput = MetadataMap | None | UnsetType
Str = str | None | UnsetType
# Amounts in requests: a decimal integer string (or a JSON integer), any size up to 78 digits.
# Required text that may not be blank (checked after trimming by the server).
NonEmpty = Annotated[str, msgspec.Meta(extra_json_schema={"minLength": 1, "pattern": "\\S"})]
AmountInput = Annotated[str | int, msgspec.Meta(description="Integer amount, as a string")]

REDACTED = "[redacted]"


# -- payment methods --------------------------------------------------------------------------


class PaymentMethodCreate(msgspec.Struct, forbid_unknown_fields=True):
    """`settings` (API keys of the processor, for example) are encrypted at rest and never returned;
    responses show each settings key with the value "[redacted]"."""

    type: MethodType
    name: NonEmpty
    description: Str = UNSET
    active: bool | UnsetType = UNSET
    settings: SettingsMap | UnsetType | None = UNSET
    metadata: MetadataInput = UNSET


class PaymentMethodUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Partial update; `settings` and `metadata` merge key by key (null removes a key)."""

    name: str | UnsetType = UNSET
    description: Str = UNSET
    active: bool | UnsetType = UNSET
    settings: SettingsMap | UnsetType | None = UNSET
    metadata: MetadataInput = UNSET


class PaymentMethod(msgspec.Struct, kw_only=True):
    id: str
    object: str = "payment_method"
    type: str
    name: str
    description: str | None
    active: bool
    settings: dict[str, str]
    livemode: bool
    metadata: Metadata
    created_at: str
    updated_at: str


# -- payment currencies -----------------------------------------------------------------------


class PaymentCurrencyCreate(msgspec.Struct, forbid_unknown_fields=True):
    payment_method_id: str
    name: NonEmpty
    symbol: NonEmpty
    decimal: Annotated[int, msgspec.Meta(ge=0, le=18)]
    active: bool | UnsetType = UNSET
    metadata: MetadataInput = UNSET


class PaymentCurrencyUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: str | UnsetType = UNSET
    symbol: str | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    metadata: MetadataInput = UNSET


class PaymentCurrency(msgspec.Struct, kw_only=True):
    id: str
    object: str = "payment_currency"
    payment_method_id: str
    name: str
    symbol: str
    decimal: int
    active: bool
    livemode: bool
    metadata: Metadata
    created_at: str
    updated_at: str


# -- subscriptions ----------------------------------------------------------------------------


class SubscriptionCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A subscription of a customer in a currency; `status` defaults to active (create it as
    `canceled` is refused: cancel instead)."""

    customer_id: str
    currency_id: str
    status: SubscriptionStatus | UnsetType = UNSET
    metadata: MetadataInput = UNSET


class Subscription(msgspec.Struct, kw_only=True):
    id: str
    object: str = "subscription"
    customer_id: str
    currency_id: str
    status: str
    canceled_at: int | None
    livemode: bool
    metadata: Metadata
    created_at: str
    updated_at: str


# -- invoices ---------------------------------------------------------------------------------


class InvoiceCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A draft invoice. `due_date`, `period_start` and `period_end` are unix seconds."""

    customer_id: str
    currency_id: str
    amount_due: AmountInput
    subscription_id: str | UnsetType | None = UNSET
    description: Str = UNSET
    due_date: int | UnsetType | None = UNSET
    period_start: int | UnsetType | None = UNSET
    period_end: int | UnsetType | None = UNSET
    metadata: MetadataInput = UNSET


class InvoicePay(msgspec.Struct, forbid_unknown_fields=True):
    """Without `amount`, pays what remains."""

    amount: AmountInput | UnsetType = UNSET


class StatusTransitions(msgspec.Struct):
    finalized_at: int | None = None
    marked_uncollectible_at: int | None = None
    paid_at: int | None = None
    voided_at: int | None = None


class Invoice(msgspec.Struct, kw_only=True):
    id: str
    object: str = "invoice"
    customer_id: str
    currency_id: str
    subscription_id: str | None
    status: str
    amount_due: Amount
    amount_paid: Amount
    amount_remaining: Amount
    due_date: int | None
    period_start: int | None
    period_end: int | None
    description: str | None
    status_transitions: StatusTransitions
    livemode: bool
    metadata: Metadata
    created_at: str
    updated_at: str


# -- lists ------------------------------------------------------------------------------------


class PaymentMethodList(ListPage):
    list: builtins.list[PaymentMethod]


class PaymentCurrencyList(ListPage):
    list: builtins.list[PaymentCurrency]


class SubscriptionList(ListPage):
    list: builtins.list[Subscription]


class InvoiceList(ListPage):
    list: builtins.list[Invoice]


# -- overdue ----------------------------------------------------------------------------------


class OverdueSummary(msgspec.Struct):
    amount: Amount
    currency: PaymentCurrency
    method: PaymentMethod


class OverdueInvoices(msgspec.Struct):
    customer: Customer
    invoices: builtins.list[Invoice]
    summary: dict[str, OverdueSummary]
    subscriptionCount: int
