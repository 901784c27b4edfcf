"""`paymentkit serve` as an operator runs it: a real process on a real port, spoken to over HTTP.

Every server started here is stopped by the `servers` fixture, whatever the test did.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from paymentkit.cli.main import main
from tests.conftest import PAYMENTKIT

KEY_RE = re.compile(r"sk_(?:test|live)_[0-9A-Za-z]+")
# Variables that would choose the database, address or a proxy for the server or for curl.
_SCRUB = ("PAYMENTKIT_DATABASE_URL", "PAYMENTKIT_HOST", "PAYMENTKIT_PORT")
_PROXIES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")

WINDOW = 5.0  # seconds a running server may take to see a key created or revoked from the CLI
POLL = 0.25


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB and k not in _PROXIES}
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


class Server:
    def __init__(self, cwd: Path, args: tuple[str, ...]) -> None:
        self.cwd = cwd
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = cwd / f"serve-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(PAYMENTKIT), "serve", "--port", str(self.port), *args],
                cwd=cwd,
                env=clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.http = httpx.Client(base_url=self.base, timeout=10, trust_env=False)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if self.http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"server not ready after {timeout}s:\n{self.output()}")

    def get(self, path: str, secret: str | None = None, **kwargs: object) -> httpx.Response:
        headers = {} if secret is None else {"Authorization": f"Bearer {secret}"}
        return self.http.get(path, headers=headers, **kwargs)  # type: ignore[arg-type]

    def status(self, secret: str) -> int:
        return self.get("/api/customers", secret).status_code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.http.close()

    def kill9(self) -> None:
        """kill -9 of `serve` and of what it started (its delivery process), as a power cut or
        the OOM killer of a container would."""
        subprocess.run(["pkill", "-KILL", "-P", str(self.proc.pid)], check=False)
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=15)
        self.http.close()


Start = Callable[..., Server]


@pytest.fixture
def servers() -> Iterator[Start]:
    started: list[Server] = []

    def start(cwd: Path, *args: str) -> Server:
        server = Server(cwd, args)
        started.append(server)
        server.wait_ready()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


def printed_keys(output: str) -> list[str]:
    return sorted(set(KEY_RE.findall(output)))


def the_printed_key(server: Server) -> str:
    keys = printed_keys(server.output())
    assert len(keys) == 1, server.output()
    return keys[0]


def within_window(check: Callable[[], bool]) -> float | None:
    """Seconds until `check()` held, polling every POLL up to WINDOW; None if it never did."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > WINDOW:
            return None
        time.sleep(POLL)


def cli(*args: str) -> dict[str, object] | str:
    result = CliRunner(env={"PAYMENTKIT_DATABASE_URL": None}).invoke(main, list(args))
    assert result.exit_code == 0, result.output
    if "--json" in args:
        obj = json.loads(result.stdout)
        assert isinstance(obj, dict)
        return obj
    return result.stdout


def test_first_start_prints_a_working_test_key_once(tmp_path: Path, servers: Start) -> None:
    url = f"sqlite:///{tmp_path / 'pk.db'}"
    first = servers(tmp_path, "--database-url", url)

    out = first.output()
    key = the_printed_key(first)
    assert key.startswith("sk_test_")
    assert [line.strip() for line in out.splitlines()].count(key) == 1  # the key on its own line
    curl_lines = [line.strip() for line in out.splitlines() if line.strip().startswith("curl ")]
    assert len(curl_lines) == 1, out
    curl_line = curl_lines[0]
    assert key in curl_line
    assert f":{first.port}" in curl_line

    # Do what the line says, over plain HTTP.
    argv = shlex.split(curl_line)
    target = next(a for a in argv if a.startswith("http://"))
    header = argv[argv.index("-H") + 1]
    name, _, value = header.partition(":")
    r = httpx.get(target, headers={name.strip(): value.strip()}, timeout=10, trust_env=False)
    assert r.status_code == 200, r.text
    assert r.json()["list"] == [] and r.json()["count"] == 0
    created = first.http.post(
        "/api/customers", json={"name": "Ada"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["livemode"] is False
    if shutil.which("curl"):
        pasted = subprocess.run(
            curl_line, shell=True, capture_output=True, text=True, env=clean_env(), timeout=30
        )
        assert pasted.returncode == 0, pasted.stderr
        assert json.loads(pasted.stdout)["count"] == 1

    first.stop()
    second = servers(tmp_path, "--database-url", url)
    assert printed_keys(second.output()) == []
    assert "curl" not in second.output()
    assert second.status(key) == 200


def test_default_database_is_created_under_the_working_directory(
    tmp_path: Path, servers: Start
) -> None:
    cwd = tmp_path / "work"
    cwd.mkdir()
    server = servers(cwd)

    db_file = cwd / "paymentkit-data" / "paymentkit.db"
    assert db_file.is_file()
    key = the_printed_key(server)
    assert server.status(key) == 200
    # The key lives in that file: the CLI pointed at it lists exactly one key.
    listed = CliRunner(env={"PAYMENTKIT_DATABASE_URL": None}).invoke(
        main, ["keys", "list", "--json", "--database-url", f"sqlite:///{db_file}"]
    )
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)) == 1


