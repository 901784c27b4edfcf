"""Property-based tests over every operation of the OpenAPI description (schemathesis, in
process over ASGI, on SQLite): whatever a client sends — valid or not — the answer is never a
5xx, its status is one the operation documents, and its body conforms to the documented schema.

A bounded number of examples per operation keeps this in the regular suite; the longer run
against a live server is `st run http://HOST/openapi.json -H 'Authorization: Bearer sk_test_…'`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from paymentkit.server.app import ENDPOINTS, create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from paymentkit.server.openapi import openapi_document
from tests.conftest import make_key

EXAMPLES_PER_OPERATION = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed_app(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("schemathesis") / "paymentkit.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    app = create_app(Settings(database_url=url), db=db)
    app.test_secret = make_key(db, False)  # type: ignore[attr-defined]
    yield app
    db.close()


# The description the app serves at /openapi.json, built the same way without a database.
schema = schemathesis.openapi.from_dict(openapi_document(ENDPOINTS))


def fuzz_settings(examples: int) -> settings:
    """hypothesis settings of a schemathesis run: `examples` per operation, reproducible."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )


@schema.parametrize()
@fuzz_settings(EXAMPLES_PER_OPERATION)
def test_no_operation_answers_5xx_or_off_schema(case: Any, fuzzed_app: Any) -> None:
    case.call_and_validate(
        app=fuzzed_app,
        headers={"Authorization": f"Bearer {fuzzed_app.test_secret}"},
        checks=CHECKS,
    )
