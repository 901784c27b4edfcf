"""Which addresses may receive webhooks (the SSRF guard), and the resolving check of a URL.

A webhook URL is chosen by whoever holds an API key, and the server then POSTs to it from inside
its own network: without a guard a key holder could reach the database, the cloud's metadata
service (169.254.169.254) or anything else only the server can see. So an endpoint's URL must
resolve to public addresses only: `refusal` decides one address (pure), `check_url` resolves a
URL's host and refuses it when ANY of its addresses is refused (an attacker's name may resolve to
a public and a private address at once). The check runs when an endpoint is created and when its
`url` changes; delivery checks again at connect time (the name may resolve elsewhere by then),
with `resolve` and `refusal`.

`PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE=1` (Settings.webhook_allow_private) turns the address test off
(the host must still resolve), for local receivers in development and tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from paymentkit.server import errors

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RESOLVE_TIMEOUT = 5.0  # seconds for one name lookup
ALLOW_PRIVATE_ENV = "PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE"

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
# IANA's special-purpose ranges that are not globally reachable, named here as well so the
# decision does not depend on which Python's `ipaddress` tables are installed (3.11 lets
# 192.0.0.8, for one, pass as global). Whole blocks: no webhook receiver lives in them.
_SPECIAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "100::/64",
        "64:ff9b:1::/48",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
    )
)


def refusal(address: str | IPAddress) -> str | None:
    """Why `address` may not receive webhooks ("a loopback address", …), or None when it is a
    public (globally routable, unicast) address. An IPv6 address that carries an IPv4 one
    (IPv4-mapped, NAT64, 6to4, Teredo) is refused when the IPv4 address is."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        carried = ip.ipv4_mapped or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        )
        if carried is not None:  # these are the IPv4 address itself, reached another way
            return refusal(carried)
        for inner in (ip.sixtofour, *(ip.teredo or ())):
            if inner is not None and (reason := refusal(inner)) is not None:
                return reason
    if ip in _METADATA:
        return "the cloud metadata address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if any(ip in network for network in _SPECIAL if network.version == ip.version):
        return "a special-purpose address"
    if not ip.is_global:
        return "an address that is not publicly routable"
    return None


def permitted(address: str | IPAddress, allow_private: bool) -> bool:
    """Whether a delivery may connect to `address` under the server's setting."""
    return first_refusal([address], allow_private) is None


def first_refusal(found: Sequence[str | IPAddress], allow_private: bool) -> str | None:
    """Why the first refused address of `found` is refused (None when all may receive, or the
    setting allows any): a host is refused when ANY of its addresses is."""
    if allow_private:
        return None
    for ip in found:
        reason = refusal(ip)
        if reason is not None:
            return reason
    return None


async def resolve(host: str, port: int, timeout: float = RESOLVE_TIMEOUT) -> list[IPAddress]:
    """Every address `host` stands for (itself when it is an IP literal), within `timeout`
    seconds; 400 `invalid_request` on `url` when it cannot be resolved."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise errors.InvalidRequest(
            f"url's host {host!r} could not be resolved within {timeout:g} seconds", "url"
        ) from None
    except (OSError, UnicodeError):  # socket.gaierror; idna refusing a label
        raise errors.InvalidRequest(f"url's host {host!r} cannot be resolved", "url") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in found:
        ip = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise errors.InvalidRequest(f"url's host {host!r} cannot be resolved", "url")
    return addresses


async def check_url(url: str, allow_private: bool, timeout: float = RESOLVE_TIMEOUT) -> None:
    """Refuse (400 on `url`) a URL whose host does not resolve, or, unless `allow_private`,
    resolves to any address `refusal` refuses. `url` has passed rules.url (http(s), a host)."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise errors.InvalidRequest("url must name a host", "url")
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    reason = first_refusal(await resolve(host, port, timeout), allow_private)
    if reason is not None:
        # The resolved address is not echoed: it would tell a key holder how the server's own
        # network names resolve.
        named = "is" if _literal(host) else "resolves to"
        raise errors.InvalidRequest(
            f"url's host {named} {reason}; webhooks are sent only to public addresses"
            f" (the server setting {ALLOW_PRIVATE_ENV}=1 allows others)",
            "url",
        )


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