def test_keys_made_and_revoked_with_the_cli_reach_a_running_server(
    tmp_path: Path, servers: Start
) -> None:
    url = f"sqlite:///{tmp_path / 'pk.db'}"
    server = servers(tmp_path, "--database-url", url)
    first_key = the_printed_key(server)
    assert server.status(first_key) == 200

    made = cli("keys", "create", "--mode", "live", "--json", "--database-url", url)
    assert isinstance(made, dict)
    secret = str(made["secret"])
    took = within_window(lambda: server.status(secret) == 200)
    assert took is not None, f"a new key was still refused {WINDOW}s after `keys create`"
    r = server.get("/api/customers", secret)
    assert r.status_code == 200

    assert server.status(secret) == 200  # the server now holds it as valid
    cli("keys", "revoke", str(made["id"]), "--database-url", url)
    took = within_window(lambda: server.status(secret) == 401)
    assert took is not None, f"a revoked key was still accepted {WINDOW}s after `keys revoke`"
    assert server.status(secret) == 401
    assert server.status(first_key) == 200


def test_healthz_answers_without_credentials(tmp_path: Path, servers: Start) -> None:
    server = servers(tmp_path, "--database-url", f"sqlite:///{tmp_path / 'pk.db'}")
    r = server.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"ok": True}
    unauthenticated = server.get("/api/customers")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["code"] == "authentication_required"


def test_an_answered_write_survives_kill_9(tmp_path: Path, servers: Start) -> None:
    url = f"sqlite:///{tmp_path / 'pk.db'}"
    server = servers(tmp_path, "--database-url", url)
    key = the_printed_key(server)
    auth = {"Authorization": f"Bearer {key}"}

    answered: list[dict[str, object]] = []
    for i in range(20):
        r = server.http.post(
            "/api/customers", json={"name": f"c{i}", "metadata": {"i": str(i)}}, headers=auth
        )
        assert r.status_code == 201, r.text
        answered.append(r.json())
    updated = server.http.put(
        f"/api/customers/{answered[0]['id']}", json={"description": "updated"}, headers=auth
    )
    assert updated.status_code == 200, updated.text
    answered[0] = updated.json()

    server.kill9()  # straight after the last answer: no shutdown, no checkpoint

    restarted = servers(tmp_path, "--database-url", url)
    assert printed_keys(restarted.output()) == []
    for customer in answered:
        r = restarted.get(f"/api/customers/{customer['id']}", key)
        assert r.status_code == 200, r.text
        assert r.json() == customer
    assert restarted.get("/api/customers", key).json()["count"] == len(answered)


def test_log_format_json_writes_one_line_per_request(tmp_path: Path, servers: Start) -> None:
    server = servers(
        tmp_path, "--database-url", f"sqlite:///{tmp_path / 'pk.db'}", "--log-format", "json"
    )
    secret = the_printed_key(server)
    created = server.http.post(
        "/api/customers",
        json={"email": "private.person@example.com"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert created.status_code == 201
    customer_id = created.json()["id"]
    assert server.get(f"/api/customers/{customer_id}", secret).status_code == 200
    assert server.http.request("FOO", "/api/customers").status_code == 400  # the parser's own
    hostile = server.http.get("/api/customers/%1b%5b2J%0d%0aFAKE")
    assert hostile.status_code == 401
    server.stop()
    # What `serve` prints before uvicorn starts is for the operator; every log line after is JSON.
    logged = server.output().split("API docs:", 1)[1].splitlines()[1:]
    records = [json.loads(line) for line in logged if line]
    requests = [r for r in records if r.get("event") == "request"]
    assert [(r["method"], r["route"], r["status"]) for r in requests] == [
        ("GET", "/healthz", 200),  # wait_ready
        ("POST", "/api/customers", 201),
        ("GET", "/api/customers/{id}", 200),
        ("GET", "/api/customers/{id}", 401),
    ]
    assert requests[1]["request_id"] == created.headers["x-request-id"]
    assert requests[1]["key_id"].startswith("key_")
    assert requests[3]["key_id"] is None
    assert all(isinstance(r["duration_ms"], float | int) for r in requests)
    text = "\n".join(logged)
    for leaked in (secret, "private.person", customer_id, "\x1b", "FAKE"):
        assert leaked not in text
