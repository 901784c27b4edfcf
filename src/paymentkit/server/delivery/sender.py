"""POSTing one delivery attempt: httpx (async) on a guarded connection, bounded in time and size.

- 15 s for the whole attempt (connect, TLS, send, answer), redirects not followed (a 3xx is a
  failed attempt: following one would let a public URL forward the server to a private one),
  no proxy from the environment, and at most RESPONSE_KEEP bytes of the answer read (raw, not
  decompressed: `Accept-Encoding: identity` is asked, and a compressed answer is kept as sent),
  so a huge or endless answer costs nothing.
- SSRF at delivery: the endpoint's URL was checked when it was saved, but its name may resolve
  elsewhere now (DNS rebinding). `GuardedBackend`, the httpcore network backend under the
  client, resolves each host itself when it opens a connection, refuses the connection when any
  address is refused by `addresses.refusal`, and connects to one of the addresses it checked —
  there is no second lookup between the check and the connect. TLS still verifies the
  certificate against the URL's host name. PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE=1 lets any address
  through.
- Whatever goes wrong (refused, DNS, connect, TLS, timeout, a broken answer) is an `Outcome`
  with an `error` text, never an exception: the worker records it as a failed attempt.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import anyio
import httpcore
import httpx

from paymentkit import __version__
from paymentkit.server import errors
from paymentkit.server.webhooks import addresses
from paymentkit.server.webhooks.repository import RESPONSE_BODY_MAX

TIMEOUT = 15.0  # seconds for one whole attempt
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


class Refused(httpcore.ConnectError):
    """The URL's host resolves to an address webhooks may not be sent to."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address check between name resolution and connect."""

    def __init__(self, allow_private: bool, inner: httpcore.AsyncNetworkBackend | None = None):
        self.allow_private = allow_private
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            found = await addresses.resolve(host, port)
        except errors.InvalidRequest as exc:
            raise httpcore.ConnectError(exc.message.replace("url's host", "the host")) from None
        reason = addresses.first_refusal(found, self.allow_private)
        if reason is not None:
            # The address itself is not named: attempts are shown to API key holders.
            raise Refused(
                f"refused: the URL's host resolves to {reason}; webhooks are sent only"
                f" to public addresses (unless {addresses.ALLOW_PRIVATE_ENV}=1)"
            )
        failure: Exception | None = None
        for ip in found:  # each address as checked, never the name again
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # resolve() answers at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not sent to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose connections `GuardedBackend` opens."""

    def __init__(self, allow_private: bool, max_connections: int) -> None:
        super().__init__(trust_env=False)
        # httpx builds its pool without a way to pass a network backend; this is the same pool
        # with ours (httpx < 1 keeps it in `_pool`; tests/api/delivery prove the guard is on).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow_private),
        )


class Sender:
    """One HTTP client for a worker's attempts (connections are kept alive between them)."""

    def __init__(self, allow_private: bool, max_connections: int = 16) -> None:
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(allow_private, max_connections),
            timeout=httpx.Timeout(TIMEOUT),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        began = time.perf_counter()

        def took() -> int:
            return round((time.perf_counter() - began) * 1000)

        try:
            with anyio.fail_after(TIMEOUT):
                async with self._client.stream(
                    "POST",
                    url,
                    content=body,
                    headers={**headers, "Content-Type": "application/json"},
                ) as response:
                    kept = bytearray()
                    async for chunk in response.aiter_raw():
                        kept += chunk
                        if len(kept) >= RESPONSE_KEEP:
                            break
                    status = response.status_code
                    error = None
                    if 300 <= status < 400:
                        error = f"a redirect ({status}) is not followed"
                    return Outcome(
                        status,
                        bytes(kept[:RESPONSE_KEEP]),
                        took(),
                        error,
                        response.headers.get("Retry-After"),
                    )
        except TimeoutError:
            return Outcome(None, None, took(), f"timed out after {TIMEOUT:g} s")
        except httpx.TimeoutException as exc:
            return Outcome(None, None, took(), f"timed out ({_describe(exc)})")
        except httpx.ConnectError as exc:
            return Outcome(None, None, took(), f"connection failed: {_describe(exc)}")
        except httpx.HTTPError as exc:
            return Outcome(None, None, took(), f"{type(exc).__name__}: {_describe(exc)}")
        except (OSError, ValueError) as exc:  # a URL httpx cannot use, a socket error it let by
            return Outcome(None, None, took(), f"{type(exc).__name__}: {_describe(exc)}")

    async def aclose(self) -> None:
        await self._client.aclose()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
