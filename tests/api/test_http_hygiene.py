"""HTTP hygiene: no redirects, a JSON 405 with the route's `Allow` for every method, HEAD on
every GET route, JSON answers under /docs/static, and logs that escape what the client wrote."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from paymentkit.server import logs
from paymentkit.server.app import ENDPOINTS
from paymentkit.server.customers import service as customer_service
from paymentkit.server.db.engine import Database
from paymentkit.server.keys import service as keys_service
from tests.api.test_auth_and_modes import ERROR_KEYS, assert_error
from tests.conftest import API

BY_PATH: dict[str, set[str]] = {}
for _e in ENDPOINTS:
    BY_PATH.setdefault(_e.path, set()).add(_e.method)
PUBLIC = ["/healthz", "/openapi.json", "/docs"]
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def concrete(path: str) -> str:
    return path.replace("{id}", "cus_doesnotexist0000000000")


def allow_of(path: str) -> str:
    methods = BY_PATH[path]
    return ", ".join(sorted(methods | {"HEAD"} if "GET" in methods else methods))


@pytest.mark.parametrize(
    "path",
    ["/api/customers/", "/api/customers/search/", "/api/invoices/", "/healthz/", "/docs/"],
)
def test_a_trailing_slash_is_a_json_404_not_a_redirect(api: API, path: str) -> None:
    r = api.client.get(
        path, headers={**api.headers, "Host": "evil.example"}, follow_redirects=False
    )
    assert_error(r, 404, "resource_missing")
    assert "location" not in r.headers


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "FOO", "OPTIONS", "PATCH"])
@pytest.mark.parametrize("path", sorted(BY_PATH))
def test_every_other_method_is_a_json_405_with_the_routes_allow(
    api: API, db: Database, method: str, path: str
) -> None:
    r = api.request(method, concrete(path), json={"name": "x"})
    assert_error(r, 405, "invalid_request")
    assert r.headers["allow"] == allow_of(path)


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "FOO", "POST", "DELETE"])
@pytest.mark.parametrize("path", [*PUBLIC, "/docs/static/swagger-ui.css"])
def test_public_routes_answer_other_methods_with_json_405(
    app_client: TestClient, method: str, path: str
) -> None:
    r = app_client.request(method, path)
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("application/json")
    assert set(r.json()) == ERROR_KEYS
    assert r.headers["allow"] == "GET, HEAD"


def assert_head_matches_get(client: Any, path: str, **kwargs: Any) -> None:
    got = client.get(path, **kwargs)
    head = client.head(path, **kwargs)
    assert head.status_code == got.status_code, (path, head.status_code)
    assert head.content == b""
    for name in ("content-type", "content-length", "content-disposition"):
        assert head.headers.get(name) == got.headers.get(name), (path, name)
    assert head.headers["x-request-id"] != got.headers["x-request-id"]


@pytest.mark.parametrize("path", [*PUBLIC, "/docs/static/swagger-ui.css"])
def test_head_on_public_get_routes(app_client: TestClient, path: str) -> None:
    assert_head_matches_get(app_client, path)


def test_head_on_every_api_get_route(api: API, db: Database) -> None:
    customer = api.post("/api/customers", json={"name": "Head", "email": "head@example.com"})
    assert customer.status_code == 201
    ids = {"/api/customers/{id}": customer.json()["id"]}
    paths = sorted(p for p, methods in BY_PATH.items() if "GET" in methods)
    for path in paths:
        url = path.replace("{id}", ids.get(path, customer.json()["id"]))
        if path.endswith("/search"):
            url += "?query=head"
        assert_head_matches_get(api.client, url, headers=api.headers)
    # HEAD needs the same credentials as GET
    r = api.client.head("/api/customers")
    assert r.status_code == 401 and r.content == b""


def test_head_on_the_export_reads_nothing(api: API) -> None:
    api.post("/api/customers", json={"name": "A"})
    r = api.request("HEAD", "/api/customers/export?format=csv")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-type"].startswith("text/csv")
    assert "customers.csv" in r.headers["content-disposition"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/docs/static/missing.js", 404),
        ("GET", "/docs/static/", 404),
        ("GET", "/docs/static", 404),
        ("GET", "/docs/static/%00", 404),
        ("GET", "/docs/static/..%2f..%2f..%2fetc%2fpasswd", 404),
        ("HEAD", "/docs/static/missing.js", 404),
        ("POST", "/docs/static/missing.js", 405),
        ("PUT", "/docs/static/swagger-ui.css", 405),
        ("DELETE", "/docs/static/", 405),
    ],
)
def test_docs_static_answers_json(
    app_client: TestClient, method: str, path: str, status: int
) -> None:
    r = app_client.request(method, path)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json")
    if method != "HEAD":
        assert r.json()["code"] in ("resource_missing", "invalid_request")


def test_docs_static_serves_the_files(app_client: TestClient) -> None:
    r = app_client.get("/docs/static/swagger-ui-bundle.js")
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]


# Logs


def test_escape_leaves_no_control_character() -> None:
    hostile = "a\x1b[31mred\r\nFAKE LINE\x00\x07\x7f\x85\u2028\u2029\tz"
    escaped = logs.escape(hostile)
    assert not CONTROL.search(escaped)
    assert "\u2028" not in escaped and "\u2029" not in escaped
    assert escaped.startswith("a\\x1b[31mred\\x0d\\x0aFAKE LINE")
    assert logs.escape(escaped) == escaped
    assert logs.escape("/api/customers/cus_1 é") == "/api/customers/cus_1 é"


def test_the_filter_escapes_messages_arguments_and_tracebacks() -> None:
    try:
        raise RuntimeError("boom\x1b[2J\rX")
    except RuntimeError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s" %d', None, exc_info
    )
    record.args = ("127.0.0.1", "GET", "/x\x1b[31m\r\nFAKE", 404)
    assert logs.EscapeControlCharacters().filter(record)
    line = logging.Formatter().format(record)
    first, *rest = line.split("\n")
    assert first == '127.0.0.1 - "GET /x\\x1b[31m\\x0d\\x0aFAKE" 404'
    assert all(not CONTROL.search(part) for part in rest)
    assert "boom\\x1b[2J\\x0dX" in line


def test_unhandled_errors_log_the_path_escaped(
    api: API, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(customer_service, "retrieve", broken)
    with caplog.at_level(logging.ERROR, logger="paymentkit"):
        r = api.get("/api/customers/cus_%1b%5b31m%0d%0aFAKE")
    assert r.status_code == 500
    messages = [rec.getMessage() for rec in caplog.records if rec.name == "paymentkit"]
    assert messages, caplog.records
    assert not any(CONTROL.search(m) for m in messages)
    assert any("cus_\\x1b[31m\\x0d\\x0aFAKE" in m for m in messages)


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = logs.JSONFormatter()
    lines = [formatter.format(r) for r in caplog.records if r.name == logs.REQUEST_LOGGER]
    assert all("\n" not in line for line in lines)
    return [json.loads(line) for line in lines]


def test_json_request_lines(api: API, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=logs.REQUEST_LOGGER):
        created = api.post(
            "/api/customers", json={"email": "secret.person@example.com", "name": "Private"}
        )
        customer_id = created.json()["id"]
        api.get(f"/api/customers/{customer_id}")
        api.client.get("/api/customers", headers={"Authorization": "Bearer sk_test_wrong"})
        api.get("/api/nothing/here")
    lines = request_lines(caplog)
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("POST", "/api/customers", 201),
        ("GET", "/api/customers/{id}", 200),
        ("GET", "/api/customers", 401),
        ("GET", None, 404),
    ]
    (key,) = db.run_sync(keys_service.list_keys)
    assert [x["key_id"] for x in lines] == [key.id, key.id, None, None]
    assert lines[0]["request_id"] == created.headers["x-request-id"]
    for line in lines:
        assert set(line) == {
            "time",
            "level",
            "event",
            "request_id",
            "method",
            "route",
            "status",
            "duration_ms",
            "key_id",
        }
        assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
    text = json.dumps(lines)
    for secret in (api.secret, "sk_test_wrong", "secret.person", "Private", customer_id):
        assert secret not in text
