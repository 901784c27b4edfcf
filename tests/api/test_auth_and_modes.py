"""API keys, modes and the envelope every answer shares: 401/403, live/test isolation, the error
body, X-Request-Id, the public routes, unknown routes and methods (API.md, Conventions, Errors,
Authentication and modes)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from paymentkit.server.keys import service as keys
from tests.conftest import API

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
REQUEST_ID_RE = re.compile(r"^req_[0-9A-Za-z]{24}$")
ERROR_KEYS = {"code", "error", "param", "request_id"}
MISSING_ID = "cus_" + "0" * 24

# One request per customers route: (method, path, JSON body or None).
ROUTES = [
    ("POST", "/api/customers", {"name": "x"}),
    ("GET", "/api/customers", None),
    ("GET", "/api/customers/search?query=x", None),
    ("GET", f"/api/customers/{MISSING_ID}", None),
    ("GET", "/api/customers/zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ", {"create": True}),
    ("PUT", f"/api/customers/{MISSING_ID}", {"name": "x"}),
    ("DELETE", f"/api/customers/{MISSING_ID}", None),
]


def new_did() -> str:
    return "z" + "".join(secrets.choice(BASE58) for _ in range(35))


def create(api: API, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/api/customers", json=body)
    assert r.status_code == 201, r.text
    customer: dict[str, Any] = r.json()
    return customer


def assert_error(r: Any, status: int, code: str, param: str | None = None) -> None:
    """The error envelope: exactly four keys, request_id echoed in the header."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == code, body
    assert body["param"] == param, body
    assert isinstance(body["error"], str) and body["error"]
    assert REQUEST_ID_RE.match(body["request_id"])
    assert body["request_id"] == r.headers["x-request-id"]


