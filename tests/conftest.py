"""Shared fixtures: real databases built by the real migrations, and HTTP clients on the app.

`database_url` runs a test on SQLite and on PostgreSQL. PostgreSQL comes from
PAYMENTKIT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test); each test run gets
its own schema. When no server answers the PostgreSQL cases are skipped with the reason, unless
PAYMENTKIT_REQUIRE_POSTGRES=1 (set by .ci/run), where they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from paymentkit.server.db.migrate import upgrade
from paymentkit.server.db.schema import metadata as schema_metadata
from paymentkit.server.keys import service as keys

PG_URL = os.environ.get("PAYMENTKIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("PAYMENTKIT_REQUIRE_POSTGRES") == "1"
# Secret settings are encrypted with this key; without it the app would write a key file.
os.environ.setdefault("PAYMENTKIT_SECRET_KEY", Fernet.generate_key().decode())
# Tests make requests faster than a key's rate limit allows; the limit's own tests set one.
os.environ.setdefault("PAYMENTKIT_RATE_LIMIT_LIVE", "0")
os.environ.setdefault("PAYMENTKIT_RATE_LIMIT_TEST", "0")


PAYMENTKIT = Path(sys.executable).with_name("paymentkit")  # the console script beside python
WAIT = 30.0  # seconds a condition may take before the test fails (never a measured duration)


def wait_until(condition: Callable[[], Any], what: str) -> Any:
    """The first truthy value of `condition`, polled every 50 ms; the test fails after WAIT."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"not within {WAIT}s: {what}")


def _pg_unavailable_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_URL}: {exc}".strip()
    return None


@contextlib.contextmanager
def new_postgres_schema(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema, dropped afterwards; skips (or fails, when
    PostgreSQL is required) if no server answers."""
    reason = _pg_unavailable_reason()
    if reason is not None:
        if REQUIRE_PG:
            pytest.fail(reason)
        pytest.skip(reason)
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    with new_postgres_schema("pk_test") as url:
        upgrade(url)
        yield url


def _truncate_postgres(url: str) -> None:
    import psycopg

    # customer_counts holds fixed shard rows made by the migration: zero them, don't delete them.
    tables = ", ".join(t.name for t in schema_metadata.sorted_tables if t.name != "customer_counts")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        conn.execute("UPDATE customer_counts SET n = 0, n_delinquent = 0")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "paymentkit.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_schema_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.close()


class API:
    """A TestClient bound to one API key (and so to one mode)."""

    def __init__(self, client: TestClient, secret: str) -> None:
        self.client = client
        self.secret = secret
        self.headers = {"Authorization": f"Bearer {secret}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def app_client(database_url: str, db: Database) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url), db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@contextlib.contextmanager
def app_on(db: Database, url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A client of an app on `db` (built with the caller's options) and a test-mode key's
    headers; `db` is closed afterwards."""
    try:
        headers = {"Authorization": f"Bearer {make_key(db, False)}"}
        app = create_app(Settings(database_url=url), db=db)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, headers
    finally:
        db.close()


def make_key(db: Database, livemode: bool) -> str:
    _, secret = db.run_sync(lambda tx: keys.create(tx, livemode, "test"), write=True)
    return secret


@pytest.fixture
def api(app_client: TestClient, db: Database) -> API:
    """A client with a test-mode key."""
    return API(app_client, make_key(db, False))


@pytest.fixture
def live_api(app_client: TestClient, db: Database) -> API:
    """A client with a live-mode key, on the same app as `api`."""
    return API(app_client, make_key(db, True))
