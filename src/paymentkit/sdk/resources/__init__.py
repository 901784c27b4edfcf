"""One class per API resource; each method is one API call (see `paymentkit.sdk._endpoint`)."""

from paymentkit.sdk.resources.customers import Customers
from paymentkit.sdk.resources.events import Events
from paymentkit.sdk.resources.invoices import Invoices
from paymentkit.sdk.resources.payment_currencies import PaymentCurrencies
from paymentkit.sdk.resources.payment_methods import PaymentMethods
from paymentkit.sdk.resources.subscriptions import Subscriptions
from paymentkit.sdk.resources.webhook_endpoints import WebhookEndpoints

__all__ = [
    "Customers",
    "Events",
    "Invoices",
    "PaymentCurrencies",
    "PaymentMethods",
    "Subscriptions",
    "WebhookEndpoints",
]
