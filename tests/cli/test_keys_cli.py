"""`paymentkit keys …` and `paymentkit migrate`, driven through click on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from paymentkit.cli.main import main
from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import DatabaseURL
from paymentkit.server.db.migrate import alembic_config, current

ENV = "PAYMENTKIT_DATABASE_URL"


def cli(*args: str, env: dict[str, str | None] | None = None) -> Result:
    # Nothing from the developer's shell may pick the database for a test.
    return CliRunner(env={ENV: None, **(env or {})}).invoke(main, list(args))


def create_key(url: str, mode: str = "test", *extra: str) -> dict[str, Any]:
    result = cli("keys", "create", "--mode", mode, "--json", "--database-url", url, *extra)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


def list_json(url: str) -> list[dict[str, Any]]:
    result = cli("keys", "list", "--json", "--database-url", url)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


def status_with(url: str, secret: str, **params: str) -> int:
    """The status a freshly started app (so nothing cached) gives `secret` on the customers list."""
    app = create_app(Settings(database_url=url))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get(
            "/api/customers", params=params, headers={"Authorization": f"Bearer {secret}"}
        )
        status: int = r.status_code
        return status


def secret_fragments(secret: str) -> list[str]:
    """The secret and its random middle (what the hint `sk_test_…abcd` leaves out)."""
    return [secret, secret[8:-4]]


def assert_not_stored(url: str, secret: str) -> None:
    engine = create_engine(DatabaseURL.parse(url).sqlalchemy_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM api_keys")).all()
    finally:
        engine.dispose()
    assert rows
    dump = repr(rows)
    for fragment in secret_fragments(secret):
        assert fragment not in dump
    parsed = DatabaseURL.parse(url)
    if parsed.sqlite_path is not None:
        files = list(parsed.sqlite_path.parent.glob(parsed.sqlite_path.name + "*"))
        assert parsed.sqlite_path in files
        for path in files:  # the database, its WAL and shared-memory files
            data = path.read_bytes()
            for fragment in secret_fragments(secret):
                assert fragment.encode() not in data, path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli' / 'paymentkit.db'}"


@pytest.mark.parametrize(
    ("mode", "prefix", "livemode"), [("test", "sk_test_", False), ("live", "sk_live_", True)]
)
def test_create_json_prints_one_object_with_the_secret(
    database_url: str, mode: str, prefix: str, livemode: bool
) -> None:
    obj = create_key(database_url, mode, "--name", "ci")
    assert obj["secret"].startswith(prefix)
    assert len(obj["secret"]) > len(prefix) + 20
    assert obj["id"].startswith("key_")
    assert obj["mode"] == mode
    assert obj["livemode"] is livemode
    assert obj["name"] == "ci"
    assert obj["revoked_at"] is None
    assert status_with(database_url, obj["secret"]) == 200
    # The key fixes the mode.
    other = "false" if livemode else "true"
    assert status_with(database_url, obj["secret"], livemode=other) == 403


def test_create_without_json_prints_the_secret_once(database_url: str) -> None:
    result = cli("keys", "create", "--mode", "live", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    [secret] = [w for w in result.stdout.split() if w.startswith("sk_")]
    assert secret.startswith("sk_live_")
    assert result.stdout.count(secret) == 1
    assert status_with(database_url, secret) == 200


def test_the_secret_is_not_stored_in_plain_text(database_url: str) -> None:
    secrets = [create_key(database_url, mode)["secret"] for mode in ("test", "live")]
    for secret in secrets:
        assert_not_stored(database_url, secret)


def test_list_never_shows_the_secret(database_url: str) -> None:
    made = [create_key(database_url, "test", "--name", "a"), create_key(database_url, "live")]

    listed = list_json(database_url)
    assert [k["id"] for k in listed] == [k["id"] for k in made]
    assert [k["mode"] for k in listed] == ["test", "live"]
    assert [k["name"] for k in listed] == ["a", None]
    for entry in listed:
        assert "secret" not in entry
    raw_json = cli("keys", "list", "--json", "--database-url", database_url).output

    table = cli("keys", "list", "--database-url", database_url)
    assert table.exit_code == 0, table.output
    for key in made:
        for fragment in secret_fragments(key["secret"]):
            assert fragment not in raw_json
            assert fragment not in table.output
        assert key["hint"] in table.output


def test_list_shows_full_ids_that_revoke_accepts(sqlite_url: str) -> None:
    """The table is where an operator finds the id to pass to `keys revoke`; it must be whole."""
    made = [
        create_key(sqlite_url, "test", "--name", "a", "--create"),
        create_key(sqlite_url, "live"),
    ]
    # An ordinary 80-column terminal (rich sizes its table from COLUMNS when not on a tty).
    table = cli("keys", "list", "--database-url", sqlite_url, env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.output
    for key in made:
        assert key["id"] in table.output


def test_revoke_stops_the_key_authenticating(database_url: str) -> None:
    keep = create_key(database_url, "test")
    gone = create_key(database_url, "test")
    assert status_with(database_url, gone["secret"]) == 200

    result = cli("keys", "revoke", gone["id"], "--database-url", database_url)

    assert result.exit_code == 0, result.output
    assert gone["id"] in result.stdout
    assert status_with(database_url, gone["secret"]) == 401
    assert status_with(database_url, keep["secret"]) == 200
    by_id = {k["id"]: k for k in list_json(database_url)}
    assert by_id[gone["id"]]["revoked_at"] is not None
    assert by_id[keep["id"]]["revoked_at"] is None
    # Revoking again is an error that changes nothing: the key stays revoked, at its first time.
    first_revoked_at = by_id[gone["id"]]["revoked_at"]
    again = cli("keys", "revoke", gone["id"], "--database-url", database_url)
    assert again.exit_code == 1, again.output
    assert again.stdout == ""
    assert again.stderr.splitlines()[-1] == (
        f"Error: key {gone['id']} was already revoked at {first_revoked_at}"
    )
    assert status_with(database_url, gone["secret"]) == 401
    assert {k["id"]: k for k in list_json(database_url)}[gone["id"]]["revoked_at"] == (
        first_revoked_at
    )


def test_revoking_an_unknown_key_fails_with_a_message(database_url: str) -> None:
    create_key(database_url, "test")
    result = cli("keys", "revoke", "key_doesnotexist000000000000", "--database-url", database_url)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a handled refusal, not a crash
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == "Error: no such key: key_doesnotexist000000000000"


def test_mode_is_required(sqlite_url: str) -> None:
    result = cli("keys", "create", "--database-url", sqlite_url)
    assert result.exit_code == 2
    assert "--mode" in result.output


@pytest.mark.parametrize("mode", ["prod", "TEST", ""])
def test_mode_is_validated(sqlite_url: str, mode: str) -> None:
    result = cli("keys", "create", "--mode", mode, "--database-url", sqlite_url)
    assert result.exit_code == 2
    assert "--mode" in result.output
    assert "sk_" not in result.output


def test_environment_variable_is_used_when_the_flag_is_absent(tmp_path: Path) -> None:
    from_env = f"sqlite:///{tmp_path / 'env' / 'pk.db'}"
    from_flag = f"sqlite:///{tmp_path / 'flag' / 'pk.db'}"
    for made_url in (from_env, from_flag):
        assert cli("migrate", "--database-url", made_url).exit_code == 0

    result = cli("keys", "create", "--mode", "test", "--json", env={ENV: from_env})
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert [k["id"] for k in list_json(from_env)] == [made["id"]]
    assert status_with(from_env, made["secret"]) == 200

    listed = cli("keys", "list", "--json", env={ENV: from_env})
    assert [k["id"] for k in json.loads(listed.stdout)] == [made["id"]]

    # The flag wins over the variable.
    flagged = cli(
        "keys",
        "create",
        "--mode",
        "live",
        "--json",
        "--database-url",
        from_flag,
        env={ENV: from_env},
    )
    assert flagged.exit_code == 0, flagged.output
    assert [k["id"] for k in list_json(from_flag)] == [json.loads(flagged.stdout)["id"]]
    assert len(list_json(from_env)) == 1


def test_default_database_is_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("keys", "create", "--mode", "test", "--json", "--create")
    assert result.exit_code == 0, result.output
    path = tmp_path / "paymentkit-data" / "paymentkit.db"
    assert path.is_file()
    assert result.stderr.splitlines() == [f"database: sqlite:///{path}"]
    assert [k["id"] for k in list_json(f"sqlite:///{path}")] == [json.loads(result.stdout)["id"]]


def test_an_unsupported_database_url_is_refused(tmp_path: Path) -> None:
    result = cli("keys", "list", "--database-url", "mysql://root@localhost/pk")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: --database-url: unsupported database URL")
    assert "sqlite:///" in line


def test_migrate_prints_the_revision(database_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert head is not None
    result = cli("migrate", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    assert head in result.stdout
    assert current(database_url) == head


def test_migrate_builds_a_new_sqlite_database(sqlite_url: str) -> None:
    result = cli("migrate", "--database-url", sqlite_url)
    assert result.exit_code == 0, result.output
    head = current(sqlite_url)
    assert head is not None and head in result.stdout
    # A second run changes nothing and says the same.
    again = cli("migrate", "--database-url", sqlite_url)
    assert again.exit_code == 0 and again.stdout == result.stdout
