"""The connection guard under the delivery client (server/delivery/sender.py): every address a
name resolves to is checked, and the connection goes to a checked address, never to the name
again (no DNS-rebinding window)."""

from __future__ import annotations

import ipaddress
from typing import Any

import anyio
import httpcore
import pytest

from paymentkit.server.delivery import sender


class Inner(httpcore.AsyncNetworkBackend):
    def __init__(self, fail: set[str] | None = None) -> None:
        self.connected: list[str] = []
        self.fail = fail or set()

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.connected.append(host)
        if host in self.fail:
            raise httpcore.ConnectError("refused by the test")
        return object()


def resolving(monkeypatch: pytest.MonkeyPatch, *found: str) -> None:
    async def resolve(host: str, port: int, timeout: float = 5.0) -> list[Any]:
        return [ipaddress.ip_address(a) for a in found]

    monkeypatch.setattr(sender.addresses, "resolve", resolve)


def connect(backend: sender.GuardedBackend) -> Any:
    return anyio.run(backend.connect_tcp, "hooks.example.com", 443)


def test_a_name_resolving_to_any_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for private in ("10.0.0.5", "127.0.0.1", "169.254.169.254", "::1", "::ffff:192.168.1.1"):
        resolving(monkeypatch, "93.184.216.34", private)
        inner = Inner()
        with pytest.raises(sender.Refused, match="webhooks are sent only to public addresses"):
            connect(sender.GuardedBackend(False, inner))
        assert inner.connected == []  # refused before any connection


def test_the_connection_goes_to_a_checked_address_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving(monkeypatch, "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    inner = Inner(fail={"93.184.216.34"})
    connect(sender.GuardedBackend(False, inner))
    assert inner.connected == ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]


def test_allow_private_lets_any_address_through(monkeypatch: pytest.MonkeyPatch) -> None:
    resolving(monkeypatch, "127.0.0.1")
    inner = Inner()
    connect(sender.GuardedBackend(True, inner))
    assert inner.connected == ["127.0.0.1"]


def test_a_failed_lookup_is_a_connect_error(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = Inner()
    with pytest.raises(httpcore.ConnectError, match="cannot be resolved"):
        anyio.run(sender.GuardedBackend(True, inner).connect_tcp, "no-such-host.invalid", 80)
    with pytest.raises(httpcore.ConnectError, match="unix"):
        anyio.run(sender.GuardedBackend(True, inner).connect_unix_socket, "/tmp/x")
