"""`paymentkit listen`: how it finds new events (`Follower`, with events that commit late), and
the command itself in process through click's runner, forwarding to a real local receiver that
checks every signature with `paymentkit.webhooks.verify` and with the `standardwebhooks` package
itself.

The API side here is `FakeEventsAPI` (tests/sdk/fake_events.py), which can make an event visible
after later ones; test_listen_live.py runs the command as a real process against
`paymentkit serve`, stopped with Ctrl-C.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from paymentkit import PaymentKit
from paymentkit.cli import listen as listen_module
from paymentkit.cli.listen import Follower, matches, parse_patterns
from paymentkit.cli.main import main
from paymentkit.sdk import _transport
from paymentkit.webhooks import verify
from tests.cli.receiver import Received, Receiver
from tests.cli.test_serve import free_port
from tests.sdk.fake_events import BASE_MS, FakeEventsAPI

SECRET_RE = re.compile(r"Ready! Your webhook signing secret is (whsec_[A-Za-z0-9+/=]+)")
TYPES = ("customer.created", "customer.updated", "invoice.paid", "invoice.voided")


@pytest.fixture(autouse=True)
def no_sdk_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_transport, "sync_sleep", lambda seconds: None)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def client_of(fake: FakeEventsAPI) -> PaymentKit:
    return PaymentKit("sk_test_x", transport=httpx.MockTransport(fake))


def checked(received: Received, secret: str) -> dict[str, Any]:
    """The event of one forwarded request, verified both ways."""
    event = verify(received.body, received.headers, secret)
    assert Webhook(secret).verify(received.body, received.headers) == event
    assert received.headers["webhook-id"] == event["id"]
    assert received.headers["content-type"] == "application/json"
    return event


# -- which events are new ---------------------------------------------------------------------


def test_patterns() -> None:
    assert parse_patterns("*") == ("*",)
    assert parse_patterns("invoice.*, customer.created") == ("invoice.*", "customer.created")
    assert parse_patterns("invoice.paid,*") == ("*",)
    for bad in ("", "Invoice.paid", "invoice.*.paid", "inv oice", "invoice,", "*.paid"):
        with pytest.raises(ValueError):
            parse_patterns(bad)
    assert matches(("invoice.*",), "invoice.paid")
    assert not matches(("invoice.*",), "invoices.x")
    assert matches(("customer*",), "customer.subscription.created")
    assert matches(("customer.created", "invoice.paid"), "invoice.paid")
    assert not matches(("customer.created",), "customer.created.x")


OVERLAP_MS = 1000
batches = st.lists(
    st.lists(
        st.tuples(
            st.integers(0, 400),  # how far the server's clock moved on
            st.integers(0, OVERLAP_MS - 1),  # how long before its commit the event was stamped
            st.sampled_from(TYPES),
        ),
        max_size=6,
    ),
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(st.sampled_from(TYPES), max_size=4),
    batches=batches,
    patterns=st.sampled_from([("*",), ("invoice.*",), ("customer.created", "invoice.voided")]),
)
def test_every_event_committed_after_start_comes_once_each_poll_oldest_first(
    before: list[str], batches: list[list[tuple[int, int, str]]], patterns: tuple[str, ...]
) -> None:
    fake = FakeEventsAPI()
    clock = BASE_MS
    for type_ in before:
        clock += 1
        fake.add(type_, created_ms=clock)
    follower = Follower(client_of(fake), patterns, overlap=OVERLAP_MS / 1000)
    follower.start()
    expected: list[str] = []
    got: list[str] = []
    for batch in batches:
        for advance, lag, type_ in batch:
            clock += advance
            made = fake.add(type_, created_ms=clock - lag)  # a late commit when lag > 0
            if matches(patterns, type_):
                expected.append(made)
        polled = follower.poll()
        keys = [(e.created_at, e.id) for e in polled]
        assert keys == sorted(keys)
        got += [e.id for e in polled]
    got += [e.id for e in follower.poll()]
    assert sorted(got) == sorted(expected)
    assert len(got) == len(set(got))
    assert len(follower._seen) <= len(fake.rows)


def test_without_the_overlap_a_late_commit_would_be_lost() -> None:
    """Why the overlap: an event stamped before one already seen, committed after it."""
    for overlap, found in ((0.0, False), (1.0, True)):
        fake = FakeEventsAPI()
        follower = Follower(client_of(fake), overlap=overlap)
        follower.start()
        fake.add("customer.created", created_ms=BASE_MS + 500)
        assert len(follower.poll()) == 1
        late = fake.add("invoice.paid", created_ms=BASE_MS + 100)
        assert ([e.id for e in follower.poll()] == [late]) is found


def test_the_poll_asks_for_the_window_only_and_lets_the_server_filter_one_pattern() -> None:
    fake = FakeEventsAPI()
    fake.add("invoice.paid", created_ms=BASE_MS + 20_000)
    follower = Follower(client_of(fake), ("invoice.*",), overlap=10)
    follower.start()
    follower.poll()
    assert fake.asked[0] == {"limit": "1", "type": "invoice.*"}
    assert fake.asked[-1] == {
        "limit": "100",
        "type": "invoice.*",
        "created[gte]": "2027-01-15T08:00:10.000Z",
    }
    several = Follower(client_of(fake), ("invoice.*", "customer.created"))
    several.start()
    assert "type" not in fake.asked[-1]


def test_seen_ids_are_forgotten_once_out_of_the_window() -> None:
    fake = FakeEventsAPI()
    follower = Follower(client_of(fake), overlap=1)
    follower.start()
    for i in range(50):
        fake.add("customer.created", created_ms=BASE_MS + i * 1000)
        assert len(follower.poll()) == 1
    assert len(follower._seen) <= 3


# -- the command, in process ------------------------------------------------------------------


class Script:
    """Stands in for the pause between polls: runs one step per pause, then presses Ctrl-C."""

    def __init__(self, *steps: Callable[[], object]) -> None:
        self.steps = list(steps)

    def __call__(self, seconds: float) -> None:
        if not self.steps:
            raise KeyboardInterrupt
        self.steps.pop(0)()


def run_listen(
    fake: FakeEventsAPI,
    monkeypatch: pytest.MonkeyPatch,
    script: Script,
    *args: str,
    code: int = 0,
) -> Result:
    monkeypatch.setattr(listen_module, "sleep", script)
    runner = CliRunner(env={"PAYMENTKIT_API_KEY": "sk_test_x", "PAYMENTKIT_LISTEN_SECRET": None})
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        result = runner.invoke(main, ["listen", *args], obj=http)
    assert result.exit_code == code, (result.output, result.exception)
    return result


def printed_secret(result: Result) -> str:
    found = SECRET_RE.search(result.stderr)
    assert found, result.stderr
    return found.group(1)


def test_listen_forwards_new_events_signed_and_prints_a_line_each(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeEventsAPI()
    old = fake.add("customer.created", "cus_old", BASE_MS)
    made: list[str] = []
    script = Script(
        lambda: made.extend(
            [
                fake.add("customer.created", "cus_1", BASE_MS + 1000),
                fake.add("invoice.paid", "in_1", BASE_MS + 2000),
            ]
        ),
        lambda: made.append(fake.add("customer.updated", "cus_1", BASE_MS + 1500)),  # late
        lambda: None,
    )
    result = run_listen(fake, monkeypatch, script, "--forward-to", receiver.url)
    secret = printed_secret(result)
    assert result.stderr.rstrip().endswith("Stopped.")
    events = [checked(r, secret) for r in receiver.wait_for(3)]
    assert [e["id"] for e in events] == made
    assert old not in [e["id"] for e in events]
    by_id = {row[2]["id"]: row[2] for row in fake.rows}
    assert all(e == by_id[e["id"]] for e in events)  # the API's own JSON, unchanged
    assert all(r.path == "/hooks" for r in receiver.received)
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    for text, event in zip(lines, events, strict=True):
        assert f"{event['type']} [{event['id']}]" in text
        assert f"<-- [204] POST {receiver.url}" in text
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  ", text)


def test_listen_shows_the_receivers_status_and_connection_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failing = Receiver(status=lambda n: 500 if n == 1 else 200)
    fake = FakeEventsAPI()
    try:
        script = Script(lambda: [fake.add("invoice.paid"), fake.add("invoice.voided")])
        result = run_listen(fake, monkeypatch, script, "--forward-to", failing.url, "--json")
    finally:
        failing.close()
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["type"], r["status"], r["error"]) for r in rows] == [
        ("invoice.paid", 500, None),
        ("invoice.voided", 200, None),
    ]
    assert set(rows[0]) == {"id", "type", "created_at", "status", "error"}

    closed = f"http://127.0.0.1:{free_port()}/hooks"
    script = Script(lambda: fake.add("customer.created"))
    result = run_listen(fake, monkeypatch, script, "--forward-to", closed)
    assert "customer.created" in result.stdout
    assert "[error: connection refused]" in result.stdout


def test_listen_forwards_only_the_chosen_types(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeEventsAPI()
    script = Script(lambda: [fake.add(t) for t in TYPES])
    result = run_listen(
        fake,
        monkeypatch,
        script,
        "--forward-to",
        receiver.url,
        "--events",
        "invoice.*,customer.created",
        "--secret",
        "whsec_" + "B" * 43 + "=",
    )
    assert printed_secret(result) == "whsec_" + "B" * 43 + "="
    types = [checked(r, "whsec_" + "B" * 43 + "=")["type"] for r in receiver.wait_for(3)]
    assert types == ["customer.created", "invoice.paid", "invoice.voided"]
    assert "Forwarding invoice.*, customer.created events" in result.stderr


def test_listen_waits_out_a_server_that_is_down(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeEventsAPI()

    def outage() -> None:
        fake.failures += [503] * 3  # the SDK's two retries spent too
        fake.add("invoice.paid")

    result = run_listen(
        fake, monkeypatch, Script(outage, lambda: None), "--forward-to", receiver.url
    )
    assert "Cannot read events" in result.stderr and "Reading events again." in result.stderr
    assert [checked(r, printed_secret(result))["type"] for r in receiver.wait_for(1)] == [
        "invoice.paid"
    ]


def test_listen_refusals(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeEventsAPI()
    fake.failures = [401]
    result = run_listen(fake, monkeypatch, Script(), "--forward-to", receiver.url, code=1)
    assert result.stderr.startswith("Error: ") and "401" in result.stderr
    for args in (
        ["--forward-to", "ftp://127.0.0.1/x"],
        ["--forward-to", "localhost:4242"],
        ["--forward-to", receiver.url, "--events", "Invoice.Paid"],
        ["--forward-to", receiver.url, "--interval", "0"],
    ):
        run_listen(fake, monkeypatch, Script(), *args, code=2)
    bad = run_listen(
        fake, monkeypatch, Script(), "--forward-to", receiver.url, "--secret", "nope", code=1
    )
    assert "--secret" in bad.stderr and "nope" not in bad.stderr
    assert receiver.received == []
