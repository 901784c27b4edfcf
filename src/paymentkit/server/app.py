"""Builds the ASGI app: routes from each resource's registry, the request-id middleware, error
mapping, the OpenAPI description and the docs page."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paymentkit.server import auth, errors, logs
from paymentkit.server.component_sig import load_app_key
from paymentkit.server.config import Settings
from paymentkit.server.crypto import SecretBox, key_file_for, load_or_create_key
from paymentkit.server.customers.overdue import RenderCache
from paymentkit.server.customers.routes import api as customers_api
from paymentkit.server.dashboard import routes as dashboard
from paymentkit.server.db.engine import Database
from paymentkit.server.delivery import worker as delivery
from paymentkit.server.disconnect import WatchDisconnect
from paymentkit.server.events.routes import api as events_api
from paymentkit.server.http import (
    AnyMethod,
    Call,
    Endpoint,
    Stream,
    encode,
    error_body,
    json_response,
    parse_query,
    raw_json_response,
    without_body,
)
from paymentkit.server.idempotency import service as idempotency
from paymentkit.server.ids import new_id
from paymentkit.server.invoices.routes import api as invoices_api
from paymentkit.server.openapi import DOCS_HTML, openapi_document
from paymentkit.server.payment_currencies.routes import api as currencies_api
from paymentkit.server.payment_methods.routes import api as methods_api
from paymentkit.server.ratelimit import RateLimiter
from paymentkit.server.subscriptions.routes import api as subscriptions_api
from paymentkit.server.webhooks.routes import api as webhooks_api

log = logging.getLogger("paymentkit")
request_log = logging.getLogger(logs.REQUEST_LOGGER)

ENDPOINTS: list[Endpoint] = [
    *customers_api.endpoints,
    *methods_api.endpoints,
    *currencies_api.endpoints,
    *subscriptions_api.endpoints,
    *invoices_api.endpoints,
    *events_api.endpoints,
    *webhooks_api.endpoints,
]


@dataclass
class Services:
    db: Database
    keys: auth.KeyAuthenticator
    box: SecretBox
    component_key: Ed25519PublicKey | None = None
    overdue_cache: RenderCache = field(default_factory=RenderCache)
    limits: RateLimiter = field(default_factory=RateLimiter)
    # Webhook URLs may name non-public addresses (PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE).
    webhook_allow_private: bool = False


def asgi_endpoint(
    endpoints: dict[str, Endpoint], services: Services
) -> Callable[[Request], Awaitable[Response]]:
    """One Starlette endpoint per path, dispatching on the method so a wrong method is a JSON 405
    and HEAD is the GET without its body."""
    methods = {*endpoints, "HEAD"} if "GET" in endpoints else set(endpoints)

    async def handle(request: Request) -> Response:
        claim: idempotency.Claim | None = None
        try:
            endpoint = endpoints.get("GET" if request.method == "HEAD" else request.method)
            if endpoint is None:
                return method_not_allowed(request, methods)
            query = parse_query(request.scope["query_string"].decode("latin-1"))
            call = Call(request, services, query)
            call.livemode = await auth.resolve_mode(call)
            key = request.headers.get(idempotency.HEADER)
            if key is not None and request.method in idempotency.WRITE_METHODS:
                outcome = await idempotency.claim(
                    services.db,
                    call.livemode,
                    idempotency.check_key(key),
                    idempotency.fingerprint(
                        request.method,
                        request.scope["raw_path"].decode("latin-1"),
                        request.scope["query_string"],
                        await call.raw_body(),
                    ),
                )
                if isinstance(outcome, idempotency.Replay):
                    body = idempotency.opened(services.box, outcome.body)
                    return raw_json_response(outcome.status, body, REPLAYED)
                claim = call.idempotency = outcome
            request.scope[auth.SCOPE_KEY_ID] = call.key_id
            reply = await endpoint.handler(call)
            if isinstance(reply.content, Stream):
                return await _streaming_response(request, reply.status, reply.content)
            body = encode(reply.content)
            if claim is not None and not claim.done:
                await idempotency.complete(services.db, claim, reply.status, body)
            return raw_json_response(reply.status, body)
        except errors.APIError as exc:
            body = encode(error_body(exc, request.scope["request_id"]))
            if claim is not None and not claim.done:
                # A database that is busy or gone now leaves the claim to go stale.
                with contextlib.suppress(errors.ServiceUnavailable):
                    if exc.status < 500:  # a refusal changed nothing: answer it the same way again
                        await idempotency.complete(services.db, claim, exc.status, body)
                    else:
                        await idempotency.release(services.db, claim)
            return raw_json_response(exc.status, body, _error_headers(exc))
        except BaseException:
            if claim is not None and not claim.done:
                with contextlib.suppress(errors.ServiceUnavailable):
                    await idempotency.release(services.db, claim)
            raise
        finally:
            if claim is not None:
                claim.stop()

    return handle


REPLAYED = {"Idempotent-Replayed": "true"}


def _error_headers(exc: errors.APIError) -> dict[str, str] | None:
    if exc.retry_after is not None:
        return {"Retry-After": str(exc.retry_after)}
    return None


async def _streaming_response(request: Request, status: int, stream: Stream) -> Response:
    headers = {}
    if stream.filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{stream.filename}"'
    chunks = stream.chunks
    if request.method == "HEAD":  # the headers of the export (no length either), without reading it
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
        chunks = _no_chunks()
    return StreamingResponse(
        chunks, status_code=status, media_type=stream.media_type, headers=headers
    )


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield


class MethodNotAllowed(errors.InvalidRequest):
    status = 405


def method_not_allowed(request: Request, methods: set[str]) -> Response:
    allowed = ", ".join(sorted(methods))
    exc = MethodNotAllowed(f"{logs.escape(request.method)} is not allowed here; use {allowed}")
    return json_response(
        exc.status, error_body(exc, request.scope["request_id"]), {"Allow": allowed}
    )


def get_only(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A public GET route whose other methods get the same JSON 405 as the API's."""

    async def handle(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return method_not_allowed(request, {"GET", "HEAD"})
        return await handler(request)

    return handle


class SwaggerStatic(StaticFiles):
    """The Swagger UI files; a missing file, a directory or another method than GET or HEAD is
    the API's JSON 404 or 405, not StaticFiles' exceptions (which nothing here turns into
    answers)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        request = Request(scope)
        if scope["method"] not in ("GET", "HEAD"):
            return method_not_allowed(request, {"GET", "HEAD"})
        try:
            return await super().get_response(path, scope)
        except (HTTPException, OSError, ValueError):
            exc = errors.NotFound(f"Not found: {logs.escape(scope['path'])}")
            return json_response(404, error_body(exc, scope["request_id"]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(
            scope, receive, without_body(send) if scope["method"] == "HEAD" else send
        )


class RequestContext:
    """Gives every request an id (`X-Request-Id`), turns any uncaught exception into a 500
    `internal_error` that leaks nothing (the body limit is enforced where bodies are read) and
    logs one record per request to `paymentkit.request` when that logger is on (serve
    --log-format json)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = new_id("req")
        scope["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "unhandled error in %s %s (%s)",
                logs.escape(scope["method"]),
                logs.escape(scope["path"]),
                request_id,
            )
            if status:
                raise
            exc = errors.InternalError("Internal error; the request id identifies it in the logs")
            response = json_response(500, error_body(exc, request_id))
            await response(scope, receive, send_with_id)
        finally:
            if request_log.isEnabledFor(logging.INFO):
                _log_request(scope, status or 500, time.perf_counter() - began)


def _log_request(scope: Scope, status: int, seconds: float) -> None:
    route = scope.get("route")
    record = logs.request_record(
        scope["request_id"],
        scope["method"],
        getattr(route, "path", None),
        status,
        seconds * 1000,
        scope.get(auth.SCOPE_KEY_ID),
    )
    request_log.info(
        "%s %s %s", record["method"], record["route"], record["status"], extra={"request": record}
    )


def _swagger_static() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


def create_app(settings: Settings | None = None, db: Database | None = None) -> ASGIApp:
    """The ASGI application (uvicorn calls this as a factory)."""
    settings = settings or Settings.from_env()
    db = db or Database(
        settings.database_url,
        statement_timeout=settings.statement_timeout,
        lock_timeout=settings.lock_timeout,
    )
    secret_key = settings.secret_key or load_or_create_key(key_file_for(db.url.sqlite_path))
    services = Services(
        db=db,
        keys=auth.KeyAuthenticator(db),
        box=SecretBox(secret_key),
        component_key=None if settings.app_sk is None else load_app_key(settings.app_sk),
        limits=RateLimiter(settings.rate_limit_live, settings.rate_limit_test),
        webhook_allow_private=settings.webhook_allow_private,
    )
    document = openapi_document(ENDPOINTS)

    async def healthz(request: Request) -> Response:
        return json_response(200, {"ok": True})

    async def readyz(request: Request) -> Response:
        try:
            await db.ping()
        except Exception as failure:
            log.warning("not ready: the database cannot be reached: %s", failure)
            exc = errors.DatabaseUnavailable(
                f"The database cannot be reached ({type(failure).__name__})"
            )
            body = error_body(exc, request.scope["request_id"])
            return json_response(exc.status, body, _error_headers(exc))
        return json_response(200, {"ok": True})

    async def openapi(request: Request) -> Response:
        return json_response(200, document)

    async def docs(request: Request) -> Response:
        return HTMLResponse(DOCS_HTML)

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        exc: errors.APIError
        method, path = logs.escape(scope.get("method", "")), logs.escape(scope.get("path", ""))
        if scope["type"] == "http" and path.startswith("/api/"):
            exc = errors.NotFound(f"Unrecognized request URL ({method} {path})")
        else:
            exc = errors.NotFound(f"Not found: {path}")
        await json_response(404, error_body(exc, scope.get("request_id", "")))(scope, receive, send)

    routes: list[Any] = [
        Route("/healthz", AnyMethod(get_only(healthz))),
        Route("/readyz", AnyMethod(get_only(readyz))),
        Route("/openapi.json", AnyMethod(get_only(openapi))),
        Route("/docs", AnyMethod(get_only(docs))),
        Mount("/docs/static", SwaggerStatic(directory=_swagger_static()), name="swagger"),
        *dashboard.routes(services),
    ]
    by_path: dict[str, dict[str, Endpoint]] = {}
    for endpoint in ENDPOINTS:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint
    for path, endpoints in by_path.items():
        routes.append(Route(path, AnyMethod(asgi_endpoint(endpoints, services))))

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        try:
            if settings.deliver:  # this process sends webhooks too (server/delivery/worker.py)
                async with delivery.running(db, services.box, delivery.options(settings)):
                    yield
            else:
                yield
        finally:
            db.close()

    # No redirects: a path with a trailing slash is no route (a JSON 404), so no answer carries a
    # Location built from the client's Host header.
    router = Router(routes, default=not_found, lifespan=lifespan, redirect_slashes=False)
    # Only PostgreSQL's statements can be cancelled when the client leaves (server/disconnect.py).
    app = RequestContext(WatchDisconnect(router) if db.dialect == "postgresql" else router)
    app.services = services  # type: ignore[attr-defined]
    return app
