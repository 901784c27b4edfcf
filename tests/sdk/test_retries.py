"""The retry and idempotency policy, without a network (`httpx.MockTransport`), on both clients;
and a retried write against the real app, which must run once."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from paymentkit import (
    APIConnectionError,
    APITimeoutError,
    AsyncPaymentKit,
    ConflictError,
    IdempotencyError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PaymentKit,
    RateLimitError,
)
from paymentkit.sdk import _transport
from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from tests.sdk.test_paging import _customer

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """Answers from a script, one per request, and keeps the requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        # A fresh copy: one scripted answer may serve several requests.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    @property
    def keys(self) -> list[str | None]:
        return [r.headers.get("idempotency-key") for r in self.requests]


def error(status: int, code: str, param: str | None = None, **headers: str) -> httpx.Response:
    body = {"code": code, "error": f"{code} happened", "param": param, "request_id": "req_abc"}
    return httpx.Response(status, json=body, headers={"x-request-id": "req_abc", **headers})


def created(cid: str = "cus_1") -> httpx.Response:
    return httpx.Response(201, json=_customer(cid))


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def run(kind: str, recorder: Recorder, work: Callable[[Any], Any], **options: Any) -> Any:
    """`work(client)` on a client of `kind` whose network is `recorder`."""
    transport = httpx.MockTransport(recorder)
    if kind == "sync":
        with PaymentKit("sk_test_key", transport=transport, **options) as pk:
            return work(pk)
    async with AsyncPaymentKit("sk_test_key", transport=transport, **options) as apk:
        return await work(apk)


async def test_a_create_retried_on_5xx_sends_one_key_every_time(
    kind: str, no_sleep: list[float]
) -> None:
    rec = Recorder(error(503, "internal_error"), error(500, "internal_error"), created())
    customer = await run(kind, rec, lambda pk: pk.customers.create(name="Ada"))
    assert customer.id == "cus_1"
    assert len(rec.requests) == 3
    key = rec.keys[0]
    assert key is not None and len(key) >= 32 and rec.keys == [key, key, key]
    assert {r.content for r in rec.requests} == {b'{"name":"Ada"}'}
    assert len(no_sleep) == 2
    assert 0 <= no_sleep[0] <= _transport.INITIAL_BACKOFF
    assert 0 <= no_sleep[1] <= 2 * _transport.INITIAL_BACKOFF
    first = rec.requests[0]
    assert first.headers["authorization"] == "Bearer sk_test_key"
    assert first.headers["content-type"] == "application/json"
    assert str(first.url) == "http://127.0.0.1:8080/api/customers"


async def run_each(kind: str, recorder: Recorder, *works: Callable[[Any], Any]) -> list[Any]:
    """Each `work(client)` in turn on one client of `kind`."""

    async def all_of(pk: Any) -> list[Any]:
        results = []
        for work in works:
            result = work(pk)
            results.append(await result if kind == "async" else result)
        return results

    if kind == "sync":
        with PaymentKit("sk_test_key", transport=httpx.MockTransport(recorder)) as pk:
            return [work(pk) for work in works]
    return await run(kind, recorder, all_of)


async def test_separate_calls_get_separate_keys_and_a_given_key_is_used(kind: str) -> None:
    rec = Recorder(created())
    await run_each(
        kind,
        rec,
        lambda pk: pk.customers.create(name="a"),
        lambda pk: pk.customers.create(name="a"),
        lambda pk: pk.customers.create(name="a", idempotency_key="order-42"),
    )
    assert len(set(rec.keys)) == 3 and rec.keys[2] == "order-42"


async def test_writes_carry_a_key_and_reads_do_not(kind: str) -> None:
    deleted = httpx.Response(200, json={"id": "cus_1", "object": "customer", "deleted": True})
    rec = Recorder(deleted, httpx.Response(200, json=_customer("cus_1")))
    await run_each(
        kind,
        rec,
        lambda pk: pk.customers.delete("cus_1"),
        lambda pk: pk.customers.retrieve("cus_1"),
        lambda pk: pk.customers.update("cus_1", name="b"),
    )
    assert [r.method for r in rec.requests] == ["DELETE", "GET", "PUT"]
    assert rec.keys[1] is None and None not in (rec.keys[0], rec.keys[2])


@pytest.mark.parametrize(
    ("answer", "exc", "code"),
    [
        (error(400, "invalid_request", "email"), InvalidRequestError, "invalid_request"),
        (error(404, "resource_missing"), NotFoundError, "resource_missing"),
        (error(409, "resource_exists", "did"), ConflictError, "resource_exists"),
        (error(409, "idempotency_key_reused"), IdempotencyError, "idempotency_key_reused"),
    ],
)
async def test_client_errors_are_not_retried(
    kind: str, answer: httpx.Response, exc: type[Exception], code: str, no_sleep: list[float]
) -> None:
    rec = Recorder(answer, created())
    with pytest.raises(exc) as info:
        await run(kind, rec, lambda pk: pk.customers.create(email="x"))
    assert len(rec.requests) == 1 and no_sleep == []
    err: Any = info.value
    assert (err.status, err.code, err.request_id) == (answer.status_code, code, "req_abc")
    assert err.param == answer.json()["param"]


