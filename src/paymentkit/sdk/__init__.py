"""The Python SDK of paymentkit: `PaymentKit` (sync) and `AsyncPaymentKit` (async).

```python
from paymentkit import PaymentKit

with PaymentKit(api_key="sk_test_…") as pk:
    ada = pk.customers.create(name="Ada Lovelace", email="ada@example.com")
    for customer in pk.customers.list(page_size=100).auto_paging_iter():
        print(customer.id, customer.name)
```

Layout: `_transport` (configuration, auth, retries, idempotency keys, error mapping, the two
transports), `_endpoint` (how one resource method serves both clients), `_pagination` (`Page`,
auto-paging), `resources/` (one class per resource), `types` (the objects), `errors` (the
exception tree).
"""

from paymentkit.sdk._client import AsyncPaymentKit, PaymentKit
from paymentkit.sdk._pagination import AutoPager, Page
from paymentkit.sdk._params import NOT_GIVEN, AddressParams, NotGiven
from paymentkit.sdk.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    IdempotencyError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PaymentKitError,
    PermissionDeniedError,
    RateLimitError,
)
from paymentkit.sdk.types import (
    Address,
    Customer,
    DeletedObject,
    Event,
    EventData,
    EventRequest,
    Invoice,
    OverdueInvoices,
    OverdueSummary,
    PaymentCurrency,
    PaymentKitObject,
    PaymentMethod,
    StatusTransitions,
    Subscription,
    WebhookAttempt,
    WebhookEndpoint,
)

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Address",
    "AddressParams",
    "AsyncPaymentKit",
    "AuthenticationError",
    "AutoPager",
    "ConfigurationError",
    "ConflictError",
    "Customer",
    "DeletedObject",
    "Event",
    "EventData",
    "EventRequest",
    "IdempotencyError",
    "InternalServerError",
    "InvalidRequestError",
    "Invoice",
    "NotFoundError",
    "NotGiven",
    "OverdueInvoices",
    "OverdueSummary",
    "Page",
    "PayloadTooLargeError",
    "PaymentCurrency",
    "PaymentKit",
    "PaymentKitError",
    "PaymentKitObject",
    "PaymentMethod",
    "PermissionDeniedError",
    "RateLimitError",
    "StatusTransitions",
    "Subscription",
    "WebhookAttempt",
    "WebhookEndpoint",
]
