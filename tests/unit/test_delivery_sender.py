"""The connection guard of the delivery client (server/delivery/sender.py): every address a name
resolves to is checked, the connection goes only to a checked address (never to the name again:
no DNS-rebinding window), names are resolved again for each new connection, and an IP literal
is checked before anything is sent."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from paymentkit.server.delivery import sender


def resolving(monkeypatch: pytest.MonkeyPatch, *found: str) -> list[str]:
    """Make every lookup answer `found`; the hosts looked up are appended to the list returned."""
    asked: list[str] = []

    async def resolve(host: str, port: int, timeout: float = 5.0) -> list[Any]:
        asked.append(host)
        return [ipaddress.ip_address(a) for a in found]

    monkeypatch.setattr(sender.addresses, "resolve", resolve)
    return asked


class Receiver:
    """A TCP server on 127.0.0.1 answering 200 to each request, counting connections."""

    def __init__(self, close: bool) -> None:
        self.close = close
        self.connections = 0
        self.hosts: list[str] = []
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                self.hosts.append(fields.get("Host", ""))
                await reader.readexactly(int(fields.get("Content-Length", "0")))
                extra = b"Connection: close\r\n" if self.close else b""
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + extra + b"\r\nok")
                await writer.drain()
                if self.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@asynccontextmanager
async def receiver(close: bool = False) -> AsyncIterator[Receiver]:
    r = Receiver(close)
    server = await asyncio.start_server(r.handle, "127.0.0.1", 0, family=socket.AF_INET)
    r.port = server.sockets[0].getsockname()[1]
    async with server:
        yield r


def post(s: sender.Sender, url: str) -> sender.Outcome:
    return asyncio.run(_post(s, url))


async def _post(s: sender.Sender, url: str) -> sender.Outcome:
    try:
        return await s.post(url, b"{}", {"webhook-id": "evt_1"})
    finally:
        await s.aclose()


def test_a_name_resolving_to_any_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for private in ("10.0.0.5", "127.0.0.1", "169.254.169.254", "::1", "::ffff:192.168.1.1"):
        resolving(monkeypatch, "93.184.216.34", private)
        with pytest.raises(sender.Refused, match="webhooks are sent only to public addresses"):
            asyncio.run(sender.GuardedResolver(False).resolve("hooks.example.com", 443))


def test_the_resolver_answers_the_checked_addresses_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving(monkeypatch, "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    found = asyncio.run(sender.GuardedResolver(False).resolve("hooks.example.com", 443))
    assert [(r["host"], r["port"], r["family"]) for r in found] == [
        ("93.184.216.34", 443, socket.AF_INET),
        ("2606:2800:220:1:248:1893:25c8:1946", 443, socket.AF_INET6),
    ]
    assert all(r["hostname"] == "hooks.example.com" for r in found)


def test_a_failed_lookup_is_unresolved() -> None:
    with pytest.raises(sender.Unresolved, match="cannot be resolved"):
        asyncio.run(sender.GuardedResolver(True).resolve("no-such-host.invalid", 80))


def test_the_connection_goes_to_the_checked_address_not_the_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`hooks.example.com` is resolved once, by the guard, to the receiver's address; the
    request still names the host it was sent to."""
    asked = resolving(monkeypatch, "127.0.0.1")

    async def run() -> tuple[sender.Outcome, Receiver]:
        async with receiver() as r:
            got = await _post(sender.Sender(True), f"http://hooks.example.com:{r.port}/h")
            return got, r

    got, r = asyncio.run(run())
    assert got.error is None and got.status == 200 and got.body == b"ok"
    assert asked == ["hooks.example.com"]
    assert r.connections == 1 and r.hosts == [f"hooks.example.com:{r.port}"]


def test_a_refused_name_makes_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    resolving(monkeypatch, "127.0.0.1")

    async def run() -> tuple[sender.Outcome, Receiver]:
        async with receiver() as r:
            got = await _post(sender.Sender(False), f"http://hooks.example.com:{r.port}/h")
            return got, r

    got, r = asyncio.run(run())
    assert got.status is None and got.error is not None
    assert got.error.startswith("connection failed: refused") and "loopback" in got.error
    assert "127.0.0.1" not in got.error
    assert r.connections == 0


def test_private_ip_literals_are_refused_before_anything_is_sent() -> None:
    async def run() -> tuple[list[sender.Outcome], Receiver]:
        async with receiver() as r:
            urls = [f"http://127.0.0.1:{r.port}/h", f"http://[::ffff:127.0.0.1]:{r.port}/h"]
            urls.append(f"http://2130706433:{r.port}/h")  # 127.0.0.1 in a legacy form
            return [await _post(sender.Sender(False), u) for u in urls], r

    outcomes, r = asyncio.run(run())
    assert all(o.status is None and o.error for o in outcomes)
    assert "loopback" in (outcomes[0].error or "") and "loopback" in (outcomes[1].error or "")
    assert r.connections == 0


def test_each_new_connection_resolves_the_name_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DNS cache: a name that now resolves elsewhere is checked again on the next connect."""
    asked = resolving(monkeypatch, "127.0.0.1")

    async def run() -> Receiver:
        s = sender.Sender(True)
        async with receiver(close=True) as r:
            try:
                for _ in range(3):
                    got = await s.post(f"http://hooks.example.com:{r.port}/", b"{}", {})
                    assert got.status == 200, got
            finally:
                await s.aclose()
            return r

    r = asyncio.run(run())
    assert r.connections == 3 and asked == ["hooks.example.com"] * 3


def test_a_kept_alive_connection_is_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = resolving(monkeypatch, "127.0.0.1")

    async def run() -> Receiver:
        s = sender.Sender(True)
        async with receiver() as r:
            try:
                for _ in range(3):
                    assert (await s.post(f"http://hooks.example.com:{r.port}/", b"{}", {})).status
            finally:
                await s.aclose()
            return r

    r = asyncio.run(run())
    assert r.connections == 1 and asked == ["hooks.example.com"]