async def test_a_key_in_use_is_retried_with_backoff_and_the_same_key(
    kind: str, no_sleep: list[float]
) -> None:
    # The first request with the key still runs, or its process died and the claim awaits
    # takeover: the same request, same key, later.
    in_use = error(409, "idempotency_key_in_use")
    rec = Recorder(in_use, in_use, created())
    customer = await run(kind, rec, lambda pk: pk.customers.create(name="a", idempotency_key="k"))
    assert customer.id == "cus_1"
    assert rec.keys == ["k", "k", "k"]
    assert len({r.content for r in rec.requests}) == 1
    assert len(no_sleep) == 2
    assert 0 <= no_sleep[1] <= 2 * _transport.INITIAL_BACKOFF

    rec = Recorder(in_use)
    with pytest.raises(IdempotencyError) as info:
        await run(kind, rec, lambda pk: pk.customers.create(name="a"), max_retries=3)
    assert len(rec.requests) == 4 and len(set(rec.keys)) == 1
    assert (info.value.status, info.value.code) == (409, "idempotency_key_in_use")


async def test_5xx_is_retried_max_retries_times_then_raised(
    kind: str, no_sleep: list[float]
) -> None:
    rec = Recorder(error(502, "internal_error"))
    with pytest.raises(InternalServerError) as info:
        await run(kind, rec, lambda pk: pk.customers.list(), max_retries=3)
    assert len(rec.requests) == 4 and len(no_sleep) == 3
    assert info.value.status == 502
    rec0 = Recorder(error(500, "internal_error"))
    with pytest.raises(InternalServerError):
        await run(kind, rec0, lambda pk: pk.customers.list(), max_retries=0)
    assert len(rec0.requests) == 1


async def test_429_honours_retry_after_in_seconds_and_as_a_date(
    kind: str, no_sleep: list[float]
) -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    rec = Recorder(
        error(429, "rate_limited", **{"Retry-After": "3"}),
        error(429, "rate_limited", **{"Retry-After": later}),
        created(),
    )
    await run(kind, rec, lambda pk: pk.customers.create(name="a"))
    assert len(rec.requests) == 3 and len(set(rec.keys)) == 1
    assert no_sleep[0] == 3.0
    assert 25 <= no_sleep[1] <= 30

    rec = Recorder(error(429, "rate_limited", **{"Retry-After": "1"}))
    with pytest.raises(RateLimitError) as info:
        await run(kind, rec, lambda pk: pk.customers.list())
    assert len(rec.requests) == 3 and info.value.status == 429


async def test_connection_errors_are_retried_then_raised_without_httpx_in_the_chain(
    kind: str, no_sleep: list[float]
) -> None:
    rec = Recorder(httpx.ConnectError("refused"), created())
    assert (await run(kind, rec, lambda pk: pk.customers.create(name="a"))).id == "cus_1"
    assert len(rec.requests) == 2 and rec.keys[0] == rec.keys[1]

    rec = Recorder(httpx.RemoteProtocolError("server disconnected"))
    with pytest.raises(APIConnectionError) as info:
        await run(kind, rec, lambda pk: pk.customers.create(name="a"))
    assert len(rec.requests) == 3 and len(set(rec.keys)) == 1
    err = info.value
    assert not isinstance(err, APITimeoutError)
    assert err.__cause__ is None and err.__suppress_context__
    assert isinstance(err.cause, httpx.RemoteProtocolError)
    assert (err.status, err.code, err.param, err.request_id) == (None, None, None, None)
    assert "POST http://127.0.0.1:8080/api/customers" in str(err)

    rec = Recorder(httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError):
        await run(kind, rec, lambda pk: pk.customers.retrieve("cus_1"), max_retries=1)
    assert len(rec.requests) == 2

    rec = Recorder(httpx.UnsupportedProtocol("ftp?"))  # not transient: not retried
    with pytest.raises(APIConnectionError):
        await run(kind, rec, lambda pk: pk.customers.list())
    assert len(rec.requests) == 1


