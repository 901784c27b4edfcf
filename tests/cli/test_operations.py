"""The CLI as a new user meets it: `serve` on a taken port, which database a command opened, no
empty database made by a command run in the wrong folder, every failure one `Error:` line with
exit status 1, and data files only their owner can read."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from paymentkit.cli.main import main
from paymentkit.server.db.engine import Database
from tests.cli.test_serve import PAYMENTKIT, Start, clean_env, free_port, the_printed_key
from tests.conftest import new_postgres_schema

ENV = "PAYMENTKIT_DATABASE_URL"


def cli(*args: str, input: bytes | None = None) -> Result:
    return CliRunner(env={ENV: None}).invoke(main, list(args), input=input)


def the_error(result: Result, *, opened: bool = False) -> str:
    """The one line a failed command printed: `Error: …` on stderr, exit 1, nothing else but,
    when it failed after `opened` the database, the line naming that."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # handled, not a crash
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    if opened:
        assert lines[0].startswith("database: "), lines
        lines = lines[1:]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def listening() -> Iterator[tuple[socket.socket, int]]:
    """A port another socket of this process listens on (without SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock, sock.getsockname()[1]


def serve_once(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PAYMENTKIT), "serve", *args],
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- serve on a port in use -------------------------------------------------------------------


def test_serve_on_a_taken_port_fails_in_one_line_before_anything_else(
    tmp_path: Path, listening: tuple[socket.socket, int]
) -> None:
    _, port = listening
    done = serve_once(tmp_path, "--port", str(port), "--database-url", "sqlite:///pk.db")

    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"Error: port {port} on 127.0.0.1 is in use\n"
    # Nothing was started or made: no database, so no first key printed and lost.
    assert list(tmp_path.iterdir()) == []


def test_serve_on_the_port_of_a_running_server_fails_in_one_line(
    tmp_path: Path, servers: Start
) -> None:
    first = servers(tmp_path, "--database-url", f"sqlite:///{tmp_path / 'pk.db'}")
    key = the_printed_key(first)

    other = tmp_path / "other"
    other.mkdir()
    done = serve_once(other, "--port", str(first.port))

    assert done.returncode == 1, done.stderr
    assert done.stderr == f"Error: port {first.port} on 127.0.0.1 is in use\n"
    assert "startup" not in done.stderr.lower()
    assert list(other.iterdir()) == []
    assert first.status(key) == 200  # the running server is untouched


def test_serve_names_its_database_on_stderr(tmp_path: Path, servers: Start) -> None:
    db_file = tmp_path / "data" / "pk.db"
    server = servers(tmp_path, "--database-url", f"sqlite:///{db_file}")
    assert f"database: sqlite:///{db_file}\n" in server.output()


# -- the database a command opened ------------------------------------------------------------


def with_password(url: str, password: str) -> str:
    """The PostgreSQL URL with a password added (trust authentication ignores it)."""
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}"


def shown(url: str) -> str:
    if url.startswith("sqlite:///"):
        return "sqlite:///" + os.path.abspath(url[len("sqlite:///") :])
    return url


def test_commands_on_the_database_name_it_on_stderr(database_url: str, tmp_path: Path) -> None:
    url = database_url
    expected = shown(url)
    if url.startswith("postgresql"):
        url = with_password(url, "hunter2")
        expected = with_password(database_url, "***")
    customers = tmp_path / "c.jsonl"
    customers.write_text('{"name": "Ada"}\n')

    made = cli("keys", "create", "--mode", "test", "--json", "--database-url", url)
    commands = [
        made,
        cli("keys", "list", "--json", "--database-url", url),
        cli("keys", "revoke", json.loads(made.stdout)["id"], "--database-url", url),
        cli("migrate", "--database-url", url),
        cli("import", "customers", str(customers), "--json", "--database-url", url),
        cli("export", "customers", "--database-url", url),
    ]
    for result in commands:
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines() == [f"database: {expected}"]
        assert "hunter2" not in result.output
    assert json.loads(commands[-1].stdout)["name"] == "Ada"


# -- no new empty database outside serve and migrate --------------------------------------------


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("keys", "list"), False),
        (("keys", "create", "--mode", "test"), True),
        (("keys", "revoke", "key_x"), False),
        (("export", "customers"), False),
        (("export", "customers", "-o", "out.jsonl"), False),
        (("import", "customers", "c.jsonl"), True),
        (("import", "customers", "-"), True),
    ],
)
@pytest.mark.parametrize("explicit", [False, True], ids=["default", "explicit-url"])
def test_a_missing_sqlite_database_is_not_created(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    flag: bool,
    explicit: bool,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.jsonl").write_text('{"name": "Ada"}\n')
    path = tmp_path / ("paymentkit-data/paymentkit.db" if not explicit else "elsewhere/x.db")
    options = ("--database-url", f"sqlite:///{path}") if explicit else ()

    error = the_error(cli(*args, *options, input=b'{"name": "Ada"}\n'))

    assert error.startswith(f"Error: no database at {path}; ")
    assert "`paymentkit migrate`" in error and "`paymentkit serve`" in error
    assert ("--create" in error) is flag
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.jsonl"]  # no file, no folder


def test_create_makes_the_database_when_asked(tmp_path: Path) -> None:
    keys_db = tmp_path / "keys" / "pk.db"
    made = cli(
        "keys",
        "create",
        "--mode",
        "live",
        "--json",
        "--create",
        "--database-url",
        f"sqlite:///{keys_db}",
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["mode"] == "live"
    assert keys_db.is_file()

    import_db = tmp_path / "import" / "pk.db"
    imported = cli(
        "import",
        "customers",
        "-",
        "--json",
        "--create",
        "--database-url",
        f"sqlite:///{import_db}",
        input=b'{"name": "Ada"}\n{"name": "Bob"}\n',
    )
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["imported"] == 2
    # Once it exists, no flag is needed.
    exported = cli("export", "customers", "--database-url", f"sqlite:///{import_db}")
    assert exported.exit_code == 0, exported.output
    assert [json.loads(line)["name"] for line in exported.stdout.splitlines()] == ["Bob", "Ada"]


def test_migrate_and_serve_create_a_missing_database(tmp_path: Path, servers: Start) -> None:
    migrated = tmp_path / "m" / "pk.db"
    assert cli("migrate", "--database-url", f"sqlite:///{migrated}").exit_code == 0
    assert migrated.is_file()
    served = tmp_path / "s" / "pk.db"
    servers(tmp_path, "--database-url", f"sqlite:///{served}")
    assert served.is_file()


# -- every failure is one Error: line ---------------------------------------------------------


def test_revoking_unknown_and_revoked_keys_are_errors(database_url: str) -> None:
    made = json.loads(
        cli("keys", "create", "--mode", "test", "--json", "--database-url", database_url).stdout
    )
    unknown = cli("keys", "revoke", "key_unknown", "--database-url", database_url)
    assert unknown.exit_code == 1
    assert unknown.stderr.splitlines()[-1] == "Error: no such key: key_unknown"

    assert cli("keys", "revoke", made["id"], "--database-url", database_url).exit_code == 0
    again = cli("keys", "revoke", made["id"], "--database-url", database_url)
    assert again.exit_code == 1
    assert again.stdout == ""
    assert again.stderr.splitlines()[-1].startswith(
        f"Error: key {made['id']} was already revoked at "
    )


DATABASE_COMMANDS = [
    ("keys", "list"),
    ("keys", "create", "--mode", "test"),
    ("keys", "revoke", "key_x"),
    ("migrate",),
    ("export", "customers"),
    ("import", "customers", "-"),
]


@pytest.mark.parametrize("args", DATABASE_COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://root:pw@localhost/pk", "Error: --database-url: unsupported database URL"),
        ("sqlite:///:memory:", "Error: --database-url: an in-memory SQLite database"),
        # Nothing listens on port 1: refused at once.
        ("postgresql://postgres:hunter2@127.0.0.1:1/test", "Error: cannot migrate postgresql://"),
    ],
    ids=["unsupported", "memory", "unreachable-postgres"],
)
def test_a_database_that_cannot_be_used_is_one_error_line(
    args: tuple[str, ...], url: str, says: str
) -> None:
    error = the_error(cli(*args, "--database-url", url, input=b"{}\n"))
    assert error.startswith(says), error
    if "127.0.0.1:1" in url:
        assert "postgres:***@127.0.0.1:1/test" in error
        assert "hunter2" not in error
        assert "Connection refused" in error


def test_an_unknown_postgresql_role_is_one_error_line() -> None:
    with new_postgres_schema("pk_cli_role") as url:
        scheme, rest = url.split("://", 1)
        _, host = rest.split("@", 1)
        error = the_error(cli("keys", "list", "--database-url", f"{scheme}://no_such_role@{host}"))
    assert "no_such_role" in error


def test_serve_on_an_unreachable_postgresql_is_one_error_line(tmp_path: Path) -> None:
    port = free_port()
    done = serve_once(
        tmp_path, "--port", str(port), "--database-url", "postgresql://postgres@127.0.0.1:1/test"
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert errors == [
        next(line for line in done.stderr.splitlines() if "cannot migrate" in line)
    ], done.stderr
    assert "Traceback" not in done.stderr


def test_bad_import_files_are_one_error_line(database_url: str, tmp_path: Path) -> None:
    missing = the_error(
        cli("import", "customers", str(tmp_path / "none.jsonl"), "--database-url", database_url)
    )
    assert missing == f"Error: cannot read {tmp_path / 'none.jsonl'}: No such file or directory"

    unknown_format = tmp_path / "c.txt"
    unknown_format.write_text("{}\n")
    error = the_error(
        cli("import", "customers", str(unknown_format), "--database-url", database_url)
    )
    assert "--format" in error

    not_utf8 = tmp_path / "c.csv"
    not_utf8.write_bytes(b"name\n\xff\xfe\n")
    error = the_error(
        cli("import", "customers", str(not_utf8), "--database-url", database_url), opened=True
    )
    assert error.startswith(f"Error: {not_utf8}: line ")
    assert error.endswith(": the file is not UTF-8 text")

    errors_to = tmp_path / "no" / "such" / "dir" / "e.jsonl"
    good = tmp_path / "good.jsonl"
    good.write_text("{}\n")
    error = the_error(
        cli(
            "import",
            "customers",
            str(good),
            "--errors",
            str(errors_to),
            "--database-url",
            database_url,
        ),
        opened=True,
    )
    assert error == f"Error: --errors: cannot write {errors_to}: No such file or directory"


def test_an_export_that_cannot_be_written_is_one_error_line(
    database_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "no" / "dir" / "out.jsonl"
    error = the_error(
        cli("export", "customers", "-o", str(target), "--database-url", database_url), opened=True
    )
    assert error == f"Error: --output: cannot write {target}: No such file or directory"


# -- files only their owner can read ----------------------------------------------------------


def test_a_new_sqlite_database_and_its_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "pk"
    path = folder / "pk.db"
    assert cli("migrate", "--database-url", f"sqlite:///{path}").exit_code == 0
    assert mode(folder) == 0o700
    assert mode(path) == 0o600

    db = Database(f"sqlite:///{path}")  # the server's own handle: WAL and shared memory open
    try:
        db.run_sync(lambda tx: tx.execute("DELETE FROM api_keys"), write=True)
        companions = [folder / "pk.db-wal", folder / "pk.db-shm"]
        for companion in companions:
            assert companion.exists(), sorted(p.name for p in folder.iterdir())
            assert mode(companion) == 0o600, companion
    finally:
        db.close()


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)
    path = folder / "pk.db"
    assert cli("migrate", "--database-url", f"sqlite:///{path}").exit_code == 0
    assert mode(folder) == 0o755
    assert mode(path) == 0o600


def test_serve_makes_its_data_folder_database_and_key_file_private(
    tmp_path: Path, servers: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYMENTKIT_SECRET_KEY", raising=False)  # so serve writes its key file
    server = servers(tmp_path)
    assert server.status(the_printed_key(server)) == 200  # the server's connection is open
    data = tmp_path / "paymentkit-data"
    assert "secret.key" in server.output()
    assert mode(data) == 0o700
    files = {p.name: mode(p) for p in data.iterdir()}
    assert files == {
        "paymentkit.db": 0o600,
        "paymentkit.db-wal": 0o600,
        "paymentkit.db-shm": 0o600,
        "secret.key": 0o600,
    }


def test_a_damaged_database_is_one_error_line(tmp_path: Path) -> None:
    """A failure no command expects (here a table gone from a migrated database) still ends as
    one line and exit status 1, not a traceback."""
    path = tmp_path / "pk.db"
    assert cli("migrate", "--database-url", f"sqlite:///{path}").exit_code == 0
    db = Database(f"sqlite:///{path}")
    try:
        db.run_sync(lambda tx: tx.execute("DROP TABLE api_keys"), write=True)
    finally:
        db.close()
    error = the_error(cli("keys", "list", "--database-url", f"sqlite:///{path}"), opened=True)
    assert error == "Error: no such table: api_keys"
