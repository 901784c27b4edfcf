"""POSTing one delivery attempt: aiohttp on a guarded connection, bounded in time and size.

- 15 s for the whole attempt (connect, TLS, send, answer), redirects not followed (a 3xx is a
  failed attempt: following one would let a public URL forward the server to a private one),
  no proxy from the environment, and at most RESPONSE_KEEP bytes of the answer read (raw, not
  decompressed: `Accept-Encoding: identity` is asked, and a compressed answer is kept as sent);
  an answer not read to its end closes its connection, so a huge or endless answer costs nothing.
- SSRF at delivery: the endpoint's URL was checked when it was saved, but its name may resolve
  elsewhere now (DNS rebinding). `GuardedResolver`, the resolver of the client's connector,
  resolves each host itself when a connection is opened and refuses it when any address is
  refused by `addresses.refusal`; the connector connects only to the addresses it answered, so
  there is no second lookup between the check and the connect (no DNS cache either). A host
  that is an IP literal never reaches a resolver: `Sender.post` checks it before sending. TLS
  still verifies the certificate against the URL's host name. PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE=1
  lets any address through.
- Whatever goes wrong (refused, DNS, connect, TLS, timeout, a broken answer) is an `Outcome`
  with an `error` text, never an exception: the worker records it as a failed attempt.

aiohttp rather than httpx (which the SDK uses): a delivering worker is bound by the client's CPU
per request, and httpx's pool spent 2-3 ms of it per POST against aiohttp's 0.3 ms (16 attempts
in flight to one receiver, this machine; ARCHITECTURE.md "Webhook delivery").
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import aiohttp.abc
import anyio
import certifi
from yarl import URL

from paymentkit import __version__
from paymentkit.server import errors
from paymentkit.server.webhooks import addresses
from paymentkit.server.webhooks.repository import RESPONSE_BODY_MAX

TIMEOUT = 15.0  # seconds for one whole attempt
KEEPALIVE = 5.0  # seconds an idle connection to a receiver is kept
RESPONSE_KEEP = RESPONSE_BODY_MAX  # bytes of an answer read: what an attempt keeps
USER_AGENT = f"paymentkit/{__version__} (webhooks)"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: the answer's status, first bytes and Retry-After, or `error`."""

    status: int | None
    body: bytes | None
    duration_ms: int
    error: str | None = None
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


class Refused(OSError):
    """The URL's host is, or resolves to, an address webhooks may not be sent to."""

    def __init__(self, reason: str) -> None:
        # The address itself is not named: attempts are shown to API key holders.
        super().__init__(
            f"refused: the URL's host resolves to {reason}; webhooks are sent only"
            f" to public addresses (unless {addresses.ALLOW_PRIVATE_ENV}=1)"
        )


class Unresolved(OSError):
    """The URL's host could not be resolved."""


class GuardedResolver(aiohttp.abc.AbstractResolver):
    """Name resolution with the address check: every address the host stands for must pass."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        try:
            found = await addresses.resolve(host, port)
        except errors.InvalidRequest as exc:
            raise Unresolved(exc.message.replace("url's host", "the host")) from None
        reason = addresses.first_refusal(found, self.allow_private)
        if reason is not None:
            raise Refused(reason)
        return [
            {
                "hostname": host,
                "host": str(ip),
                "port": port,
                "family": socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for ip in found  # each address as checked, in order, never the name again
        ]

    async def close(self) -> None:
        pass


def request_url(url: str) -> URL:
    """The URL as the request carries it: as stored when it is ASCII (the receiver sees the path
    and query it was given, `[` and `]` included), else with what is not ASCII percent-encoded
    (and an IDN host in its ASCII form)."""
    return URL(url, encoded=url.isascii())


def literal_refusal(host: str, allow_private: bool) -> str | None:
    """Why a host that is an IP literal may not receive (None when it may, or is a name)."""
    try:
        ip = ipaddress.ip_address(host.strip("[]").partition("%")[0])
    except ValueError:
        return None
    return addresses.first_refusal([ip], allow_private)


class Sender:
    """One HTTP client for a worker's attempts (connections are kept alive between them)."""

    def __init__(self, allow_private: bool, max_connections: int = 16) -> None:
        self.allow_private = allow_private
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        """The session, made on first use (aiohttp binds it to the running event loop)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                use_dns_cache=False,
                resolver=GuardedResolver(self.allow_private),
                keepalive_timeout=KEEPALIVE,
                ssl=ssl.create_default_context(cafile=certifi.where()),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=TIMEOUT),
                headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
                auto_decompress=False,
                trust_env=False,
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        began = time.perf_counter()

        def took() -> int:
            return round((time.perf_counter() - began) * 1000)

        try:
            target = request_url(url)
            reason = literal_refusal(target.raw_host or "", self.allow_private)
            if reason is not None:
                return Outcome(None, None, took(), f"connection failed: {Refused(reason)}")
            with anyio.fail_after(TIMEOUT):
                async with self._client().post(
                    target,
                    data=body,
                    headers={**headers, "Content-Type": "application/json"},
                    allow_redirects=False,
                ) as response:
                    kept = bytearray()
                    while len(kept) < RESPONSE_KEEP:
                        chunk = await response.content.read(RESPONSE_KEEP - len(kept))
                        if not chunk:
                            break
                        kept += chunk
                    status = response.status
                    error = None
                    if 300 <= status < 400:
                        error = f"a redirect ({status}) is not followed"
                    return Outcome(
                        status, bytes(kept), took(), error, response.headers.get("Retry-After")
                    )
        except TimeoutError:  # aiohttp's timeouts are TimeoutErrors too
            return Outcome(None, None, took(), f"timed out after {TIMEOUT:g} s")
        except aiohttp.ClientConnectorError as exc:
            cause = exc.os_error
            reason = str(cause) if isinstance(cause, Refused | Unresolved) else _describe(exc)
            return Outcome(None, None, took(), f"connection failed: {reason}")
        except aiohttp.ClientError as exc:
            return Outcome(None, None, took(), f"{type(exc).__name__}: {_describe(exc)}")
        except (OSError, ValueError) as exc:  # a URL aiohttp cannot use, a socket error it let by
            return Outcome(None, None, took(), f"{type(exc).__name__}: {_describe(exc)}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
