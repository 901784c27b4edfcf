"""Signing in and out, the session behind the cookie, CSRF, and what a visitor without a
session gets (API.md "Dashboard"): on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest
from starlette.testclient import TestClient

from paymentkit.server.dashboard import sessions, web
from paymentkit.server.dashboard.views import auth  # noqa: F401 (registers the routes)
from paymentkit.server.db.engine import Database
from paymentkit.server.keys import service as keys
from tests.api.billing.helpers import Billing
from tests.conftest import API
from tests.dashboard.conftest import Visitor, text

SAMPLE = {"id": "cus_x", "action": "pay"}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "x"), "/dashboard" + path)


PAGES = sorted(p for p in web.pages.routes if p != "/login")
EXTRA = ["/dashboard/no-such-page", "/dashboard/customers/cus_x/nothing"]


@pytest.mark.parametrize("path", [concrete(p) for p in PAGES] + EXTRA)
@pytest.mark.parametrize("method", ["GET", "POST", "HEAD", "PUT"])
def test_every_route_sends_a_visitor_without_a_session_to_sign_in(
    visitor: Visitor, path: str, method: str
) -> None:
    r = visitor.client.request(method, path, follow_redirects=False)
    assert r.status_code == 303, (path, r.status_code)
    assert r.headers["location"].startswith("/dashboard/login")
    # a cookie that names no session is the same as none
    visitor.client.cookies.set(sessions.COOKIE, "forged", path="/dashboard")
    r = visitor.client.request(method, path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/dashboard/login")


def test_the_sign_in_page_is_public_and_a_get_comes_back_after(
    visitor: Visitor, test_key: str
) -> None:
    r = visitor.get("/dashboard/customers/cus_abc?x=1")
    assert (
        r.headers["location"] == "/dashboard/login?next=%2Fdashboard%2Fcustomers%2Fcus_abc%3Fx%3D1"
    )
    login = visitor.get(r.headers["location"])
    assert login.status_code == 200 and 'name="api_key"' in login.text
    assert 'type="password"' in login.text
    r = visitor.post(
        "/dashboard/login", {"api_key": test_key, "next": "/dashboard/customers/cus_abc?x=1"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/customers/cus_abc?x=1"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/dashboard//evil",
        "/api/customers",
        "/dashboard/\\x",
    ],
)
def test_next_never_leaves_the_dashboard(visitor: Visitor, test_key: str, target: str) -> None:
    visitor.get("/dashboard/login")
    r = visitor.post("/dashboard/login", {"api_key": test_key, "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/"


def test_bare_dashboard_path_goes_to_the_list(visitor: Visitor) -> None:
    r = visitor.client.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/"


def test_sign_in_sets_a_strict_http_only_cookie_holding_no_key(
    visitor: Visitor, test_key: str, db: Database
) -> None:
    visitor.get("/dashboard/login")
    r = visitor.post("/dashboard/login", {"api_key": test_key})
    assert r.status_code == 303
    cookies = [v for k, v in r.headers.multi_items() if k == "set-cookie"]
    session_cookie = next(c for c in cookies if c.startswith(sessions.COOKIE + "="))
    parsed = SimpleCookie(session_cookie)[sessions.COOKIE]
    assert parsed["httponly"] and parsed["samesite"].lower() == "strict"
    assert parsed["path"] == "/dashboard" and not parsed["secure"]
    token = parsed.value
    assert test_key not in session_cookie and len(token) >= 40
    rows = db.run_sync(lambda tx: tx.all("SELECT * FROM dashboard_sessions"))
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0])
    assert token not in stored and test_key not in stored
    assert sessions.hash_token(token) in stored
    page = visitor.get("/dashboard/")
    assert page.status_code == 200 and test_key not in page.text
    assert "TEST" in text(page)


def test_the_cookie_is_secure_over_https(app_client: TestClient, test_key: str) -> None:
    client = TestClient(
        app_client.app, base_url="https://testserver", raise_server_exceptions=False
    )
    with client:
        v = Visitor(client)
        v.get("/dashboard/login")
        r = v.post("/dashboard/login", {"api_key": test_key})
        cookie = next(
            c
            for k, c in r.headers.multi_items()
            if k == "set-cookie" and c.startswith(sessions.COOKIE)
        )
        assert SimpleCookie(cookie)[sessions.COOKIE]["secure"]


@pytest.mark.parametrize(
    "secret", ["", "sk_test_nope", "sk_live_" + "x" * 30, "not a key", "x" * 5000]
)
def test_a_bad_key_is_refused_at_its_field(visitor: Visitor, secret: str, db: Database) -> None:
    visitor.get("/dashboard/login")
    r = visitor.post("/dashboard/login", {"api_key": secret})
    assert r.status_code in (400, 401)
    assert 'id="e-api-key"' in r.text and 'aria-invalid="true"' in r.text
    assert sessions.COOKIE + "=" not in r.headers.get("set-cookie", "")
    assert db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM dashboard_sessions")) == 0


def test_sign_in_needs_its_form_token(visitor: Visitor, test_key: str) -> None:
    r = visitor.client.post("/dashboard/login", data={"api_key": test_key}, follow_redirects=False)
    assert r.status_code == 403
    visitor.get("/dashboard/login")
    r = visitor.post("/dashboard/login", {"api_key": test_key, "csrf_token": "wrong"})
    assert r.status_code == 403


def test_a_signed_in_visitor_skips_the_sign_in_page(signed_in: Visitor) -> None:
    r = signed_in.get("/dashboard/login")
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/"


def test_a_post_without_the_csrf_token_is_refused(signed_in: Visitor, api: API) -> None:
    customer = Billing(api).customer
    path = f"/dashboard/customers/{customer['id']}"
    for data, headers in (
        ({"name": "Mallory"}, {}),
        ({"name": "Mallory", "csrf_token": "x" * 43}, {}),
        ({"name": "Mallory", "csrf_token": ""}, {}),
        ({"name": "Mallory"}, {"X-CSRF-Token": "nope"}),
    ):
        r = signed_in.post(path, data, csrf=False, headers=headers)
        assert r.status_code == 403, r.text
        assert "expired" in text(r)
    assert api.get(f"/api/customers/{customer['id']}").json()["name"] == "Ada"
    # htmx sends the token as a header
    r = signed_in.post(
        path, {"name": "Header"}, csrf=False, headers={"X-CSRF-Token": signed_in.csrf or ""}
    )
    assert r.status_code == 303
    assert api.get(f"/api/customers/{customer['id']}").json()["name"] == "Header"


def test_sign_out_deletes_the_session(signed_in: Visitor, db: Database) -> None:
    old = signed_in.client.cookies.get(sessions.COOKIE)
    r = signed_in.post("/dashboard/logout")
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/login?notice=signed_out"
    assert db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM dashboard_sessions")) == 0
    assert "signed out" in text(signed_in.get(r.headers["location"]))
    signed_in.client.cookies.set(sessions.COOKIE, old or "", path="/dashboard")
    assert signed_in.get("/dashboard/").status_code == 303


def test_a_revoked_key_ends_its_sessions(
    app_client: TestClient, test_key: str, db: Database
) -> None:
    one, two = Visitor(app_client), Visitor(TestClient(app_client.app))
    one.sign_in(test_key)
    two.sign_in(test_key)
    assert db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM dashboard_sessions")) == 2
    key_id = db.run_sync(lambda tx: tx.scalar("SELECT key_id FROM dashboard_sessions"))
    db.run_sync(lambda tx: keys.revoke(tx, key_id), write=True)
    r = one.get("/dashboard/")
    assert r.status_code == 303 and r.headers["location"].startswith("/dashboard/login")
    assert db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM dashboard_sessions")) == 0
    assert two.get("/dashboard/").status_code == 303


@pytest.mark.parametrize("column", ["last_seen_at", "created_at"])
def test_a_session_expires(signed_in: Visitor, db: Database, column: str) -> None:
    assert signed_in.get("/dashboard/").status_code == 200
    limit = sessions.IDLE_MS if column == "last_seen_at" else sessions.MAX_AGE_MS
    db.run_sync(
        lambda tx: tx.execute(
            f"UPDATE dashboard_sessions SET {column} = {column} - ?", (limit + 1000,)
        ),
        write=True,
    )
    assert signed_in.get("/dashboard/").status_code == 303
    assert db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM dashboard_sessions")) == 0


def test_activity_slides_the_idle_limit(signed_in: Visitor, db: Database) -> None:
    db.run_sync(
        lambda tx: tx.execute(
            "UPDATE dashboard_sessions SET last_seen_at = last_seen_at - ?",
            (sessions.IDLE_MS - 60_000,),
        ),
        write=True,
    )
    before = db.run_sync(lambda tx: tx.scalar("SELECT last_seen_at FROM dashboard_sessions"))
    assert signed_in.get("/dashboard/").status_code == 200
    after = db.run_sync(lambda tx: tx.scalar("SELECT last_seen_at FROM dashboard_sessions"))
    assert int(after) > int(before)


def test_unknown_pages_are_404_when_signed_in(signed_in: Visitor) -> None:
    r = signed_in.get("/dashboard/no-such-page")
    assert r.status_code == 404 and "Not found" in text(r)
    r = signed_in.client.request("PUT", "/dashboard/", follow_redirects=False)
    assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_pages_are_not_cached_or_framed(signed_in: Visitor) -> None:
    r = signed_in.get("/dashboard/")
    assert r.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    head = signed_in.client.head("/dashboard/")
    assert head.status_code == 200 and head.content == b""


def test_static_files_are_public_and_htmx_is_vendored(visitor: Visitor) -> None:
    r = visitor.client.get(f"/dashboard/static/{web.HTMX}")
    assert r.status_code == 200 and b"htmx" in r.content[:200]
    assert visitor.client.get("/dashboard/static/htmx-LICENSE.txt").status_code == 200
    assert visitor.client.get("/dashboard/static/dashboard.css").status_code == 200
    assert visitor.client.get("/dashboard/static/nothing.js").status_code == 404
    for sneaky in ("/dashboard/static/../routes.py", "/dashboard/static/%2e%2e/routes.py"):
        assert b"def routes" not in visitor.client.get(sneaky).content
    assert visitor.client.post("/dashboard/static/dashboard.css").status_code == 405


def test_the_live_key_sees_live_mode(visitor: Visitor, live_key: str) -> None:
    visitor.sign_in(live_key)
    page = visitor.get("/dashboard/")
    assert 'class="badge mode live"' in page.text and ">LIVE<" in page.text
