"""The two clients: `PaymentKit` (blocking) and `AsyncPaymentKit` (asyncio or trio). Same
resources, same methods, same arguments; the async one's methods are awaited."""

from __future__ import annotations

from types import TracebackType
from typing import Generic, Self

import httpx

from paymentkit.sdk._endpoint import AsyncKind, K, Sender, SyncKind
from paymentkit.sdk._transport import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    AsyncTransport,
    SyncTransport,
    resolve_config,
)
from paymentkit.sdk.resources import (
    Customers,
    Events,
    Invoices,
    PaymentCurrencies,
    PaymentMethods,
    Subscriptions,
    WebhookEndpoints,
)


class _Resources(Generic[K]):
    customers: Customers[K]
    invoices: Invoices[K]
    subscriptions: Subscriptions[K]
    payment_methods: PaymentMethods[K]
    payment_currencies: PaymentCurrencies[K]
    events: Events[K]
    webhook_endpoints: WebhookEndpoints[K]

    def __init__(self, sender: Sender) -> None:
        self.customers = Customers(sender)
        self.invoices = Invoices(sender)
        self.subscriptions = Subscriptions(sender)
        self.payment_methods = PaymentMethods(sender)
        self.payment_currencies = PaymentCurrencies(sender)
        self.events = Events(sender)
        self.webhook_endpoints = WebhookEndpoints(sender)


class PaymentKit(_Resources[SyncKind]):
    """A client of a paymentkit server.

    ```python
    with PaymentKit() as pk:  # PAYMENTKIT_API_KEY, PAYMENTKIT_BASE_URL
        customer = pk.customers.create(name="Ada", email="ada@example.com")
    ```

    `api_key` defaults to $PAYMENTKIT_API_KEY (a `ConfigurationError` when neither is set);
    `base_url` to $PAYMENTKIT_BASE_URL, else http://127.0.0.1:8080. `timeout` is in seconds per
    attempt (or an `httpx.Timeout`); connection errors, timeouts, 429 and 5xx answers are retried
    up to `max_retries` times with backoff. Connections are pooled and reused: make one client and
    close it (or use `with`).

    For tests, `http_client` (an `httpx.Client`, such as Starlette's `TestClient`) or `transport`
    (an `httpx.BaseTransport`, such as `httpx.MockTransport`) replace the network.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        config = resolve_config(api_key, base_url, timeout, max_retries)
        self._transport = SyncTransport(config, http_client, transport)
        super().__init__(self._transport)

    @property
    def base_url(self) -> str:
        return self._transport.config.base_url

    @property
    def max_retries(self) -> int:
        return self._transport.config.max_retries

    def close(self) -> None:
        """Close the connections (an `http_client` passed in is left to its owner)."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PaymentKit(base_url={self.base_url!r})"


class AsyncPaymentKit(_Resources[AsyncKind]):
    """The async client: the same resources and methods as `PaymentKit`, awaited.

    ```python
    async with AsyncPaymentKit() as pk:
        customer = await pk.customers.retrieve("cus_…")
        page = await pk.customers.list(page_size=50)
        async for c in page.auto_paging_iter():
            ...
    ```

    Arguments as for `PaymentKit`; `http_client` is an `httpx.AsyncClient` and `transport` an
    `httpx.AsyncBaseTransport` (such as `httpx.ASGITransport(app)` or `httpx.MockTransport`).
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = resolve_config(api_key, base_url, timeout, max_retries)
        self._transport = AsyncTransport(config, http_client, transport)
        super().__init__(self._transport)

    @property
    def base_url(self) -> str:
        return self._transport.config.base_url

    @property
    def max_retries(self) -> int:
        return self._transport.config.max_retries

    async def close(self) -> None:
        """Close the connections (an `http_client` passed in is left to its owner)."""
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncPaymentKit(base_url={self.base_url!r})"
