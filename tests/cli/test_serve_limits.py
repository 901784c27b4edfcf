"""What one client can hold of `paymentkit serve`: a connection that never finishes its headers
(or trickles them) is closed after PAYMENTKIT_HEADER_TIMEOUT, an idle keep-alive connection after
PAYMENTKIT_KEEP_ALIVE_TIMEOUT, and beyond PAYMENTKIT_MAX_CONNECTIONS a request gets a 503."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from tests.cli.test_serve import Server, Start, servers

__all__ = ["servers"]  # the fixture

WAIT = 30.0  # seconds before a test gives up on the server closing a connection


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed `sock` (read until EOF, WAIT at most)."""
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()


def test_slow_headers_and_idle_keep_alive_are_closed(
    tmp_path: Path, servers: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENTKIT_HEADER_TIMEOUT", "1")
    monkeypatch.setenv("PAYMENTKIT_KEEP_ALIVE_TIMEOUT", "1")
    server = servers(tmp_path, "--database-url", f"sqlite:///{tmp_path / 'pk.db'}")

    silent = connect(server)  # connects and sends nothing
    partial = connect(server)
    partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")  # never the blank line
    assert closed_by_server(silent)
    assert closed_by_server(partial)

    # A trickle of header bytes does not keep it open: the deadline is not an idle timeout.
    trickle = connect(server)
    trickle.sendall(b"GET /healthz HTTP/1.1\r\n")
    deadline = time.monotonic() + WAIT
    closed = False
    while time.monotonic() < deadline and not closed:
        try:
            trickle.sendall(b"X-Slow: 1\r\n")
            trickle.settimeout(0.2)
            closed = trickle.recv(1) == b""
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            closed = True
    assert closed

    # A complete request is answered, then the idle keep-alive connection is closed.
    kept = connect(server)
    kept.sendall(request("/healthz"))
    assert kept.recv(65536).startswith(b"HTTP/1.1 200 ")
    assert closed_by_server(kept)
    for sock in (silent, partial, trickle, kept):
        sock.close()


def test_requests_beyond_the_connection_cap_get_503(
    tmp_path: Path, servers: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENTKIT_MAX_CONNECTIONS", "3")
    monkeypatch.setenv("PAYMENTKIT_HEADER_TIMEOUT", "600")
    server = servers(tmp_path, "--database-url", f"sqlite:///{tmp_path / 'pk.db'}")
    held = [connect(server), connect(server)]
    for sock in held:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # holds a connection, headers unfinished
    third = connect(server)
    third.sendall(request("/healthz"))
    assert third.recv(65536).startswith(b"HTTP/1.1 503 ")
    for sock in (*held, third):
        sock.close()
    answer = None
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:  # once the server has seen them close
        answer = server.http.get("/healthz")
        if answer.status_code == 200:
            break
        time.sleep(0.1)
    assert answer is not None and answer.status_code == 200


def test_a_bad_limit_setting_is_one_clear_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from paymentkit.cli.main import main

    result = CliRunner(env={"PAYMENTKIT_STATEMENT_TIMEOUT": "soon"}).invoke(
        main, ["serve", "--database-url", f"sqlite:///{tmp_path / 'pk.db'}"]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: PAYMENTKIT_STATEMENT_TIMEOUT must be a number of seconds, 0 or more; not 'soon'"
    )


def test_a_request_the_parser_cannot_read_is_a_json_400(tmp_path: Path, servers: Start) -> None:
    """An unknown method token never reaches the app; serve's protocol answers it in the API's
    error shape (uvicorn's own answer is plain text)."""
    server = servers(tmp_path, "--database-url", f"sqlite:///{tmp_path / 'pk.db'}")
    sock = connect(server)
    sock.sendall(b"FOO\x01 / HTTP/1.1\r\nHost: test\r\n\r\n")
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    assert b"content-type: application/json" in head.lower()
    error = json.loads(body)
    assert error["code"] == "invalid_request" and error["param"] is None
    assert error["request_id"].startswith("req_")
    assert f"x-request-id: {error['request_id']}".encode() in head
