"""The OpenAPI 3.1 description, generated from the endpoint registry and the wire models."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from paymentkit import __version__
from paymentkit.schemas.common import ErrorBody, Health
from paymentkit.server.errors import (
    APIError,
    DatabaseBusy,
    DatabaseUnavailable,
    InternalError,
    RateLimited,
    StatementTimeout,
)
from paymentkit.server.http import Endpoint

_REF = "#/components/schemas/{name}"


def openapi_document(endpoints: list[Endpoint]) -> dict[str, Any]:
    types: list[Any] = [ErrorBody, Health]
    for e in endpoints:
        types.extend(
            t
            for t in (e.response, e.body, *e.extra_statuses.values(), *e.streamed.values())
            if t is not None
        )
    unique = list(dict.fromkeys(types))
    refs, components = msgspec.json.schema_components(unique, ref_template=_REF)
    ref = dict(zip(unique, refs, strict=True))

    paths: dict[str, dict[str, Any]] = {
        "/healthz": {
            "get": {
                "summary": "Health check",
                "tags": ["Service"],
                "security": [],
                "responses": {"200": _json_content("The service is up", ref[Health])},
            }
        }
    }
    for e in endpoints:
        operation: dict[str, Any] = {
            "operationId": f"{e.tag.lower().replace(' ', '_')}_{e.handler.__name__.rstrip('_')}",
            "summary": e.summary,
            "description": e.description,
            "tags": [e.tag],
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"{(\w+)}", e.path)
            ]
            + [
                {
                    "name": p.name,
                    "in": "query",
                    "required": p.required,
                    "description": p.description,
                    "schema": p.schema,
                }
                for p in e.query
            ],
            "responses": {str(e.status): _json_content("Success", ref[e.response])},
        }
        if e.streamed:
            operation["responses"][str(e.status)] = {
                "description": "Success, streamed",
                "content": {
                    media: {"schema": {"type": "string"} if line is None else ref[line]}
                    for media, line in e.streamed.items()
                },
            }
        for status, body_type in e.extra_statuses.items():
            operation["responses"][str(status)] = _json_content("Success", ref[body_type])
        if e.body is not None:
            operation["requestBody"] = {
                "required": e.method != "GET",
                "content": {"application/json": {"schema": ref[e.body]}},
            }
        for status, codes in _errors_by_status(e.errors).items():
            operation["responses"][str(status)] = _json_content(
                "Error: " + ", ".join(codes), ref[ErrorBody]
            )
        paths.setdefault(e.path, {})[e.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "paymentkit",
            "version": __version__,
            "description": "Self-hostable payments backend, wire-compatible with Payment Kit.",
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key, sk_test_… or sk_live_…; it fixes the mode.",
                }
            },
        },
    }


def _errors_by_status(errs: tuple[type[APIError], ...]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    # Any operation may meet a database that is busy, slow or out of reach (503, Retry-After),
    # or a key past its rate (429, Retry-After).
    anywhere = (RateLimited, InternalError, DatabaseBusy, StatementTimeout, DatabaseUnavailable)
    all_errors: tuple[type[APIError], ...] = (*errs, *anywhere)
    for err in all_errors:
        codes = grouped.setdefault(err.status, [])
        if err.code not in codes:
            codes.append(err.code)
    return grouped


def _json_content(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>paymentkit API</title>
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});
  </script>
</body>
</html>
"""
