"""The error tree. Each error carries its HTTP status and a stable `code` (see API.md, Errors).

APIError
├── InvalidRequest          400 invalid_request
│   └── UnknownParameter    400 unknown_parameter
├── MissingReference        400 resource_missing   (an id in the body names nothing)
├── AuthenticationRequired  401 authentication_required
├── InvalidSignature        401 invalid_signature
├── Forbidden               403 forbidden
├── NotFound                404 resource_missing
├── ResourceExists          409 resource_exists
├── InvalidState            409 invalid_state
├── IdempotencyKeyReused    409 idempotency_key_reused
├── IdempotencyKeyInUse     409 idempotency_key_in_use (with Retry-After)
├── PayloadTooLarge         413 payload_too_large
├── RateLimited             429 rate_limited          (with Retry-After; the key's bucket is empty)
├── InternalError           500 internal_error
└── ServiceUnavailable      503 (with Retry-After; nothing was written, retrying is safe)
    ├── DatabaseBusy        503 database_busy         (SQLite: the write lock stayed taken)
    ├── StatementTimeout    503 timeout               (the statement timeout, or the client left)
    └── DatabaseUnavailable 503 database_unavailable  (no connection to the database)
"""

from __future__ import annotations


class APIError(Exception):
    status = 500
    code = "internal_error"
    # Seconds to wait before a retry, sent as `Retry-After` (None: no header).
    retry_after: int | None = None

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidRequest(APIError):
    status = 400
    code = "invalid_request"


class UnknownParameter(InvalidRequest):
    code = "unknown_parameter"


class MissingReference(APIError):
    status = 400
    code = "resource_missing"


class AuthenticationRequired(APIError):
    status = 401
    code = "authentication_required"


class InvalidSignature(APIError):
    status = 401
    code = "invalid_signature"


class Forbidden(APIError):
    status = 403
    code = "forbidden"


class NotFound(APIError):
    status = 404
    code = "resource_missing"


class ResourceExists(APIError):
    status = 409
    code = "resource_exists"


class InvalidState(APIError):
    status = 409
    code = "invalid_state"


class IdempotencyKeyReused(APIError):
    status = 409
    code = "idempotency_key_reused"


class IdempotencyKeyInUse(APIError):
    status = 409
    code = "idempotency_key_in_use"
    retry_after = 1  # the first request is still running (or its lease is about to lapse)


class PayloadTooLarge(APIError):
    status = 413
    code = "payload_too_large"


class RateLimited(APIError):
    """The API key made more requests per second than its mode allows (ratelimit.py)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InternalError(APIError):
    status = 500
    code = "internal_error"


class ServiceUnavailable(APIError):
    """The database could not do the work now; the answer carries `Retry-After` (seconds)."""

    status = 503
    code = "service_unavailable"
    retry_after = 1


class DatabaseBusy(ServiceUnavailable):
    code = "database_busy"


class StatementTimeout(ServiceUnavailable):
    code = "timeout"


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"
