"""The SSRF decision (webhooks/addresses.py): which addresses may receive webhooks, and the
resolving check of a URL (every address a name stands for must be public)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paymentkit.server.config import Settings
from paymentkit.server.errors import InvalidRequest
from paymentkit.server.webhooks import addresses

REFUSED_NETWORKS = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
    "2001:db8::/32",
    "192.88.99.0/24",
    "100::/64",
    "64:ff9b:1::/48",
    "2001::/23",
    "3fff::/20",
    "5f00::/16",
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below the CGNAT range
    "100.128.0.0",  # just above it
    "172.32.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",  # IPv4-mapped: the IPv4 address decides
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8 (DNS64 networks resolve public names so)
]


def addresses_in(network: str) -> st.SearchStrategy[str]:
    net = ipaddress.ip_network(network)
    first = int(net.network_address)
    return st.integers(first, first + net.num_addresses - 1).map(
        lambda n: str(ipaddress.ip_address(n))
    )


@given(st.sampled_from(REFUSED_NETWORKS).flatmap(addresses_in))
def test_every_address_of_the_refused_ranges_is_refused(address: str) -> None:
    assert addresses.refusal(address) is not None
    assert not addresses.permitted(address, allow_private=False)
    assert addresses.permitted(address, allow_private=True)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_permitted(address: str) -> None:
    assert addresses.refusal(address) is None
    assert addresses.permitted(address, allow_private=False)


@given(st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address))
def test_an_ipv6_form_of_an_ipv4_address_is_judged_as_that_address(
    ip: ipaddress.IPv4Address,
) -> None:
    verdict = addresses.refusal(ip) is None
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(ip))
    assert (addresses.refusal(mapped) is None) == verdict
    assert (addresses.refusal(nat64) is None) == verdict
    # 6to4 and Teredo carry it too: refused whenever the IPv4 address is.
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (int(ip) << 80) | 1)
    if not verdict:
        assert addresses.refusal(sixtofour) is not None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("fd12::1", "private"),
        ("100.64.1.1", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("239.1.1.1", "multicast"),
        ("::ffff:192.168.0.1", "private"),
        ("2002:c0a8:1::1", "private"),  # 6to4 of 192.168.0.1
    ],
)
def test_the_reason_names_the_range(address: str, reason: str) -> None:
    found = addresses.refusal(address)
    assert found is not None and reason in found


# -- check_url ----------------------------------------------------------------------------------


def check(url: str, allow_private: bool = False, timeout: float = 5.0) -> None:
    asyncio.run(addresses.check_url(url, allow_private, timeout))


def test_ip_literals_are_judged_without_a_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_lookup(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an IP literal was looked up")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    check("https://8.8.8.8/x")
    check("http://[2606:4700::1111]:8443/")
    with pytest.raises(InvalidRequest) as info:
        check("http://[::ffff:127.0.0.1]/")
    assert info.value.param == "url"
    check("http://[::1]:9/", allow_private=True)


def _resolving_to(monkeypatch: pytest.MonkeyPatch, *found: str) -> list[tuple[str, int]]:
    asked: list[tuple[str, int]] = []

    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        asked.append((host, port))
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in found
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return asked


def test_a_name_is_refused_when_any_of_its_addresses_is(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, "93.184.215.14", "10.0.0.7")
    with pytest.raises(InvalidRequest) as info:
        check("https://rebind.example/")
    assert info.value.param == "url" and "private" in info.value.message
    assert "10.0.0.7" not in info.value.message
    check("https://rebind.example/", allow_private=True)


def test_a_name_of_public_addresses_passes_and_the_port_is_the_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _resolving_to(monkeypatch, "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    check("https://example.com/hooks")
    check("http://example.com/hooks")
    check("http://example.com:8080/hooks")
    assert asked == [("example.com", 443), ("example.com", 80), ("example.com", 8080)]


def test_a_scoped_link_local_answer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, "fe80::1%eth0")
    with pytest.raises(InvalidRequest):
        check("http://printer.example/")


def test_a_name_that_does_not_resolve_is_a_400(monkeypatch: pytest.MonkeyPatch) -> None:
    def fails(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fails)
    for allow in (False, True):
        with pytest.raises(InvalidRequest) as info:
            check("https://nowhere.example/", allow_private=allow)
        assert info.value.param == "url" and "cannot be resolved" in info.value.message


def test_a_lookup_that_hangs_is_a_400_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def hangs(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure")

    monkeypatch.setattr(socket, "getaddrinfo", hangs)
    with pytest.raises(InvalidRequest) as info:
        check("https://slow.example/", timeout=0.05)
    assert info.value.param == "url" and "within" in info.value.message


def test_localhost_really_resolves_to_loopback() -> None:
    with pytest.raises(InvalidRequest) as info:
        check("http://localhost:9/")
    assert "loopback" in info.value.message
    check("http://localhost:9/", allow_private=True)


# -- the setting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "allowed"),
    [
        (None, False),
        ("", False),
        ("1", True),
        ("true", True),
        ("YES", True),
        ("0", False),
        ("off", False),
    ],
)
def test_the_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, allowed: bool
) -> None:
    if raw is None:
        monkeypatch.delenv(addresses.ALLOW_PRIVATE_ENV, raising=False)
    else:
        monkeypatch.setenv(addresses.ALLOW_PRIVATE_ENV, raw)
    assert Settings(database_url="sqlite://").webhook_allow_private is allowed
    assert Settings.from_env().webhook_allow_private is allowed


def test_a_bad_setting_says_what_it_must_be(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(addresses.ALLOW_PRIVATE_ENV, "maybe")
    with pytest.raises(ValueError, match="PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE must be 1 or 0"):
        Settings.from_env()