async def test_odd_answers_are_sdk_errors(kind: str) -> None:
    rec = Recorder(httpx.Response(502, text="<html>Bad Gateway</html>"))
    with pytest.raises(InternalServerError) as info:
        await run(kind, rec, lambda pk: pk.customers.list(), max_retries=0)
    assert "Bad Gateway" in str(info.value) and info.value.code is None

    rec = Recorder(httpx.Response(200, text="not json", headers={"x-request-id": "req_z"}))
    with pytest.raises(Exception) as bad:
        await run(kind, rec, lambda pk: pk.customers.retrieve("cus_1"))
    assert type(bad.value).__name__ == "APIError" and bad.value.request_id == "req_z"  # type: ignore[attr-defined]


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    for attempt in range(10):
        ceiling = min(_transport.MAX_BACKOFF, _transport.INITIAL_BACKOFF * 2**attempt)
        samples = [_transport.sleep_seconds(attempt) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling / 2  # jitter spreads over the whole range
    assert _transport.sleep_seconds(0, 7.5) == 7.5
    assert _transport.sleep_seconds(0, 3600) == _transport.MAX_RETRY_AFTER


def test_should_retry() -> None:
    retry = _transport.should_retry
    assert retry(503, 0, 2) and retry(429, 1, 2) and not retry(503, 2, 2)
    assert not any(retry(s, 0, 2) for s in (200, 201, 400, 401, 403, 404, 409, 413))
    assert retry(409, 0, 2, "idempotency_key_in_use") and not retry(
        409, 2, 2, "idempotency_key_in_use"
    )
    assert not any(retry(409, 0, 2, c) for c in ("idempotency_key_reused", "resource_exists", None))
    assert retry(httpx.ConnectError("x"), 0, 2) and retry(httpx.ReadTimeout("x"), 0, 2)
    assert not retry(httpx.ConnectError("x"), 0, 0)
    assert not retry(httpx.UnsupportedProtocol("x"), 0, 2)


def test_retry_after_parsing() -> None:
    parse = _transport.retry_after
    assert parse({}) is None
    assert parse({"retry-after": "2"}) == 2.0
    assert parse({"retry-after": "-4"}) == 0.0
    assert parse({"retry-after": "soon"}) is None
    past = email.utils.formatdate(time.time() - 100, usegmt=True)
    assert parse({"retry-after": past}) == 0.0


# -- against the real app: a write whose answer is lost is retried and runs once --------------


class LoseFirstAnswers(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Passes requests to the app, but drops the answer to the first try of every write, as a
    broken connection would, after the server has committed it."""

    def __init__(self, sync: TestClient | None = None, asgi: Any = None) -> None:
        self.sync, self.asgi = sync, asgi
        self.keys_seen: set[str] = set()
        self.log: list[tuple[str, int, str | None]] = []  # method, status, Idempotent-Replayed

    def _after(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        self.log.append(
            (request.method, response.status_code, response.headers.get("idempotent-replayed"))
        )
        key = request.headers.get("idempotency-key")
        if key is not None and key not in self.keys_seen:
            self.keys_seen.add(key)
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert self.sync is not None
        response = self.sync.send(request)
        copy = httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )
        return self._after(request, copy)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.asgi.handle_async_request(request)
        content = await response.aread()
        copy = httpx.Response(response.status_code, headers=response.headers, content=content)
        return self._after(request, copy)


async def test_writes_whose_answers_are_lost_are_retried_and_run_once(
    kind: str, database_url: str, db: Database, app_client: TestClient, secret: str
) -> None:
    if kind == "sync":
        flaky = LoseFirstAnswers(sync=app_client)
        pk: Any = PaymentKit(secret, transport=flaky)
    else:
        app = create_app(Settings(database_url=database_url), db=db)
        flaky = LoseFirstAnswers(asgi=httpx.ASGITransport(app=app))
        pk = AsyncPaymentKit(secret, transport=flaky)

    async def r(value: Any) -> Any:
        return await value if kind == "async" else value

    customer = await r(pk.customers.create(name="Once", metadata={"n": 1}))
    assert customer.name == "Once"
    assert (await r(pk.customers.list())).count == 1  # not two customers
    updated = await r(pk.customers.update(customer.id, name="Twice?"))
    assert updated.name == "Twice?"
    deleted = await r(pk.customers.delete(customer.id))  # not a 404 on the retry
    assert deleted.deleted is True and deleted.id == customer.id
    await r(pk.close())

    writes = [entry for entry in flaky.log if entry[0] != "GET"]
    assert writes == [
        ("POST", 201, None),
        ("POST", 201, "true"),  # the retry got the stored answer
        ("PUT", 200, None),
        ("PUT", 200, "true"),
        ("DELETE", 200, None),
        ("DELETE", 200, "true"),
    ]


async def test_a_key_reused_for_another_request_is_an_idempotency_error(
    client: Any,
) -> None:
    pk, r = client.pk, client.resolve
    first = await r(pk.customers.create(name="A", idempotency_key="k-1"))
    again = await r(pk.customers.create(name="A", idempotency_key="k-1"))
    assert again == first
    with pytest.raises(IdempotencyError) as info:
        await r(pk.customers.create(name="B", idempotency_key="k-1"))
    assert (info.value.status, info.value.code) == (409, "idempotency_key_reused")
    assert isinstance(info.value, ConflictError)
    assert (await r(pk.customers.list())).count == 1
    assert json.loads(json.dumps(first.to_dict()))["name"] == "A"
