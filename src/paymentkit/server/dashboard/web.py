"""The dashboard's HTTP plumbing: the page registry, the session check that comes before
anything else, CSRF on every POST, form bodies, rendering, and the answers every page shares.

A page handler gets a `Page` (the request, the signed-in session, the form) and answers HTML.
It reads and writes only through the API's own services, inside `page.read` / `page.write`
(one transaction each); `page.write` marks the transaction with the request id and the key's id
like `Call.write`, so the events it records say who asked.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from paymentkit.server import errors, http
from paymentkit.server.dashboard import rules, sessions
from paymentkit.server.dashboard.sessions import Session
from paymentkit.server.db.engine import Tx
from paymentkit.server.events.outbox import Origin
from paymentkit.server.idempotency import service as idempotency
from paymentkit.server.ids import iso_ms

if TYPE_CHECKING:
    from paymentkit.server.app import Services

T = TypeVar("T")
Handler = Callable[["Page"], Awaitable[Response]]

HERE = Path(__file__).parent
STATIC = HERE / "static"
HTMX = "htmx-2.0.11.min.js"
LOGIN = "/dashboard/login"
HOME = "/dashboard/"
FORM_MAX_BYTES = 64 * 1024
FORM_KEY_PREFIX = "dashboard_form_"  # a form's one-time key, beside the API's Idempotency-Keys
FORM_MAX_FIELDS = 300
# Pages hold customer data and forms hold the CSRF token: nothing is cached or framed, and
# only the dashboard's own files run (htmx is told not to add inline styles). The one hash is
# that of an empty style, which htmx's swaps apply and which styles nothing.
EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        f"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-hashes' {EMPTY_STYLE};"
        " img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Vary": "HX-Request, Cookie",
}


def _unix_iso(seconds: int | None) -> str | None:
    return None if seconds is None else iso_ms(int(seconds) * 1000)


def _money(amount: str, currency: Any) -> str:
    if currency is None:
        return f"{amount} (unknown currency)"
    return rules.format_amount(amount, int(currency.decimal), str(currency.symbol))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["unix_iso"] = _unix_iso
    env.globals["htmx"] = HTMX
    env.globals["metadata_text"] = rules.metadata_text
    return env


TEMPLATES = _environment()


@dataclass
class Page:
    """One dashboard request as a handler sees it."""

    request: Request
    services: Services
    session: Session | None
    form: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)  # fields sent more than once

    @property
    def signed_in(self) -> Session:
        assert self.session is not None
        return self.session

    @property
    def livemode(self) -> bool:
        return self.signed_in.livemode

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def query(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        if value is None:
            return None
        http.check_strings(value)
        return value

    def path(self, name: str) -> str:
        value = str(self.request.path_params[name])
        http.check_strings(value)
        return value

    async def read(self, work: Callable[[Tx], T]) -> T:
        return await self.services.db.transaction(work)

    async def write(self, work: Callable[[Tx], T]) -> T:
        origin = Origin(
            request_id=self.request.scope.get("request_id"),
            requested_by=self.signed_in.key_id,
        )

        def marked(tx: Tx) -> T:
            tx.origin = origin
            return work(tx)

        return await self.services.db.transaction(marked, write=True)

    async def write_once(self, form_key: str | None, work: Callable[[Tx], T]) -> T | None:
        """`write` under the form's one-time key, kept in the API's Idempotency-Key store: a
        form sent twice (a double click without JavaScript) runs once, and the repeat answers
        None. A refusal releases the key (the page shows the form again with a new one)."""
        if not form_key or len(form_key) > sessions.TOKEN_MAX:
            return await self.write(work)
        db = self.services.db
        key = idempotency.check_key(FORM_KEY_PREFIX + form_key)
        print_ = idempotency.fingerprint("POST", self.request.url.path, b"", b"")
        outcome = await idempotency.claim(db, self.livemode, key, print_)
        if isinstance(outcome, idempotency.Replay):
            return None
        claim = outcome

        def work_and_store(tx: Tx) -> T:
            result = work(tx)
            idempotency.complete_in(tx, claim, 303, b"{}")
            return result

        try:
            result = await self.write(work_and_store)
            claim.done = True
            return result
        except BaseException:
            with contextlib.suppress(errors.ServiceUnavailable):
                await idempotency.release(db, claim)
            raise
        finally:
            claim.stop()

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = TEMPLATES.get_template(template).render(
            session=self.session,
            request_path=self.request.url.path,
            notice=NOTICES.get(self.request.query_params.get("notice", "")),
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)


# What a redirect after a write may say (a fixed list: no text of the URL is shown).
NOTICES = {
    "saved": "Saved.",
    "deleted": "The customer was deleted.",
    "finalize": "The invoice was finalized.",
    "pay": "The payment was recorded.",
    "mark_uncollectible": "The invoice was marked uncollectible.",
    "void": "The invoice was voided.",
    "canceled": "The subscription was canceled.",
    "resent": "The event was queued for delivery again.",
    "resent_nowhere": "No enabled webhook endpoint takes this event's type, so nothing was"
    " queued: add one on the Webhooks page.",
    "signed_out": "You are signed out.",
    "enabled": "The endpoint is enabled.",
    "disabled": "The endpoint is disabled.",
    "endpoint_deleted": "The endpoint was deleted.",
}


def redirect(path: str, **query: str) -> Response:
    """303 See Other to a dashboard path (a path only: no Location is built from the Host)."""
    path, hash_, fragment = path.partition("#")
    joiner = "&" if "?" in path else "?"
    location = path + (joiner + urllib.parse.urlencode(query) if query else "") + hash_ + fragment
    return RedirectResponse(location, status_code=303, headers=HEADERS)


class Pages:
    """The dashboard's routes: path (Starlette syntax, under /dashboard) → method → handler."""

    def __init__(self) -> None:
        self.routes: dict[str, dict[str, Handler]] = {}
        self.public: set[str] = set()

    def route(
        self, method: str, path: str, *, public: bool = False
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.setdefault(path, {})[method] = handler
            if public:
                self.public.add(path)
            return handler

        return register

    def get(self, path: str, **options: bool) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: bool) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)