def send(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.request(method, path, json=body, headers=headers)


def customer_count(db: Database) -> int:
    return int(db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM customers")))


@pytest.fixture
def fresh_client(database_url: str) -> Iterator[TestClient]:
    """A second app on the same database, with its own (empty) key cache."""
    app = create_app(Settings(database_url=database_url), db=Database(database_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


# -- 401 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_no_credentials_is_401(
    app_client: TestClient, db: Database, method: str, path: str, body: Any
) -> None:
    r = send(app_client, method, path, body, {})
    assert_error(r, 401, "authentication_required")
    assert customer_count(db) == 0


@pytest.mark.parametrize(
    "header",
    [
        "Bearer sk_test_" + "a" * 32,
        "Bearer sk_live_" + "a" * 32,
        "Bearer pk_test_abc",
        "Bearer " + "x" * 5000,
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token sk_test_abc",
        "sk_test_abc",
    ],
)
@pytest.mark.parametrize(("method", "path", "body"), ROUTES[:2])
def test_unknown_key_or_malformed_header_is_401(
    app_client: TestClient, db: Database, header: str, method: str, path: str, body: Any
) -> None:
    r = send(app_client, method, path, body, {"Authorization": header})
    assert_error(r, 401, "authentication_required")
    assert customer_count(db) == 0


def test_key_with_one_character_changed_is_401(api: API, app_client: TestClient) -> None:
    last = api.secret[-1]
    tampered = api.secret[:-1] + ("0" if last != "0" else "1")
    r = app_client.get("/api/customers", headers={"Authorization": f"Bearer {tampered}"})
    assert_error(r, 401, "authentication_required")


@pytest.mark.parametrize(
    "headers",
    [
        {"x-user-did": "zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ", "x-user-role": "owner"},
        {"x-user-did": "did:abt:zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ", "x-user-role": "admin"},
        {"x-api-key": "sk_test_abc"},
        {"cookie": "login_token=abc"},
    ],
)
def test_other_headers_do_not_authenticate(
    app_client: TestClient, db: Database, headers: dict[str, str]
) -> None:
    assert_error(app_client.get("/api/customers", headers=headers), 401, "authentication_required")
    r = app_client.post("/api/customers", json={"name": "x"}, headers=headers)
    assert_error(r, 401, "authentication_required")
    assert customer_count(db) == 0


def test_key_revoked_before_first_use_is_401(app_client: TestClient, db: Database) -> None:
    info, secret = db.run_sync(lambda tx: keys.create(tx, False, "short-lived"), write=True)
    db.run_sync(lambda tx: keys.revoke(tx, info.id), write=True)
    r = app_client.get("/api/customers", headers={"Authorization": f"Bearer {secret}"})
    assert_error(r, 401, "authentication_required")


def test_revoked_key_is_refused(
    app_client: TestClient, fresh_client: TestClient, db: Database
) -> None:
    info, secret = db.run_sync(lambda tx: keys.create(tx, False, "to revoke"), write=True)
    headers = {"Authorization": f"Bearer {secret}"}
    assert app_client.get("/api/customers", headers=headers).status_code == 200
    db.run_sync(lambda tx: keys.revoke(tx, info.id), write=True)
    # The first app may still have the key cached (up to 2 s); a new process must refuse it.
    assert_error(
        fresh_client.get("/api/customers", headers=headers), 401, "authentication_required"
    )
    r = fresh_client.post("/api/customers", json={"name": "x"}, headers=headers)
    assert_error(r, 401, "authentication_required")
    assert customer_count(db) == 0


def test_other_keys_survive_a_revoke(api: API, db: Database, fresh_client: TestClient) -> None:
    info, _ = db.run_sync(lambda tx: keys.create(tx, False, "other"), write=True)
    db.run_sync(lambda tx: keys.revoke(tx, info.id), write=True)
    assert fresh_client.get("/api/customers", headers=api.headers).status_code == 200


# -- 403 and livemode ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_test_key_asking_for_live_is_403(
    api: API, db: Database, method: str, path: str, body: Any
) -> None:
    sep = "&" if "?" in path else "?"
    r = api.request(method, f"{path}{sep}livemode=true", json=body)
    assert_error(r, 403, "forbidden", "livemode")
    assert customer_count(db) == 0


def test_live_key_asking_for_test_is_403(live_api: API, db: Database) -> None:
    assert_error(
        live_api.get("/api/customers", params={"livemode": "false"}), 403, "forbidden", "livemode"
    )
    r = live_api.post("/api/customers", params={"livemode": "false"}, json={"name": "x"})
    assert_error(r, 403, "forbidden", "livemode")
    assert customer_count(db) == 0


def test_matching_livemode_is_fine(api: API, live_api: API) -> None:
    r = api.post("/api/customers", params={"livemode": "false"}, json={"name": "t"})
    assert r.status_code == 201 and r.json()["livemode"] is False
    r = live_api.post("/api/customers", params={"livemode": "true"}, json={"name": "l"})
    assert r.status_code == 201 and r.json()["livemode"] is True
    assert api.get("/api/customers?livemode=false").json()["count"] == 1
    assert live_api.get("/api/customers?livemode=true").json()["count"] == 1


@pytest.mark.parametrize("value", ["maybe", "True", "1", ""])
def test_livemode_that_is_not_true_or_false_is_400(api: API, value: str) -> None:
    r = api.get("/api/customers", params={"livemode": value})
    assert_error(r, 400, "invalid_request", "livemode")


# -- mode isolation ------------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["live-hidden-from-test", "test-hidden-from-live"])
def test_modes_never_see_each_other(api: API, live_api: API, direction: str) -> None:
    owner, other = (live_api, api) if direction == "live-hidden-from-test" else (api, live_api)
    did = new_did()
    c = create(owner, {"did": did, "name": "Isolated Person", "metadata": {"tier": "gold"}})

    for ref in (c["id"], did, f"did:abt:{did}"):
        assert_error(other.get(f"/api/customers/{ref}"), 404, "resource_missing")
    empty = other.get("/api/customers").json()
    assert empty["count"] == 0 and empty["list"] == []
    assert other.get("/api/customers", params={"did": did}).json()["count"] == 0
    assert other.get("/api/customers?metadata.tier=gold").json()["count"] == 0
    for text in ("isolated", c["id"], did):
        assert other.get("/api/customers/search", params={"query": text}).json()["count"] == 0
    assert_error(
        other.put(f"/api/customers/{c['id']}", json={"name": "hijack"}), 404, "resource_missing"
    )
    assert_error(other.delete(f"/api/customers/{c['id']}"), 404, "resource_missing")

    assert owner.get(f"/api/customers/{c['id']}").json() == c


def test_retrieve_or_create_makes_a_separate_customer_per_mode(api: API, live_api: API) -> None:
    did = new_did()
    live = create(live_api, {"did": did})
    r = api.request("GET", f"/api/customers/{did}", json={"create": True})
    assert r.status_code == 201, r.text
    assert r.json()["id"] != live["id"] and r.json()["livemode"] is False
    assert live_api.get(f"/api/customers/{did}").json() == live


# -- envelope: error body and X-Request-Id -------------------------------------------------


def test_error_bodies_have_exactly_the_four_keys(api: API, app_client: TestClient) -> None:
    cases: list[tuple[Any, int, str, str | None]] = [
        (app_client.get("/api/customers"), 401, "authentication_required", None),
        (api.get("/api/customers?livemode=true"), 403, "forbidden", "livemode"),
        (api.get("/api/customers?page=0"), 400, "invalid_request", "page"),
        (api.post("/api/customers", json={"id": "cus_x"}), 400, "unknown_parameter", "id"),
        (api.get(f"/api/customers/{MISSING_ID}"), 404, "resource_missing", None),
        (
            api.post(
                "/api/customers",
                content=b'{"name":"' + b"x" * (1024 * 1024 + 1) + b'"}',
                headers={"content-type": "application/json"},
            ),
            413,
            "payload_too_large",
            None,
        ),
    ]
    for r, status, code, param in cases:
        assert_error(r, status, code, param)


def test_every_response_has_a_request_id(api: API, app_client: TestClient) -> None:
    c = create(api, {"name": "x"})
    responses = [
        api.get("/api/customers"),
        api.get(f"/api/customers/{c['id']}"),
        api.put(f"/api/customers/{c['id']}", json={"name": "y"}),
        api.get("/api/customers/search", params={"query": "y"}),
        api.delete(f"/api/customers/{c['id']}"),
        api.get(f"/api/customers/{c['id']}"),
        api.post("/api/customers", json={"nope": 1}),
        app_client.get("/api/customers"),
        app_client.get("/healthz"),
        app_client.get("/openapi.json"),
        app_client.get("/docs"),
        api.get("/api/does-not-exist"),
        api.request("PATCH", "/api/customers"),
        app_client.get("/nowhere"),
    ]
    request_ids = [r.headers.get("x-request-id", "") for r in responses]
    for r, rid in zip(responses, request_ids, strict=True):
        assert REQUEST_ID_RE.match(rid), (r.request.method, r.request.url, rid)
    assert len(set(request_ids)) == len(request_ids)


# -- public routes, unknown routes and methods ---------------------------------------------


def test_healthz_needs_no_auth(app_client: TestClient) -> None:
    r = app_client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"ok": True}


def test_openapi_needs_no_auth(app_client: TestClient) -> None:
    r = app_client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/customers", "/api/customers/search", "/api/customers/{id}"} <= set(doc["paths"])


def test_docs_need_no_auth(app_client: TestClient) -> None:
    r = app_client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path", ["/api/nope", "/api/customers/cus_x/nope", "/api/widgets/wd_123/void"]
)
def test_unknown_api_route_is_json_404(api: API, path: str) -> None:
    assert_error(api.get(path), 404, "resource_missing")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/api/customers"),
        ("DELETE", "/api/customers"),
        ("PUT", "/api/customers"),
        ("POST", f"/api/customers/{MISSING_ID}"),
        ("PATCH", f"/api/customers/{MISSING_ID}"),
        ("POST", "/api/customers/search"),
        ("DELETE", "/api/customers/search"),
    ],
)
def test_wrong_method_is_json_405(api: API, db: Database, method: str, path: str) -> None:
    r = api.request(method, path, json={"name": "x"})
    assert r.status_code == 405, r.text
    body = r.json()
    assert set(body) == ERROR_KEYS
    assert body["request_id"] == r.headers["x-request-id"]
    assert customer_count(db) == 0


@pytest.mark.parametrize(("method", "path"), [("POST", "/healthz"), ("DELETE", "/openapi.json")])
def test_wrong_method_on_public_routes_is_json_405(
    app_client: TestClient, method: str, path: str
) -> None:
    r = app_client.request(method, path)
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("application/json"), r.text
    assert set(r.json()) == ERROR_KEYS


def test_405_names_the_allowed_methods_in_allow(api: API) -> None:
    r = api.request("PATCH", "/api/customers")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, POST"
    public = api.request("POST", "/healthz")
    assert public.status_code == 405
    assert public.headers["allow"] == "GET, HEAD"
