"""`paymentkit listen --forward-to URL`: new events, as they happen, POSTed to a local receiver
signed the way the server signs deliveries, the way `stripe listen` works.

It only ever calls the API (`GET /api/events`), so it works against a remote server with no
inbound connection to the machine it runs on, and needs no webhook endpoint on the server.

How new events are found. Each poll asks for the events created since the newest one seen so
far *minus an overlap* (`--overlap`, 10 s by default), newest first, and keeps those whose ids it
has not seen. The overlap is there because events do not become visible in creation order: an
event's `created_at` is stamped inside its transaction, and under concurrency a transaction that
stamped earlier can commit after one that stamped later (it waited for a lock, or simply lost the
race to COMMIT). Asking only for events newer than the newest seen would skip such a late commit
for good. With the overlap, an event is missed only when its transaction committed more than the
overlap after it stamped the event — longer than the server's default lock and statement timeouts
together allow. Ids already seen are remembered for the overlap (and a second more), so nothing
is forwarded twice. Each poll's new events are forwarded oldest first; a late commit is forwarded
when it is found, after events created later than it.

Forwarding: one `POST` per event of its JSON, with the Standard Webhooks headers `webhook-id` (the
event id), `webhook-timestamp` and `webhook-signature`, signed by the `standardwebhooks` package
with a `whsec_` secret made at start (or `--secret`), so the receiver's
`paymentkit.webhooks.verify` accepts it exactly as it would a real delivery. Redirects are not
followed and nothing is retried: each event gets one line — its time, type and id, and the
receiver's status or the connection error.
"""

from __future__ import annotations

import re
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import click
import httpx
import msgspec

from paymentkit import __version__
from paymentkit.cli._common import call, connection_options, fail
from paymentkit.sdk import (
    APIConnectionError,
    Event,
    InternalServerError,
    PaymentKit,
    RateLimitError,
)
from paymentkit.webhooks import new_secret, signed_headers, signer

DEFAULT_OVERLAP = 10.0  # seconds; see the module docstring
DEFAULT_INTERVAL = 1.0  # seconds between polls
PAGE_LIMIT = 100
FORWARD_TIMEOUT = 15.0  # seconds: the server's own delivery timeout
_PATTERN = re.compile(r"\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*|\*)?")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Looked up at call time, so tests can stop the loop.
sleep = time.sleep


# -- which events -----------------------------------------------------------------------------


def parse_patterns(text: str) -> tuple[str, ...]:
    """`--events`: comma-separated type names, `*`, or prefixes ending in `*` (`invoice.*`)."""
    patterns = tuple(p.strip() for p in text.split(","))
    for pattern in patterns:
        if not _PATTERN.fullmatch(pattern):
            raise ValueError(
                f"{pattern!r} is not an event type, '*' or a prefix ending in '*' (invoice.*)"
            )
    return ("*",) if "*" in patterns else patterns


def matches(patterns: Sequence[str], event_type: str) -> bool:
    return any(
        event_type.startswith(p[:-1]) if p.endswith("*") else event_type == p for p in patterns
    )


def _ms(iso: str) -> int:
    """An ISO-8601 timestamp (`2024-01-02T03:04:05.678Z`) as unix milliseconds, exactly."""
    when = datetime.fromisoformat(iso)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // timedelta(milliseconds=1)


class Follower:
    """Finds the events that are new since the last poll (see the module docstring).

    `start()` takes note of what already exists, so only later events count as new; each
    `poll()` then returns the new events matching `patterns`, oldest first.
    """

    def __init__(
        self, pk: PaymentKit, patterns: Sequence[str] = ("*",), overlap: float = DEFAULT_OVERLAP
    ) -> None:
        self._pk = pk
        self._patterns = tuple(patterns)
        self._overlap_ms = int(overlap * 1000)
        # One exact type or prefix is filtered by the server; several are filtered here.
        self._server_type = self._patterns[0] if len(self._patterns) == 1 else None
        if self._server_type == "*":
            self._server_type = None
        self._newest: int | None = None  # created_at (ms) of the newest event seen
        self._seen: dict[str, int] = {}  # id → created_at (ms), within the overlap

    def start(self) -> None:
        latest = self._pk.events.list(limit=1, type=self._server_type)
        if latest.data:
            self._note(self._fetch_window(_ms(latest.data[0].created_at)))

    def poll(self) -> list[Event]:
        new = self._note(self._fetch_window(self._newest))
        return [e for e in reversed(new) if matches(self._patterns, e.type)]

    def _fetch_window(self, newest: int | None) -> list[Event]:
        """Every event from `newest` minus the overlap on (all of them when nothing was seen
        yet), newest first."""
        since = (
            None if newest is None else _EPOCH + timedelta(milliseconds=newest - self._overlap_ms)
        )
        page = self._pk.events.list(limit=PAGE_LIMIT, type=self._server_type, created_gte=since)
        return list(page.auto_paging_iter())

    def _note(self, events: list[Event]) -> list[Event]:
        """The events not seen before (newest first), now remembered."""
        new = []
        for event in events:
            if event.id in self._seen:
                continue
            created = _ms(event.created_at)
            self._seen[event.id] = created
            self._newest = created if self._newest is None else max(self._newest, created)
            new.append(event)
        if self._newest is not None:
            # A second beyond the window, in case the server compares created[gte] coarser.
            horizon = self._newest - self._overlap_ms - 1000
            self._seen = {k: v for k, v in self._seen.items() if v >= horizon}
        return new


# -- forwarding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forwarded:
    """What the receiver answered: its status, or why there was no answer."""

    status: int | None
    error: str | None = None


