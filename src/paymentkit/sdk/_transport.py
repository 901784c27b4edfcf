"""Everything between a resource call and the network, in one place.

Pure policy shared by both clients — configuration from the environment, request building
(`Authorization: Bearer`, JSON body, `Idempotency-Key`), when to retry and how long to wait, and
the mapping of error answers to exceptions — then the two small transports over `httpx.Client` and
`httpx.AsyncClient` whose `send` loops are the only code written twice.

Retries: a connection error, a timeout, a 429, a 5xx or a 409 `idempotency_key_in_use` (the same
key's first request still runs on the server, or its claim awaits takeover after a crash) is
retried up to `max_retries` times with capped exponential backoff and full jitter (when the answer
has `Retry-After`, that wait instead, up to a minute). No other answer is retried. Every POST,
PUT and DELETE carries an `Idempotency-Key` — the caller's, or a random one made once per call —
and its retries send the same key, so the server runs a retried write at most once and replays
its first answer.
"""

from __future__ import annotations

import email.utils
import os
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import anyio
import httpx
import msgspec

from paymentkit.sdk import errors
from paymentkit.sdk._endpoint import Sender, Spec

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
API_KEY_ENV = "PAYMENTKIT_API_KEY"
BASE_URL_ENV = "PAYMENTKIT_BASE_URL"

INITIAL_BACKOFF = 0.5  # seconds before the first retry, at most (full jitter)
MAX_BACKOFF = 8.0  # the backoff ceiling doubles per attempt up to this
MAX_RETRY_AFTER = 60.0  # a longer Retry-After is cut to this
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Answers that mean "try again": timeouts, refused/reset connections, a connection the server
# closed mid-answer. Not retried: a bad URL or scheme, redirects, decoding errors.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)
# Every exception httpx raises, so none reaches the caller raw.
HTTPX_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)

_jitter = random.Random()  # noqa: S311 - backoff jitter, not security

# Sleeps, looked up at call time so tests can replace them.
sync_sleep = time.sleep
async_sleep = anyio.sleep


# -- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    api_key: str
    base_url: str
    timeout: httpx.Timeout
    max_retries: int
    user_agent: str

    def __repr__(self) -> str:  # never print the key
        return f"Config(base_url={self.base_url!r}, max_retries={self.max_retries})"


def resolve_config(
    api_key: str | None,
    base_url: str | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
) -> Config:
    """Arguments first, then PAYMENTKIT_API_KEY / PAYMENTKIT_BASE_URL, then defaults."""
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    if not key or not key.strip():
        raise errors.ConfigurationError(
            f"No API key: pass PaymentKit(api_key='sk_test_…') or set {API_KEY_ENV} "
            "(`paymentkit serve` prints one on its first start; `paymentkit keys create` makes more)"
        )
    url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise errors.ConfigurationError(
            f"base_url must start with http:// or https://, not {url!r} ({BASE_URL_ENV})"
        )
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise errors.ConfigurationError(f"max_retries must be an int ≥ 0, not {max_retries!r}")
    if isinstance(timeout, httpx.Timeout):
        limits = timeout
    else:
        seconds = DEFAULT_TIMEOUT if timeout is None else timeout
        limits = httpx.Timeout(seconds, connect=min(seconds, 10.0))
    from paymentkit import __version__

    return Config(key.strip(), url, limits, max_retries, f"paymentkit-python/{__version__}")


# -- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A request ready to send, identical on every retry (Idempotency-Key included)."""

    method: str
    url: str
    params: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    content: bytes | None

    @property
    def target(self) -> str:
        return f"{self.method} {self.url}"


def prepare(config: Config, spec: Spec[Any]) -> Prepared:
    headers = {
        "Authorization": f"Bearer {config.api_key}",
        "Accept": "application/json",
        "User-Agent": config.user_agent,
    }
    content = None
    if spec.body is not None:
        content = msgspec.json.encode(spec.body)
        headers["Content-Type"] = "application/json"
    if spec.method in WRITE_METHODS:
        headers["Idempotency-Key"] = spec.idempotency_key or str(uuid.uuid4())
    return Prepared(spec.method, config.base_url + spec.path, spec.query, headers, content)


# -- retry policy -----------------------------------------------------------------------------


def should_retry(
    outcome: int | BaseException, attempt: int, max_retries: int, code: str | None = None
) -> bool:
    """Whether to retry after attempt number `attempt` (0 for the first) ended in `outcome`, a
    status code (with the error body's `code`, when it has one) or a transport exception."""
    if attempt >= max_retries:
        return False
    if isinstance(outcome, BaseException):
        return isinstance(outcome, RETRYABLE_ERRORS)
    if outcome == 409:
        return code == IN_USE
    return outcome == 429 or 500 <= outcome <= 599


