"""One class per API resource; each method is one API call (see `paymentkit.sdk._endpoint`)."""

from paymentkit.sdk.resources.customers import Customers
from paymentkit.sdk.resources.invoices import Invoices
from paymentkit.sdk.resources.payment_currencies import PaymentCurrencies
from paymentkit.sdk.resources.payment_methods import PaymentMethods
from paymentkit.sdk.resources.subscriptions import Subscriptions

__all__ = ["Customers", "Invoices", "PaymentCurrencies", "PaymentMethods", "Subscriptions"]
