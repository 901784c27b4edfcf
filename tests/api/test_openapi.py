"""The API description: every registered route, parameter, body and error response is in it."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from paymentkit.server.app import ENDPOINTS


def test_openapi_describes_every_endpoint(app_client: TestClient) -> None:
    r = app_client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    for endpoint in ENDPOINTS:
        op = doc["paths"][endpoint.path][endpoint.method.lower()]
        assert op["summary"] and op["description"], endpoint.path
        names = {(p["in"], p["name"]) for p in op["parameters"]}
        for path_param in re.findall(r"{(\w+)}", endpoint.path):
            assert ("path", path_param) in names
        for query_param in endpoint.query:
            assert ("query", query_param.name) in names
        assert str(endpoint.status) in op["responses"]
        if endpoint.body is not None:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in schemas
        for error in endpoint.errors:
            response = op["responses"][str(error.status)]
            assert error.code in response["description"], (endpoint.path, error.code)
            assert response["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
        assert "500" in op["responses"]
        unavailable = op["responses"]["503"]["description"]
        for code in ("database_busy", "timeout", "database_unavailable"):
            assert code in unavailable, (endpoint.path, code)


def test_openapi_schemas_carry_the_wire_shapes(app_client: TestClient) -> None:
    schemas = app_client.get("/openapi.json").json()["components"]["schemas"]
    customer = schemas["Customer"]["properties"]
    for field in ("id", "object", "did", "balance", "delinquent", "metadata", "created_at"):
        assert field in customer
    assert schemas["CustomerInput"]["additionalProperties"] is False
    assert schemas["ErrorBody"]["required"] == ["code", "error", "param", "request_id"]


def test_docs_page_and_its_assets_are_served(app_client: TestClient) -> None:
    page = app_client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in re.findall(r'(?:src|href)="(/docs/static/[^"]+)"', page.text):
        assert app_client.get(asset).status_code == 200, asset
    assert "/openapi.json" in page.text
