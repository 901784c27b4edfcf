"""INTERIM, until the webhook endpoints branch lands on main: the pieces of
server/webhooks/ (addresses.py, repository.py, signing.py) delivery uses, under the same names.
Deleted at that merge; nothing else may import it."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from paymentkit.server import errors
from paymentkit.server.crypto import SecretBox
from paymentkit.server.db.engine import Tx
from paymentkit.server.ids import new_id, now_ms

RESPONSE_BODY_MAX = 2048
ERROR_MAX = 1000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RESOLVE_TIMEOUT = 5.0  # seconds for one name lookup
ALLOW_PRIVATE_ENV = "PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE"

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address


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
    if not ip.is_global:
        return "an address that is not publicly routable"
    return None


def permitted(address: str | IPAddress, allow_private: bool) -> bool:
    """Whether a delivery may connect to `address` under the server's setting."""
    return allow_private or refusal(address) is None


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
    addresses = await resolve(host, port, timeout)
    if allow_private:
        return
    for ip in addresses:
        reason = refusal(ip)
        if reason is not None:
            # The resolved address is not echoed: it would tell a key holder how the server's
            # own network names resolve.
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


def drop_pending(tx: Tx, endpoint_seq: int, now: int | None = None) -> int:
    """Settle every pending delivery of the endpoint as `failed` (it no longer takes them: it
    was disabled or is being deleted) and take each off its event's `pending_webhooks`, in the
    caller's transaction; how many there were. A delivery being sent right now loses its lease
    here, so the sender's result (recorded only while the lease is its own) changes nothing.
    Re-enabling the endpoint does not bring them back (resend does)."""
    when = now if now is not None else now_ms()
    # The deliveries first: their row locks (PostgreSQL) make a sender that is settling one of
    # them at the same time either finish first (then the row is no longer pending here) or
    # wait, so each delivery leaves pending_webhooks once.
    settled = tx.all(
        "UPDATE webhook_deliveries SET status = 'failed', lease_owner = NULL, lease_until = NULL,"
        " updated_at = ? WHERE endpoint_seq = ? AND status = 'pending' RETURNING event_seq",
        (when, endpoint_seq),
    )
    per_event = Counter(int(event_seq) for (event_seq,) in settled)
    if per_event:
        tx.executemany(
            "UPDATE events SET pending_webhooks = pending_webhooks - ? WHERE seq = ?",
            [(n, event_seq) for event_seq, n in sorted(per_event.items())],
        )
    return len(settled)


def record_attempt(
    tx: Tx,
    *,
    delivery_seq: int,
    status: str,
    response_status: int | None,
    response_body: bytes | str | None,
    duration_ms: int,
    error: str | None,
    retry_count: int,
    created_at: int,
) -> str | None:
    """Store one attempt of a delivery; its `wat_…` id, or None when the delivery no longer
    exists (its endpoint was deleted meanwhile). The mode, endpoint and event come from the
    delivery row. `status` is succeeded or failed; the body keeps its first RESPONSE_BODY_MAX
    bytes and the error its first ERROR_MAX characters, both NUL-free."""
    attempt_id = new_id("wat")
    inserted = tx.execute(
        "INSERT INTO webhook_attempts (id, livemode, delivery_seq, endpoint_seq, event_id, status,"
        " response_status, response_body, duration_ms, error, retry_count, created_at)"
        " SELECT ?, e.livemode, d.seq, d.endpoint_seq, e.id, ?, ?, ?, ?, ?, ?, ?"
        " FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq WHERE d.seq = ?",
        (
            attempt_id,
            status,
            response_status,
            _kept_body(response_body),
            max(0, int(duration_ms)),
            None if error is None else _clean(error[:ERROR_MAX]),
            retry_count,
            created_at,
            delivery_seq,
        ),
    )
    return attempt_id if inserted else None


def _kept_body(body: bytes | str | None) -> str | None:
    if body is None:
        return None
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
    return _clean(raw[:RESPONSE_BODY_MAX].decode("utf-8", "replace"))


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; a lone surrogate cannot be encoded for either database.
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def sealed_secrets(tx: Tx, endpoint_seq: int) -> tuple[str, str | None, int | None] | None:
    """(secret_encrypted, previous_secret_encrypted, previous_secret_expires_at) of an endpoint."""
    row = tx.one(
        "SELECT secret_encrypted, previous_secret_encrypted, previous_secret_expires_at"
        " FROM webhook_endpoints WHERE seq = ?",
        (endpoint_seq,),
    )
    if row is None:
        return None
    current, previous, expires = row
    return str(current), None if previous is None else str(previous), _int(expires)


def unsealed(
    box: SecretBox, current: str, previous: str | None, previous_expires_at: int | None, now: int
) -> list[str]:
    """The secrets a delivery at `now` is signed with: the current one, then the previous one
    while its overlap lasts."""
    out = [box.decrypt(current).decode("ascii")]
    if previous is not None and previous_expires_at is not None and now < previous_expires_at:
        out.append(box.decrypt(previous).decode("ascii"))
    return out


def signing_secrets(tx: Tx, box: SecretBox, endpoint_seq: int, now: int) -> list[str]:
    """The endpoint's signing secrets at `now` (ms), current first; [] when it no longer
    exists. For the delivery worker's signer."""
    sealed = sealed_secrets(tx, endpoint_seq)
    if sealed is None:
        return []
    return unsealed(box, *sealed, now)
