"""`pk.events` and `pk.webhook_endpoints` on the wire, on both clients: the request each method
sends (method, path, query, JSON body, Idempotency-Key) and how the answers of API.md ("Events
and webhooks") decode — typed fields, unknown fields kept, the secret only where sent and never
in a repr. Behind `httpx.MockTransport`; test_events_live.py runs them against the real app."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from paymentkit import (
    AsyncPaymentKit,
    Event,
    EventData,
    EventRequest,
    PaymentKit,
    WebhookAttempt,
    WebhookEndpoint,
)
from tests.sdk.conftest import Both
from tests.sdk.fake_events import FakeEventsAPI, event

pytestmark = pytest.mark.anyio

ENDPOINT = {
    "id": "we_1",
    "object": "webhook_endpoint",
    "livemode": False,
    "api_version": "2024-01-01",
    "url": "https://example.com/hooks",
    "description": "orders",
    "enabled_events": ["invoice.paid", "customer.created"],
    "metadata": {"team": "billing"},
    "status": "enabled",
    "created_via": "api",
    "created_at": "2024-01-02T03:04:05.678Z",
    "updated_at": "2024-01-02T03:04:05.678Z",
}
SECRET = "whsec_" + "A" * 43 + "="
ATTEMPT = {
    "id": "wa_1",
    "object": "webhook_attempt",
    "livemode": False,
    "event_id": "evt_1",
    "webhook_endpoint_id": "we_1",
    "status": "failed",
    "response_status": 500,
    "response_body": "oops",
    "retry_count": 2,
    "created_at": "2024-01-02T03:04:05.678Z",
    "duration_ms": 12,
    "error": None,
}
UPDATED = {
    **event(7, "customer.updated", "cus_1", 1_800_000_000_000, {"id": "cus_1", "name": "B"}),
}
UPDATED["data"]["previous_attributes"] = {"name": "A"}


def page_of(items: list[dict[str, Any]], has_more: bool = False, size: int = 20) -> dict[str, Any]:
    return {
        "count": len(items),
        "list": items,
        "paging": {"page": 1, "pageSize": size},
        "has_more": has_more,
        "count_is_exact": True,
    }


class Recorder:
    """Answers each request with the next canned answer and keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []
        self.answers: list[tuple[int, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        status, body = self.answers.pop(0)
        return httpx.Response(status, json=body)

    def last(self) -> tuple[str, str, list[tuple[str, str]], Any]:
        request = self.sent[-1]
        body = json.loads(request.content) if request.content else None
        return request.method, request.url.path, list(request.url.params.multi_items()), body


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(params=["sync", "async"])
async def mock(request: pytest.FixtureRequest, recorder: Recorder) -> AsyncIterator[Both]:
    transport = httpx.MockTransport(recorder)
    if request.param == "sync":
        with PaymentKit("sk_test_x", transport=transport) as pk:
            yield Both("sync", pk)
    else:
        async with AsyncPaymentKit("sk_test_x", transport=transport) as apk:
            yield Both("async", apk)


async def test_events_list_sends_filters_and_paging(mock: Both, recorder: Recorder) -> None:
    recorder.answers = [(200, page_of([UPDATED]))] * 3
    gte = datetime(2024, 1, 2, 4, 4, 5, 678_900, tzinfo=timezone(timedelta(hours=1)))
    page = await mock.resolve(
        mock.pk.events.list(
            type="invoice.*", object_id="in_1", created_gte=gte, created_lte=1_700_000_000, limit=5
        )
    )
    assert recorder.last()[:3] == (
        "GET",
        "/api/events",
        [
            ("limit", "5"),
            ("type", "invoice.*"),
            ("object_id", "in_1"),
            ("created[gte]", "2024-01-02T03:04:05.678Z"),
            ("created[lte]", "1700000000"),
        ],
    )
    assert [type(e) for e in page.data] == [Event]
    await mock.resolve(mock.pk.events.list(created_gte="2024-01-02T03:04:05Z", page=2))
    assert recorder.last()[2] == [("page", "2"), ("created[gte]", "2024-01-02T03:04:05Z")]
    await mock.resolve(mock.pk.events.list())
    assert recorder.last()[2] == []


async def test_time_filters_that_name_no_instant_are_refused_before_sending(
    mock: Both, recorder: Recorder
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await mock.resolve(mock.pk.events.list(created_gte=datetime(2024, 1, 1)))
    with pytest.raises(TypeError):
        await mock.resolve(mock.pk.events.list(created_lte=True))
    with pytest.raises(ValueError):
        await mock.resolve(mock.pk.events.list(created_lte="  "))
    assert recorder.sent == []


async def test_an_event_decodes_typed_and_round_trips(mock: Both, recorder: Recorder) -> None:
    wire = {**UPDATED, "new_field": {"x": 1}}
    recorder.answers = [(200, wire)]
    got = await mock.resolve(mock.pk.events.retrieve("evt_7"))
    assert recorder.last()[:2] == ("GET", "/api/events/evt_7")
    assert isinstance(got, Event) and isinstance(got.data, EventData)
    assert isinstance(got.request, EventRequest) and got.request.requested_by == "key_x"
    assert got.type == "customer.updated" and got.object_id == "cus_1"
    assert got.data.object == {"id": "cus_1", "name": "B"}
    assert got.data.previous_attributes == {"name": "A"}
    assert got.new_field == {"x": 1} and got.extra_fields == {"new_field": {"x": 1}}
    assert got.to_dict() == wire


def test_previous_attributes_stay_absent_when_the_server_leaves_them_out() -> None:
    wire = event(1, "customer.created", "cus_1", 1_800_000_000_000)
    got = Event.from_wire(wire)
    assert got.data.previous_attributes is None
    assert got.to_dict() == wire


async def test_resend_posts_with_an_idempotency_key(mock: Both, recorder: Recorder) -> None:
    recorder.answers = [(200, UPDATED), (200, UPDATED)]
    assert isinstance(await mock.resolve(mock.pk.events.resend("evt_7")), Event)
    assert recorder.last() == ("POST", "/api/events/evt_7/resend", [], None)
    first_key = recorder.sent[-1].headers["idempotency-key"]
    await mock.resolve(mock.pk.events.resend("evt_7", webhook_endpoint_id="we_1"))
    assert recorder.last()[3] == {"webhook_endpoint_id": "we_1"}
    assert recorder.sent[-1].headers["idempotency-key"] not in ("", first_key)


async def test_endpoint_create_sends_what_was_given_and_shows_the_secret_once(
    mock: Both, recorder: Recorder
) -> None:
    recorder.answers = [
        (201, {**ENDPOINT, "secret": SECRET}),
        (201, {**ENDPOINT, "secret": SECRET}),
    ]
    made = await mock.resolve(
        mock.pk.webhook_endpoints.create(
            url="https://example.com/hooks",
            enabled_events=("invoice.paid", "customer.created"),
            description="orders",
            metadata={"team": "billing"},
            status="disabled",
            api_version="2024-01-01",
            idempotency_key="k-1",
        )
    )
    assert recorder.last() == (
        "POST",
        "/api/webhook-endpoints",
        [],
        {
            "url": "https://example.com/hooks",
            "enabled_events": ["invoice.paid", "customer.created"],
            "description": "orders",
            "metadata": {"team": "billing"},
            "status": "disabled",
            "api_version": "2024-01-01",
        },
    )
    assert recorder.sent[-1].headers["idempotency-key"] == "k-1"
    assert isinstance(made, WebhookEndpoint) and made.secret == SECRET
    assert SECRET not in repr(made) and "secret=<secret>" in repr(made)
    assert made.to_dict() == {**ENDPOINT, "secret": SECRET}
    await mock.resolve(mock.pk.webhook_endpoints.create(url="https://x.test", enabled_events=["*"]))
    assert recorder.last()[3] == {"url": "https://x.test", "enabled_events": ["*"]}


async def test_a_lone_string_of_events_is_refused(mock: Both, recorder: Recorder) -> None:
    with pytest.raises(TypeError, match="list of strings"):
        await mock.resolve(
            mock.pk.webhook_endpoints.create(url="https://x.test", enabled_events="*")
        )
    with pytest.raises(TypeError):
        await mock.resolve(mock.pk.webhook_endpoints.update("we_1", enabled_events=[1]))  # type: ignore[list-item]
    assert recorder.sent == []


async def test_endpoint_retrieve_update_list_delete(mock: Both, recorder: Recorder) -> None:
    recorder.answers = [
        (200, ENDPOINT),
        (200, {**ENDPOINT, "status": "disabled"}),
        (200, page_of([ENDPOINT])),
        (200, ENDPOINT),
    ]
    got = await mock.resolve(mock.pk.webhook_endpoints.retrieve("we_1"))
    assert recorder.last()[:2] == ("GET", "/api/webhook-endpoints/we_1")
    assert got.secret is None and "secret" not in got.to_dict() and "secret=None" in repr(got)
    updated = await mock.resolve(
        mock.pk.webhook_endpoints.update(
            "we_1", status="disabled", description=None, enabled_events=["invoice.*"]
        )
    )
    assert recorder.last() == (
        "PUT",
        "/api/webhook-endpoints/we_1",
        [],
        {"enabled_events": ["invoice.*"], "description": None, "status": "disabled"},
    )
    assert updated.status == "disabled"
    listed = await mock.resolve(mock.pk.webhook_endpoints.list(page_size=5, status="enabled"))
    assert recorder.last()[:3] == (
        "GET",
        "/api/webhook-endpoints",
        [("pageSize", "5"), ("status", "enabled")],
    )
    assert listed.data == [WebhookEndpoint.from_wire(ENDPOINT)]
    gone = await mock.resolve(mock.pk.webhook_endpoints.delete("we_1"))
    assert recorder.last()[:2] == ("DELETE", "/api/webhook-endpoints/we_1")
    assert gone == WebhookEndpoint.from_wire(ENDPOINT)  # the endpoint as it was
    assert "idempotency-key" in recorder.sent[-1].headers


async def test_rotate_secret(mock: Both, recorder: Recorder) -> None:
    recorder.answers = [(200, {**ENDPOINT, "secret": SECRET})]
    rotated = await mock.resolve(mock.pk.webhook_endpoints.rotate_secret("we_1"))
    assert recorder.last() == ("POST", "/api/webhook-endpoints/we_1/rotate_secret", [], None)
    assert rotated.secret == SECRET


async def test_attempts_page_and_auto_page(mock: Both, recorder: Recorder) -> None:
    second = {**ATTEMPT, "id": "wa_2", "status": "succeeded", "response_status": 200}
    recorder.answers = [(200, page_of([ATTEMPT], True, 1)), (200, page_of([second], size=1))]
    page = await mock.resolve(
        mock.pk.webhook_endpoints.attempts("we_1", limit=1, event_id="evt_1", status="failed")
    )
    assert recorder.last()[:3] == (
        "GET",
        "/api/webhook-endpoints/we_1/attempts",
        [("limit", "1"), ("event_id", "evt_1"), ("status", "failed")],
    )
    first = page.data[0]
    assert isinstance(first, WebhookAttempt)
    assert (first.status, first.response_status, first.retry_count) == ("failed", 500, 2)
    assert first.duration_ms == 12 and first.to_dict() == ATTEMPT
    assert [a.id for a in await mock.collect(page)] == ["wa_1", "wa_2"]
    assert recorder.last()[2] == [
        ("starting_after", "wa_1"),
        ("limit", "1"),
        ("event_id", "evt_1"),
        ("status", "failed"),
    ]


async def test_events_auto_paging_walks_the_filtered_list(mock: Both) -> None:
    fake = FakeEventsAPI()
    for i in range(7):
        fake.add("invoice.paid" if i % 2 else "customer.created", f"obj_{i % 3}")
    transport = httpx.MockTransport(fake)
    pk: Any = (
        PaymentKit("sk_test_x", transport=transport)
        if mock.kind == "sync"
        else AsyncPaymentKit("sk_test_x", transport=transport)
    )
    page = await mock.resolve(pk.events.list(type="invoice.*", limit=2))
    walked = await Both(mock.kind, pk).collect(page)
    assert [e.type for e in walked] == ["invoice.paid"] * 3
    assert [e.created_at for e in walked] == sorted((e.created_at for e in walked), reverse=True)
    since = datetime.fromisoformat(walked[1].created_at).astimezone(UTC)
    recent = await mock.resolve(pk.events.list(created_gte=since, type="invoice.paid"))
    assert [e.id for e in recent.data] == [e.id for e in walked[:2]]
