"""The HTTP plumbing every route shares: the endpoint registry, request parsing, responses.

A route is an `Endpoint`: method, path, handler and what the OpenAPI description needs (body type,
query parameters, responses, errors). `app.py` turns the registry into Starlette routes wrapped by
`asgi_endpoint`, which authenticates, parses and maps errors in one place.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from paymentkit.server import errors, querystring, signature_replays
from paymentkit.server.component_sig import Use
from paymentkit.server.db.engine import Tx
from paymentkit.server.events.outbox import Origin
from paymentkit.server.idempotency import service as idempotency

if TYPE_CHECKING:
    from paymentkit.server.app import Services

MAX_BODY_BYTES = 1024 * 1024
# A body is at most this deep (the object itself is level 1) and holds at most this many JSON
# values: no route needs more than a few levels or a few hundred values, and both bound what a
# body costs to check and to canonicalise for a component signature before it is trusted.
MAX_JSON_DEPTH = 32
MAX_JSON_VALUES = 10_000
T = TypeVar("T")
JSON = "application/json"


def _float(text: str) -> float:
    # msgspec's own parser spends ~25 µs on a float with a large exponent (1e300): a 1 MiB body
    # of them held the event loop for 4 s. Python's float() reads them in well under 1 µs.
    value = float(text)
    if math.isinf(value):
        raise ValueError("Number out of range")
    return value


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(float_hook=_float)


@dataclass(frozen=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Callable[[Call], Awaitable[Reply]]
    summary: str
    tag: str
    status: int = 200
    response: Any = None
    body: Any = None
    query: tuple[QueryParam, ...] = ()
    errors: tuple[type[errors.APIError], ...] = ()
    extra_statuses: dict[int, Any] = field(default_factory=dict)
    # A streamed answer (`Stream`): its media types, each with the wire type of a line or None.
    streamed: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return (self.handler.__doc__ or "").strip()


@dataclass(frozen=True)
class Reply:
    status: int
    content: Any  # encoded as JSON, or a `Stream`


@dataclass(frozen=True)
class Stream:
    """A body sent while it is produced (exports): a handler checks its input first, so errors
    are still plain 4xx answers, and answers `Reply(200, Stream(...))`."""

    chunks: AsyncIterator[bytes]
    media_type: str
    filename: str | None = None  # offered to browsers as the download's name


# Errors every authenticated route can answer with, and those of routes that read a body.
READ_ERRORS: tuple[type[errors.APIError], ...] = (
    errors.AuthenticationRequired,
    errors.Forbidden,
    errors.InvalidRequest,
    errors.UnknownParameter,
)
WRITE_ERRORS = (*READ_ERRORS, errors.PayloadTooLarge)


class Registry:
    """Collects the endpoints of one resource module with a decorator."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(
        self, method: str, path: str, summary: str, **options: Any
    ) -> Callable[[Callable[[Call], Awaitable[Reply]]], Callable[[Call], Awaitable[Reply]]]:
        def decorate(fn: Callable[[Call], Awaitable[Reply]]) -> Callable[[Call], Awaitable[Reply]]:
            self.endpoints.append(Endpoint(method, path, fn, summary, self.tag, **options))
            return fn

        return decorate


