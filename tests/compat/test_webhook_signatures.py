"""Deliveries from a server that has the Blocklet app key carry component signatures that the
real `verifySig` middleware of @blocklet/sdk (the version `@blocklet/payment-js` 1.27.2 pins)
accepts, beside the Standard Webhooks headers (issue 10, item 4).

`node/receiver.mjs` is a webhook receiver that runs verifySig, unmodified, on every request; the
server delivers to it over HTTP. Tampering with a captured delivery makes verifySig refuse it.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paymentkit.server.db.engine import Database
from tests.api.delivery.receivers import add_endpoint
from tests.compat.test_payment_js import (
    ALLOW_PRIVATE,
    NODE_DIR,
    app_seed,
    node,
    payment_js,
    sk32,
    sk64,
    start_server,
)

__all__ = ["app_seed", "node", "payment_js", "start_server"]  # fixtures

pytestmark = pytest.mark.timeout(900)  # the first run on a machine includes `npm ci`

RECEIVER = NODE_DIR / "receiver.mjs"


class NodeReceiver:
    def __init__(self, node: str, payment_js: Path, app_sk: str) -> None:
        self.proc = subprocess.Popen(
            [node, str(RECEIVER), str(payment_js)],
            env={"BLOCKLET_APP_SK": app_sk, "BLOCKLET_MODE": "test"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self.next(60)
        self.url = f"http://127.0.0.1:{first['port']}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def next(self, timeout: float = 30) -> dict[str, Any]:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            stderr = self.proc.stderr.read() if self.proc.poll() is not None else ""  # type: ignore[union-attr]
            raise AssertionError(f"the node receiver said nothing: {stderr}") from None

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=15)


@pytest.fixture
def node_receiver(node: str, payment_js: Path, app_seed: bytes) -> Iterator[NodeReceiver]:
    receiver = NodeReceiver(node, payment_js, sk64(app_seed))
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.mark.parametrize("form", ["seed", "seed+pk"])
def test_verifysig_accepts_every_delivery_and_refuses_a_tampered_one(
    start_server: Any,
    node_receiver: NodeReceiver,
    app_seed: bytes,
    form: str,
) -> None:
    app_sk = sk32(app_seed) if form == "seed" else sk64(app_seed)
    server = start_server("pk", app_sk=app_sk, env={ALLOW_PRIVATE: "1"})
    key = server.create_key("test")
    auth = {"Authorization": f"Bearer {key}"}
    db = Database(server.url)
    try:
        for path in ("/api/hooks/payment?source=paymentkit&tag[a]=1", "/plain"):
            add_endpoint(server.http, db, node_receiver.url + path, headers=auth)
    finally:
        db.close()
    created = server.http.post(
        "/api/customers", json={"name": "Zoë ✓", "metadata": {"n": "1"}}, headers=auth
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    updated = server.http.put(
        f"/api/customers/{customer['id']}",
        json={"description": '"quoted" \\ \u2028 é'},
        headers=auth,
    )
    assert updated.status_code == 200, updated.text

    seen = [node_receiver.next() for _ in range(4)]
    assert all(r["verified"] for r in seen), seen
    assert sorted({r["path"] for r in seen}) == [
        "/api/hooks/payment?source=paymentkit&tag[a]=1",
        "/plain",
    ]
    types = sorted(json.loads(r["body"])["type"] for r in seen)
    assert types == ["customer.created"] * 2 + ["customer.updated"] * 2
    assert all(r["webhook_id"] == json.loads(r["body"])["id"] for r in seen)

    assert all(
        set(r["headers"]) >= {"x-component-sig", "x-component-sig-iat", "x-component-sig-exp"}
        for r in seen
    )

    # A captured delivery sent again as it was verifies; changed in its body, path or query,
    # under the same headers, it does not.
    captured = next(r for r in seen if r["path"].startswith("/api/hooks"))
    replays = [
        (captured["path"], captured["body"], True),
        (captured["path"], captured["body"].replace("Zo", "Jo"), False),
        ("/api/hooks/other?source=paymentkit&tag[a]=1", captured["body"], False),
        ("/api/hooks/payment?source=paymentkit&tag[a]=2", captured["body"], False),
    ]
    with httpx.Client(trust_env=False, timeout=10) as http:
        for path, body, good in replays:
            r = http.post(
                node_receiver.url + path,
                content=body.encode(),
                headers={**captured["headers"], "Content-Type": "application/json"},
            )
            assert r.status_code == (200 if good else 401), (path, r.text)
            assert node_receiver.next()["verified"] is good