pages = Pages()


async def read_form(request: Request) -> tuple[dict[str, str], dict[str, list[str]]]:
    """An urlencoded form body (what browsers and htmx send), at most 64 KiB and 300 fields."""
    raw = await http.read_body(request, FORM_MAX_BYTES)
    try:
        pairs = urllib.parse.parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=FORM_MAX_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise errors.InvalidRequest("the form cannot be read") from None
    form: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for name, value in pairs:
        http.check_strings([name, value])
        form[name] = value
        lists.setdefault(name, []).append(value)
    return form, lists


def error_page(page: Page, exc: errors.APIError) -> Response:
    if isinstance(exc, errors.NotFound):
        return page.render("not_found.html", 404, message=exc.message)
    return page.render("error.html", exc.status, code=exc.status, message=exc.message)


class PageEndpoint:
    """What one dashboard path answers, for every method (served through `http.AnyMethod`): the session first (none: 303 to
    the sign-in page, whatever the method), then the method, then the CSRF token of a POST."""

    def __init__(
        self,
        services: Services,
        handlers: dict[str, Handler],
        public: bool = False,
        missing: bool = False,  # the catch-all of paths that are no page
    ) -> None:
        self.services = services
        self.handlers = handlers
        self.public = public
        self.missing = missing

    async def respond(self, request: Request) -> Response:
        page = Page(request, self.services, None)
        try:
            page.session = await sessions.resume(
                self.services, request.cookies.get(sessions.COOKIE)
            )
            if page.session is None and not self.public:
                return to_login(request)
            if self.missing:
                return page.render("not_found.html", 404, message="There is no such page.")
            method = "GET" if request.method == "HEAD" else request.method
            handler = self.handlers.get(method)
            if handler is None:
                allowed = ", ".join(
                    sorted({*self.handlers, "HEAD"} if "GET" in self.handlers else self.handlers)
                )
                response = page.render("error.html", 405, code=405, message=f"Use {allowed} here.")
                response.headers["Allow"] = allowed
                return response
            if method == "POST":
                page.form, page.lists = await read_form(request)
                if page.session is not None and not sessions.same_token(
                    page.form.get(sessions.CSRF_FIELD) or request.headers.get(sessions.CSRF_HEADER),
                    page.session.csrf_token,
                ):
                    return csrf_refused(page)
            return await handler(page)
        except errors.APIError as exc:
            return error_page(page, exc)


def csrf_refused(page: Page) -> Response:
    return page.render(
        "error.html",
        403,
        code=403,
        message="This form has expired or did not come from this dashboard. Reload the page and try again.",
    )


def to_login(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method in ("GET", "HEAD") and target != HOME:
        return redirect(LOGIN, next=rules.local_path(target, HOME))
    return redirect(LOGIN)
