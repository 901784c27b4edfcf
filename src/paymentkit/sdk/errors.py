"""Every error the SDK raises. Catch `PaymentKitError` to catch them all.

Exception tree:

* PaymentKitError                 every SDK error; has `status`, `code`, `param`, `request_id` (None
  │                               where they do not apply)
  ├── ConfigurationError          the client cannot be built (no API key found)
  ├── WebhookVerificationError    `paymentkit.webhooks.verify`: not a genuine, recent webhook
  ├── APIConnectionError          no answer: connection refused or reset, DNS, TLS, protocol
  │   └── APITimeoutError         no answer within the timeout
  └── APIError                    the server answered with an error status (`body` is its JSON)
      ├── InvalidRequestError     400: a bad value (`param` names it), unknown parameter, missing reference
      ├── AuthenticationError     401: no key, unknown or revoked key, invalid component signature
      ├── PermissionDeniedError   403: valid key, not for this (e.g. a test key asking for live mode)
      ├── NotFoundError           404: no such object in this mode
      ├── ConflictError           409: a value taken (`resource_exists`), a transition not allowed
      │   │                       (`invalid_state`)
      │   └── IdempotencyError    409: an Idempotency-Key reused with another request, or in use
      ├── PayloadTooLargeError    413: a body over 1 MiB
      ├── RateLimitError          429: too many requests (retried first, honouring Retry-After)
      └── InternalServerError     5xx: the server failed, or its database was busy, slow or out of
                                  reach (503 `database_busy`, `timeout`, `database_unavailable`:
                                  nothing was changed); retried first, honouring Retry-After

A few requests are retried before any of these is raised: see `PaymentKit(max_retries=…)`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "IdempotencyError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PaymentKitError",
    "PermissionDeniedError",
    "RateLimitError",
]


class PaymentKitError(Exception):
    """Base of every SDK error.

    `message` is the human text; `status` the HTTP status, `code` the server's stable error code,
    `param` the offending field (dotted for nested fields, e.g. `address.country`) and
    `request_id` the `req_…` id to look the request up in the server's logs. Each is None when it
    does not apply (a connection error has no status).
    """

    status: int | None = None
    code: str | None = None
    param: str | None = None
    request_id: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(PaymentKitError):
    """The client cannot be built as configured, e.g. no API key was given or found."""


class APIConnectionError(PaymentKitError):
    """No answer from the server: it is down, unreachable, or dropped the connection.

    Raised after the retries are spent. `cause` is the underlying transport exception, kept for
    debugging but not chained, so an unhandled error shows one readable line.
    """

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout."""


class APIError(PaymentKitError):
    """The server answered with an error status. `body` is the decoded JSON body (or None)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        details = [str(self.status)]
        if self.code:
            details.append(self.code)
        if self.param:
            details.append(f"param {self.param}")
        if self.request_id:
            details.append(f"request {self.request_id}")
        return f"{self.message} ({', '.join(details)})"


class InvalidRequestError(APIError):
    """400: a value of the wrong type or format (`param` names it), an unknown parameter, or an id
    in the body that names no object (`code` `resource_missing`)."""


class AuthenticationError(APIError):
    """401: no API key, an unknown or revoked key, or a component signature that does not verify."""


class PermissionDeniedError(APIError):
    """403: the key is valid but not for this request."""


class NotFoundError(APIError):
    """404: no such object in this mode."""


class ConflictError(APIError):
    """409: a unique value already taken (`resource_exists`) or a transition the object's status
    does not allow (`invalid_state`)."""


class IdempotencyError(ConflictError):
    """409: the Idempotency-Key was already used with a different request
    (`idempotency_key_reused`), or its first request is still running (`idempotency_key_in_use`)."""


class PayloadTooLargeError(APIError):
    """413: the request body is over the server's limit."""


class RateLimitError(APIError):
    """429: too many requests; raised once the retries (which honour Retry-After) are spent."""


class InternalServerError(APIError):
    """5xx: the server failed; raised once the retries are spent."""
