"""schemathesis against a live `paymentkit serve`, on SQLite and PostgreSQL: the description is
the server's own `/openapi.json` (checked to be what is served), every operation is called over real HTTP with a test
key, and no answer may be a 5xx, an undocumented status or a body off the documented schema.

tests/api/test_schemathesis.py runs more examples in process; this one checks the served
description and the real server (uvicorn, the SQLite loop/thread split, the PostgreSQL pool).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis

from paymentkit.server.app import ENDPOINTS
from paymentkit.server.openapi import openapi_document
from tests.api.test_schemathesis import CHECKS, fuzz_settings
from tests.cli.test_serve import Server, the_printed_key
from tests.conftest import new_postgres_schema

EXAMPLES_PER_OPERATION = 8


class Live:
    def __init__(self, base: str, secret: str) -> None:
        self.base = base
        self.secret = secret


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """One server per database for the whole module (a server per operation would cost more
    than the calls)."""
    work = tmp_path_factory.mktemp("live-schemathesis")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{work / 'pk.db'}"
        else:
            url = stack.enter_context(new_postgres_schema("pk_fuzz"))
        server = Server(work, ("--database-url", url))
        stack.callback(server.stop)
        server.wait_ready()
        yield Live(server.base, the_printed_key(server))


# What the server serves at /openapi.json (checked below), built the same way.
schema = schemathesis.openapi.from_dict(openapi_document(ENDPOINTS))


def test_the_description_tested_is_the_one_served(live: Live) -> None:
    served = httpx.get(f"{live.base}/openapi.json", timeout=10, trust_env=False)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(openapi_document(ENDPOINTS)))


@schema.parametrize()
@fuzz_settings(EXAMPLES_PER_OPERATION)
def test_the_live_server_never_answers_5xx_or_off_schema(case: Any, live: Live) -> None:
    case.call_and_validate(
        base_url=live.base,
        headers={"Authorization": f"Bearer {live.secret}"},
        checks=CHECKS,
    )
