"""The dashboard's Starlette routes, mounted by server/app.py: `/dashboard/…` pages (HTML only:
no SQL and no rules here or in views/, which call the API's services) and the static files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from paymentkit.server.dashboard import web
from paymentkit.server.dashboard.views import (  # noqa: F401 (they register the routes)
    auth,
    billing,
    customers,
    webhooks,
)
from paymentkit.server.http import AnyMethod

if TYPE_CHECKING:
    from paymentkit.server.app import Services


class _Static(StaticFiles):
    """The dashboard's own files (public: the sign-in page needs them), cached for a day; a
    missing file or another method than GET is a plain 404 / 405, not an exception."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            return PlainTextResponse("Method not allowed", 405, {"Allow": "GET, HEAD"})
        try:
            response = await super().get_response(path, scope)
        except (HTTPException, OSError, ValueError):
            return PlainTextResponse("Not found", 404)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=86400"
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def routes(services: Services) -> list[Any]:
    """`/dashboard` (→ `/dashboard/`), the static files, every page, and a last route that sends
    a visitor without a session to the sign-in page and answers a signed-in one 404."""
    inner: list[Any] = [
        Route(
            path, AnyMethod(web.PageEndpoint(services, handlers, path in web.pages.public).respond)
        )
        for path, handlers in web.pages.routes.items()
    ]
    unknown = AnyMethod(web.PageEndpoint(services, {}, public=False, missing=True).respond)

    async def bare(request: Request) -> Response:
        return web.redirect(web.HOME)

    return [
        Route("/dashboard", bare, methods=["GET", "HEAD", "POST"]),
        Mount("/dashboard/static", _Static(directory=web.STATIC), name="dashboard-static"),
        Mount("/dashboard", Router(inner, default=unknown, redirect_slashes=False)),
    ]
