"""How `paymentkit serve` runs uvicorn: its options from `Settings`, and an HTTP protocol that
closes a connection whose request headers do not arrive in time.

uvicorn bounds idle keep-alive connections (`timeout_keep_alive`) and the connections and running
requests of a worker (`limit_concurrency`: beyond it a request gets a 503), but not the time a
client may take to send its headers: a connection that opens and never finishes them (or trickles
them a byte at a time) stays open for ever. `HeaderTimeoutProtocol` closes it `header_timeout`
seconds after the connection was made (its first request) or after the first byte of a later
request on a kept-alive connection (the idle time before it is the keep-alive timeout's).

A request line or header the parser cannot read (a method token it does not know, such as
`FOO`) never reaches the app; uvicorn answers it with a plain-text 400, the protocol here with
the JSON error body every other refusal has.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from paymentkit.server.config import Settings
from paymentkit.server.errors import InvalidRequest
from paymentkit.server.http import encode, error_body
from paymentkit.server.ids import new_id


@functools.cache
def _header_timeout() -> float:
    # Read once per worker process; `serve` checks the settings before uvicorn starts.
    return Settings.from_env().header_timeout


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on each request's headers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_deadline = self.loop.call_later(_header_timeout(), self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        request_id = new_id("req")
        exc = InvalidRequest("Invalid HTTP request: the request line or headers cannot be read")
        body = encode(error_body(exc, request_id))
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"x-request-id: " + request_id.encode("ascii") + b"\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn.run arguments that bound what clients can hold."""
    return {
        "http": HeaderTimeoutProtocol,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "limit_concurrency": settings.max_connections,
    }
