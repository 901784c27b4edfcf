"""Sign-in and sign-out."""

from __future__ import annotations

from starlette.responses import Response

from paymentkit.server import errors
from paymentkit.server.dashboard import rules, sessions
from paymentkit.server.dashboard.web import HOME, LOGIN, Page, csrf_refused, pages, redirect

KEY_FIELD = "api_key"


def _cookie_options(page: Page) -> dict[str, object]:
    return {
        "httponly": True,
        "samesite": "strict",
        "path": sessions.COOKIE_PATH,
        "secure": page.request.url.scheme == "https",
    }


def _form(page: Page, status: int = 200, error: str | None = None) -> Response:
    token = sessions.new_token()
    response = page.render(
        "login.html",
        status,
        login_csrf=token,
        next=rules.local_path(page.query("next") or page.form.get("next"), HOME),
        error=error,
    )
    response.set_cookie(sessions.LOGIN_COOKIE, token, **_cookie_options(page))  # type: ignore[arg-type]
    if page.htmx:  # a page fragment that found the session gone: load the sign-in page whole
        response.headers["HX-Redirect"] = str(page.request.url.path) + (
            "?" + page.request.url.query if page.request.url.query else ""
        )
    return response


@pages.get("/login", public=True)
async def login(page: Page) -> Response:
    """The sign-in form (a signed-in browser goes on to the dashboard)."""
    if page.session is not None:
        return redirect(rules.local_path(page.query("next"), HOME))
    return _form(page)


@pages.post("/login", public=True)
async def sign_in(page: Page) -> Response:
    """Sign in with an API key: checked as the API checks it, never stored."""
    if not sessions.same_token(
        page.form.get(sessions.CSRF_FIELD), page.request.cookies.get(sessions.LOGIN_COOKIE, "")
    ):
        return csrf_refused(page)
    secret = page.form.get(KEY_FIELD, "")
    if not secret.strip():
        return _form(page, 400, "Paste an API key (sk_test_… or sk_live_…).")
    try:
        token, _ = await sessions.sign_in(page.services, secret)
    except errors.AuthenticationRequired:
        return _form(page, 401, "That key is not a valid API key, or it was revoked.")
    response = redirect(rules.local_path(page.form.get("next"), HOME))
    response.set_cookie(sessions.COOKIE, token, **_cookie_options(page))  # type: ignore[arg-type]
    response.delete_cookie(sessions.LOGIN_COOKIE, path=sessions.COOKIE_PATH)
    return response


@pages.post("/logout")
async def sign_out(page: Page) -> Response:
    """Sign out: the session is deleted."""
    await sessions.sign_out(page.services, page.signed_in)
    response = redirect(LOGIN, notice="signed_out")
    response.delete_cookie(sessions.COOKIE, path=sessions.COOKIE_PATH)
    return response