class Call:
    """One authenticated request as the handlers see it."""

    __slots__ = (
        "_body",
        "_raw",
        "idempotency",
        "key_id",
        "livemode",
        "path_params",
        "query",
        "request",
        "services",
        "signature",
    )

    def __init__(
        self, request: Request, services: Services, query: dict[str, Any], livemode: bool = False
    ) -> None:
        self.request = request
        self.services = services
        self.livemode = livemode
        self.key_id: str | None = None  # the API key's id once authenticated (logged, never shown)
        self.query = query
        self.path_params: dict[str, str] = request.path_params
        self.idempotency: idempotency.Claim | None = None
        # The component signature that authenticated this call, spent by its write.
        self.signature: Use | None = None
        self._raw: bytes | None = None
        self._body: Any = None

    async def raw_body(self) -> bytes:
        if self._raw is None:
            headers = self.request.headers
            if "content-length" in headers or "transfer-encoding" in headers:
                self._raw = await read_body(self.request)
            else:  # HTTP/1.1: without either header a request has no body
                self._raw = b""
        return self._raw

    async def json(self) -> dict[str, Any]:
        """The JSON object body, `{}` when the request has none (GETs may carry one)."""
        if self._body is None:
            self._body = parse_json_object(await self.raw_body())
        body: dict[str, Any] = self._body
        return body

    async def write(self, work: Callable[[Tx], Any], status: int, *, seal: bool = False) -> Reply:
        """Run a write in one transaction and answer `status` with its result. Under an
        Idempotency-Key the answer is stored in that same transaction, so the effects and the
        stored answer exist together or not at all; a component signature is spent in it. An
        answer that holds a secret (`seal`) is stored encrypted with the server's box."""
        claim = self.idempotency
        db = self.services.db
        if claim is None:
            return Reply(status, await db.transaction(self.spending(work), write=True))
        box = self.services.box if seal else None

        def work_and_store(tx: Tx) -> Any:
            result = self.spending(work)(tx)
            idempotency.complete_in(tx, claim, status, idempotency.sealed(box, encode(result)))
            return result

        result = await db.transaction(work_and_store, write=True)
        claim.done = True
        return Reply(status, result)

    def spending(self, work: Callable[[Tx], T]) -> Callable[[Tx], T]:
        """`work` that first marks the transaction with the call's origin (the `request` of the
        events it records) and spends the call's component signature, if it has one, in the same
        transaction (401 when a write already spent it)."""

        def spend_then_work(tx: Tx) -> T:
            self.spend_signature(tx)
            return work(tx)

        return spend_then_work

    def spend_signature(self, tx: Tx) -> None:
        """Mark `tx` with the call's origin and spend its component signature there, for a unit
        of work that writes only sometimes (get-or-create) and so does not go through `write`."""
        tx.origin = self.origin
        if self.signature is not None:
            signature_replays.spend(tx, self.signature)

    @property
    def origin(self) -> Origin:
        claim = self.idempotency
        return Origin(
            request_id=self.request.scope.get("request_id"),
            idempotency_key=None if claim is None else claim.key,
            requested_by=self.key_id,
        )

    def path(self, name: str) -> str:
        value = self.path_params[name]
        if "\x00" in value:
            raise errors.InvalidRequest("the path may not contain NUL characters", name)
        return value


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused (413) as soon as it is known to pass `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLarge(f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.PayloadTooLarge(f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise errors.InvalidRequest(f"the body is not valid JSON: {exc}") from None
    except RecursionError:  # msgspec stops at the interpreter's recursion limit (~1,000 levels)
        raise _too_deep() from None
    if not isinstance(value, dict):
        raise errors.InvalidRequest("the body must be a JSON object")
    _check_tree(value)
    return value


def check_strings(value: Any) -> None:
    """Refuse NUL characters and lone surrogates anywhere in decoded input, as the body parser
    does (for input that arrives another way, such as an import file's CSV rows)."""
    _check_tree(value)


def _too_deep() -> errors.InvalidRequest:
    return errors.InvalidRequest(
        f"the body may nest at most {MAX_JSON_DEPTH} levels of objects and lists", "body"
    )


def _check_tree(value: Any) -> None:
    _reject_nul(value, (), 1, [MAX_JSON_VALUES])


def _reject_nul(value: Any, where: tuple[str, ...], depth: int, budget: list[int]) -> None:
    # PostgreSQL text cannot hold NUL and no field has a use for it; refuse it up front (400, not
    # 500). `where` is joined into a dotted param only on failure: keys may be long.
    budget[0] -= 1
    if budget[0] < 0:
        raise errors.InvalidRequest(
            f"the body may hold at most {MAX_JSON_VALUES} JSON values", "body"
        )
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, dict | list):
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            for k, v in value.items():
                path = (*where, k)
                _check_text(k, path)
                _reject_nul(v, path, depth + 1, budget)
        else:
            for v in value:
                _reject_nul(v, where, depth + 1, budget)


def _check_text(value: str, where: tuple[str, ...]) -> None:
    if "\x00" in value:
        raise errors.InvalidRequest("strings may not contain NUL characters", _param(where))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.InvalidRequest(
            "strings must be valid Unicode (no lone surrogates)", _param(where)
        ) from None


def _param(where: tuple[str, ...]) -> str | None:
    return ".".join(where) if where else None


def parse_query(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        return querystring.parse(raw)
    except querystring.QueryStringError as exc:
        raise errors.InvalidRequest(f"the query string cannot be read: {exc}", exc.param) from None
    except ValueError as exc:
        raise errors.InvalidRequest(f"the query string cannot be read: {exc}") from None


def encode(content: Any) -> bytes:
    return _encoder.encode(content)


def json_response(status: int, content: Any, headers: dict[str, str] | None = None) -> Response:
    return raw_json_response(status, _encoder.encode(content), headers)


def raw_json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def error_body(exc: errors.APIError, request_id: str) -> dict[str, Any]:
    return {"code": exc.code, "error": exc.message, "param": exc.param, "request_id": request_id}


def validation_error(exc: msgspec.ValidationError) -> errors.APIError:
    """Map a msgspec validation message to our error with a dotted `param`."""
    message = str(exc)
    param: str | None = None
    text, _, where = message.partition(" - at `$")
    if where:
        param = _dotted(where.rstrip("`"))
    if text.startswith("Object contains unknown field `"):
        name = text[len("Object contains unknown field `") : -1]
        full = f"{param}.{name}" if param else name
        return errors.UnknownParameter(f"Unknown or read-only parameter: {full}", full)
    if text.startswith("Object missing required field `"):
        name = text[len("Object missing required field `") : -1]
        full = f"{param}.{name}" if param else name
        return errors.InvalidRequest(f"Missing required parameter: {full}", full)
    return errors.InvalidRequest(f"Invalid value for {param}: {text}" if param else text, param)


def _dotted(path: str) -> str:
    # "$.address.city" arrives here as ".address.city"; list indices as "[0]".
    return path.lstrip(".").replace("[", ".").replace("]", "")


def convert(body: dict[str, Any], model: type[T]) -> T:
    """A request body as `model`, with msgspec's complaints turned into 400s naming the field."""
    try:
        return msgspec.convert(body, model)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None


class AnyMethod:
    """The ASGI app of one path that every method reaches: Starlette's `Route` answers a method
    outside its list itself, in plain text. A HEAD answer keeps the GET's headers (its
    Content-Length included) and drops the body."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Request(scope, receive))
        await response(scope, receive, without_body(send) if scope["method"] == "HEAD" else send)


def without_body(send: Send) -> Send:
    """`send` that passes a response's headers and drops its body (HEAD)."""

    async def send_headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return send_headers_only