def signed_request(
    event: Event, secret: str, now: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the POST that forwards `event`, as the server would send them."""
    body = msgspec.json.encode(event.to_dict())
    seconds = int(time.time() if now is None else now)
    return body, {
        "Content-Type": "application/json",
        "User-Agent": f"paymentkit-listen/{__version__}",
        **signed_headers(event.id, body, [secret], seconds),
    }


def forward(http: httpx.Client, url: str, event: Event, secret: str) -> Forwarded:
    body, headers = signed_request(event, secret)
    try:
        response = http.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return Forwarded(None, f"no answer within {FORWARD_TIMEOUT:g} s")
    except httpx.ConnectError as exc:
        return Forwarded(None, _reason(exc) or "connection failed")
    except httpx.HTTPError as exc:
        return Forwarded(None, _reason(exc) or type(exc).__name__)
    return Forwarded(response.status_code)


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if "refused" in text.lower():
        return "connection refused"
    return text.splitlines()[0] if text else ""


def _local_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def line(event: Event, url: str, outcome: Forwarded) -> str:
    answer = f"[{outcome.status}]" if outcome.status is not None else f"[error: {outcome.error}]"
    return f"{_local_time(event.created_at)}  {event.type} [{event.id}]  <-- {answer} POST {url}"


# -- the command ------------------------------------------------------------------------------


def _forward_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    url = httpx.URL(value) if value.startswith(("http://", "https://")) else None
    if url is None or not url.host:
        raise click.BadParameter(f"{value!r} is not an http:// or https:// URL", ctx, param)
    return value


def _patterns(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    try:
        return parse_patterns(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM stops the loop as Ctrl-C does (in the main thread; elsewhere nothing changes)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous: Any = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command()
@click.option(
    "--forward-to",
    metavar="URL",
    required=True,
    callback=_forward_url,
    help="Where to POST each event, such as http://localhost:4242/webhooks.",
)
@click.option(
    "--events",
    "patterns",
    metavar="TYPES",
    default="*",
    callback=_patterns,
    help="Comma-separated event types, prefixes ending in * (invoice.*), or * [default *].",
)
@click.option(
    "--secret",
    envvar="PAYMENTKIT_LISTEN_SECRET",
    default=None,
    help="Sign with this whsec_ secret instead of a new one [env PAYMENTKIT_LISTEN_SECRET].",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.05, 60),
    default=DEFAULT_INTERVAL,
    show_default=True,
    help="Seconds between polls.",
)
@click.option(
    "--overlap",
    type=click.FloatRange(0, 3600),
    default=DEFAULT_OVERLAP,
    show_default=True,
    help="Seconds each poll looks back before the newest event seen, for events that commit "
    "late; raise it when the server runs with longer lock or statement timeouts.",
)
@connection_options
def listen(
    forward_to: str,
    patterns: tuple[str, ...],
    secret: str | None,
    interval: float,
    overlap: float,
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """Forward new events to a local URL, signed like real deliveries, until Ctrl-C.

    Follows the events through the API (no inbound connection needed, so the server may be
    remote), POSTs each to --forward-to with Standard Webhooks headers signed by the secret it
    prints, and shows one line per event with the receiver's answer. With --json, each line is a
    JSON object instead: id, type, created_at, status, error.
    """
    signing_secret = secret.strip() if secret else new_secret()
    try:
        signer(signing_secret)
    except ValueError as exc:
        fail(f"--secret: {exc}")

    def work(pk: PaymentKit) -> None:
        follower = Follower(pk, patterns, overlap)
        follower.start()
        click.echo(
            f"Ready! Your webhook signing secret is {signing_secret} (^C to quit)\n"
            f"Forwarding {', '.join(patterns)} events to {forward_to}",
            err=True,
        )
        with httpx.Client(timeout=FORWARD_TIMEOUT, follow_redirects=False, trust_env=False) as http:
            _loop(
                follower,
                lambda event: _deliver(http, forward_to, event, signing_secret, as_json),
                interval,
            )

    with _stop_on_sigterm():
        try:
            call(api_key, base_url, work)
        except KeyboardInterrupt:
            click.echo("Stopped.", err=True)


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Ctrl-C or SIGTERM during the block stops the loop after it, not inside it: an event
    forwarded is always shown (a stop between the POST and its line lost the line). The block
    is bounded by the forward's timeout (15 s)."""
    caught: list[int] = []

    def later(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    try:
        previous = {sig: signal.signal(sig, later) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        raise KeyboardInterrupt


def _deliver(http: httpx.Client, url: str, event: Event, secret: str, as_json: bool) -> None:
    with _interrupts_deferred():
        _forward_and_show(http, url, event, secret, as_json)


def _forward_and_show(
    http: httpx.Client, url: str, event: Event, secret: str, as_json: bool
) -> None:
    outcome = forward(http, url, event, secret)
    if as_json:
        fields = {
            "id": event.id,
            "type": event.type,
            "created_at": event.created_at,
            "status": outcome.status,
            "error": outcome.error,
        }
        click.echo(msgspec.json.encode(fields).decode())
    else:
        click.echo(line(event, url, outcome))
    sys.stdout.flush()


def _loop(follower: Follower, deliver: Callable[[Event], None], interval: float) -> None:
    """Poll and forward until interrupted. A server that is down, overloaded or rate limiting
    is waited out (one line when it fails, one when it is back); any other API error ends the
    command."""
    failing = False
    while True:
        try:
            new = follower.poll()
        except (APIConnectionError, InternalServerError, RateLimitError) as exc:
            if not failing:
                click.echo(f"Cannot read events ({exc}); retrying…", err=True)
            failing = True
        else:
            if failing:
                click.echo("Reading events again.", err=True)
            failing = False
            for event in new:
                deliver(event)
        sleep(interval)
