"""Notice when a request's client goes away, so its PostgreSQL statement can be cancelled.

An ASGI server reports a closed client connection only through `receive()` (`http.disconnect`),
and only to whoever calls it; a route busy in the database does not. `WatchDisconnect` becomes the
only caller: it passes the body's messages on to the app as it asks for them and, once the body is
read, keeps waiting for the disconnect, which makes the request's `engine.Departure` (set in
`engine.abandoned`) cancel the statements of its running transactions (db/engine.py). After the answer is sent the server
reports a disconnect too; by then no transaction of the request is running.

Only PostgreSQL's work can be cancelled this way: SQLite's runs inline on the event loop, which
cannot see the disconnect before the statement ends (the statement timeout bounds it instead).
"""

from __future__ import annotations

import asyncio

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paymentkit.server.db.engine import Departure, abandoned


class WatchDisconnect:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        departure = Departure()
        # One message at a time: a body the app does not read is not buffered here.
        to_app, from_server = anyio.create_memory_object_stream[Message](1)

        async def pump() -> None:
            with to_app:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        await departure.leave()
                        return
                    await to_app.send(message)

        async def app_receive() -> Message:
            try:
                return await from_server.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                return {"type": "http.disconnect"}

        token = abandoned.set(departure)
        watcher = asyncio.get_running_loop().create_task(pump())
        try:
            await self.app(scope, app_receive, send)
        finally:
            abandoned.reset(token)
            watcher.cancel()
            from_server.close()