def retry_code(response: httpx.Response) -> str | None:
    """The error code `should_retry` needs: read from 409 answers only (the others' status says
    enough)."""
    if response.status_code != 409:
        return None
    try:
        body = _decode_json(response.content)
    except msgspec.DecodeError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def sleep_seconds(attempt: int, retry_after: float | None = None) -> float:
    """How long to wait before retry `attempt + 1`: the server's Retry-After when it gave one (at
    most MAX_RETRY_AFTER), else a random time up to INITIAL_BACKOFF × 2^attempt, at most
    MAX_BACKOFF ("full jitter")."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
    ceiling = min(MAX_BACKOFF, INITIAL_BACKOFF * (2**attempt))
    return _jitter.uniform(0, ceiling)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(seconds, 0.0)


# -- answers ----------------------------------------------------------------------------------

# status → exception; 409s with these codes are IdempotencyError.
ERROR_CLASSES: dict[int, type[errors.APIError]] = {
    400: errors.InvalidRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    405: errors.InvalidRequestError,
    409: errors.ConflictError,
    413: errors.PayloadTooLargeError,
    429: errors.RateLimitError,
}
IN_USE = "idempotency_key_in_use"
IDEMPOTENCY_CODES = frozenset({"idempotency_key_reused", IN_USE})


def error_class(status: int, code: str | None) -> type[errors.APIError]:
    if status == 409 and code in IDEMPOTENCY_CODES:
        return errors.IdempotencyError
    if status >= 500:
        return errors.InternalServerError
    return ERROR_CLASSES.get(status, errors.APIError)


def _decode_json(content: bytes) -> Any:
    return msgspec.json.decode(content) if content.strip() else None


def api_error(response: httpx.Response) -> errors.APIError:
    """The exception for an error answer, from its status and the flat body's `code`."""
    try:
        body = _decode_json(response.content)
    except msgspec.DecodeError:
        body = None
    fields = body if isinstance(body, dict) else {}

    def text(name: str) -> str | None:
        value = fields.get(name)
        return value if isinstance(value, str) and value else None

    code = text("code")
    message = text("error") or text("message")
    if message is None:
        snippet = response.text.strip()[:200]
        message = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        if snippet:
            message += f": {snippet}"
    return error_class(response.status_code, code)(
        message,
        status=response.status_code,
        code=code,
        param=text("param"),
        request_id=text("request_id") or response.headers.get("x-request-id"),
        body=body,
    )


def finish(response: httpx.Response, spec: Spec[T], sender: Sender) -> T:
    """The call's result for a final answer, or the exception for an error answer."""
    if response.status_code >= 400:
        raise api_error(response)
    request_id = response.headers.get("x-request-id")
    try:
        data = _decode_json(response.content)
        return spec.decode(data, sender, spec)
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError, TypeError, ValueError) as exc:
        raise errors.APIError(
            f"Unexpected answer to {spec.method} {spec.path}: {exc}",
            status=response.status_code,
            request_id=request_id,
        ) from None


def connection_error(exc: Exception, request: Prepared) -> errors.APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return errors.APITimeoutError(
            f"No answer within the timeout to {request.target} ({type(exc).__name__})", cause=exc
        )
    reason = str(exc) or type(exc).__name__
    return errors.APIConnectionError(
        f"Could not get an answer to {request.target}: {reason}", cause=exc
    )


# -- the two transports -----------------------------------------------------------------------


class SyncTransport:
    """Sends specs over an `httpx.Client` (one per client, so connections are reused)."""

    is_async: ClassVar[bool] = False

    def __init__(
        self,
        config: Config,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self._owns_client = http_client is None
        self._http = http_client or httpx.Client(
            timeout=config.timeout, transport=transport, follow_redirects=False
        )

    def send(self, spec: Spec[T]) -> T:
        request = prepare(self.config, spec)
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    request.method,
                    request.url,
                    params=request.params,
                    headers=request.headers,
                    content=request.content,
                )
            except HTTPX_ERRORS as exc:
                if not should_retry(exc, attempt, self.config.max_retries):
                    raise connection_error(exc, request) from None
                delay = sleep_seconds(attempt)
            else:
                code = retry_code(response)
                if not should_retry(response.status_code, attempt, self.config.max_retries, code):
                    return finish(response, spec, self)
                delay = sleep_seconds(attempt, retry_after(response.headers))
            attempt += 1
            sync_sleep(delay)

    def close(self) -> None:
        if self._owns_client:
            self._http.close()


class AsyncTransport:
    """Sends specs over an `httpx.AsyncClient`; `send` returns an awaitable."""

    is_async: ClassVar[bool] = True

    def __init__(
        self,
        config: Config,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=config.timeout, transport=transport, follow_redirects=False
        )

    async def send(self, spec: Spec[T]) -> T:
        request = prepare(self.config, spec)
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    request.method,
                    request.url,
                    params=request.params,
                    headers=request.headers,
                    content=request.content,
                )
            except HTTPX_ERRORS as exc:
                if not should_retry(exc, attempt, self.config.max_retries):
                    raise connection_error(exc, request) from None
                delay = sleep_seconds(attempt)
            else:
                code = retry_code(response)
                if not should_retry(response.status_code, attempt, self.config.max_retries, code):
                    return finish(response, spec, self)
                delay = sleep_seconds(attempt, retry_after(response.headers))
            attempt += 1
            await async_sleep(delay)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.aclose()
