"""Real local webhook receivers for the delivery tests: an HTTP server in a thread that records
every request it gets and answers as the test's `policy` says.

Shared by tests/api/delivery and tests/cli (the `serve`/`worker` processes deliver to them).
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets as random_secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from standardwebhooks import Webhook, WebhookVerificationError

from paymentkit.server.db.engine import Database


@dataclass(frozen=True)
class Received:
    path: str  # with the query string
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.monotonic()

    @property
    def event(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


# What a receiver answers: (status, headers, body).
Answer = tuple[int, dict[str, str], bytes]
Policy = Callable[["Received", int], Answer]  # the request, and how often this event came before


def ok(request: Received, seen: int) -> Answer:
    return 200, {}, b"ok"


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # The sender reads 2 KB of an answer and hangs up: a broken pipe here is expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Receiver:
    policy: Policy = ok
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: nothing was delivered
                    return
                request = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with receiver.lock:
                    seen = sum(
                        1
                        for r in receiver.got
                        if r.headers.get("webhook-id") == request.headers.get("webhook-id")
                    )
                    receiver.got.append(request)
                status, headers, answer = receiver.policy(request, seen)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def requests(self) -> list[Received]:
        with self.lock:
            return list(self.got)

    def wait_for(
        self, check: Callable[[list[Received]], bool], timeout: float = 30.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.requests()
            if check(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"receiver never saw what was awaited; it got {len(got)}:"
                    f" {[r.event.get('type') for r in got]}"
                )
            time.sleep(0.05)

    def wait_count(self, n: int, timeout: float = 30.0) -> list[Received]:
        return self.wait_for(lambda got: len(got) >= n, timeout)


@contextlib.contextmanager
def receiving(policy: Policy = ok) -> Iterator[Receiver]:
    receiver = Receiver(policy).start()
    try:
        yield receiver
    finally:
        receiver.stop()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(random_secrets.token_bytes(32)).decode()


def verified(request: Received, secret: str) -> dict[str, Any]:
    """The event a receiver got, after the `standardwebhooks` package verified its signature."""
    event: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return event


def verifies(request: Received, secret: str) -> bool:
    try:
        verified(request, secret)
    except WebhookVerificationError:
        return False
    return True


class Client(Protocol):
    """What creates endpoints: the tests' API (a TestClient with a key) or an httpx client."""

    def post(self, path: str, **kwargs: Any) -> Any: ...


def add_endpoint(
    api: Client, db: Database, url: str, enabled: list[str] | None = None, **auth: Any
) -> tuple[str, int, str]:
    """An endpoint made through `POST /api/webhook-endpoints`: its id, its seq (for reading its
    deliveries in the database) and the signing secret the create answer shows once."""
    r = api.post(
        "/api/webhook-endpoints", json={"url": url, "enabled_events": enabled or ["*"]}, **auth
    )
    assert r.status_code == 201, r.text
    made = r.json()
    seq = db.run_sync(
        lambda tx: tx.scalar("SELECT seq FROM webhook_endpoints WHERE id = ?", (made["id"],))
    )
    return str(made["id"]), int(seq), str(made["secret"])
