"""Fixtures of the dashboard's server-side tests: an app on each database and a browser-like
client (cookies kept) that signs in with an API key and sends the CSRF token of the page."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from paymentkit.server.db.engine import Database
from tests.conftest import API, make_key

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Visitor:
    """A browser on the dashboard: its cookies, the CSRF token of the last page it read."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf: str | None = None

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        r = self.client.get(path, follow_redirects=False, **kwargs)
        found = CSRF.findall(r.text)
        if found:
            self.csrf = found[-1]
        return r

    def post(
        self, path: str, data: dict[str, Any] | None = None, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf and self.csrf is not None:
            form.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=form, follow_redirects=False, **kwargs)

    def sign_in(self, secret: str) -> httpx.Response:
        self.get("/dashboard/login")
        r = self.post("/dashboard/login", {"api_key": secret})
        assert r.status_code == 303, r.text
        self.get("/dashboard/")  # the session's CSRF token
        return r

    def follow(self, r: httpx.Response) -> httpx.Response:
        assert r.status_code == 303, (r.status_code, r.text)
        return self.get(r.headers["location"])


@pytest.fixture
def test_key(db: Database) -> str:
    return make_key(db, False)


@pytest.fixture
def live_key(db: Database) -> str:
    return make_key(db, True)


@pytest.fixture
def api(app_client: TestClient, test_key: str) -> API:
    return API(app_client, test_key)


@pytest.fixture
def live_api(app_client: TestClient, live_key: str) -> API:
    return API(app_client, live_key)


@pytest.fixture
def visitor(app_client: TestClient) -> Visitor:
    return Visitor(app_client)


@pytest.fixture
def signed_in(visitor: Visitor, test_key: str) -> Visitor:
    visitor.sign_in(test_key)
    return visitor


def text(r: httpx.Response) -> str:
    """The page's text, tags dropped and entities decoded, whitespace squeezed."""
    plain = re.sub(r"<[^>]+>", " ", r.text)
    return re.sub(r"\s+", " ", html.unescape(plain))


def field_error(r: httpx.Response, field: str) -> str | None:
    """The error message shown next to form field `field` (None: the field shows none)."""
    ident = field.replace(".", "-")
    if f'id="f-{ident}"' not in r.text:
        raise AssertionError(f"no field {field} on the page")
    match = re.search(rf'<p class="error" id="e-{re.escape(ident)}">(.*?)</p>', r.text, re.S)
    if match is None:
        return None
    assert re.search(rf'id="f-{re.escape(ident)}"[^>]*aria-invalid="true"', r.text), field
    return html.unescape(match.group(1))
