"""Cursor paging: `starting_after` / `ending_before` / `limit` on every list and search, `has_more`
and `count_is_exact` read from the answer (or computed for an older server), and
`auto_paging_iter()` walking with cursors, forwards and backwards, on both clients.

Most tests use `CursorServer`, a small model of the wire contract behind `httpx.MockTransport`;
the last ones run on the real app in process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from paymentkit import (
    APIError,
    AsyncPaymentKit,
    Customer,
    InvalidRequestError,
    Page,
    PaymentKit,
)
from tests.sdk.conftest import Both
from tests.sdk.test_paging import _customer

pytestmark = pytest.mark.anyio

Query = dict[str, str]


class CursorServer:
    """Answers GET /api/customers over `ids` (in the list's order) as the cursor contract says,
    and keeps the query of every request. `legacy=True` answers as a server older than cursors:
    no `has_more`, no `count_is_exact`."""

    def __init__(self, ids: list[str], *, legacy: bool = False, exact: bool = True) -> None:
        self.ids = ids
        self.legacy = legacy
        self.exact = exact
        self.asked: list[Query] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        self.asked.append(query)
        size = int(query.get("limit", query.get("pageSize", "20")))
        cursor = query.get("starting_after") or query.get("ending_before")
        if cursor is not None and cursor not in self.ids:
            param = "starting_after" if "starting_after" in query else "ending_before"
            body = {"error": f"No such object: {cursor}", "code": "invalid_request", "param": param}
            return httpx.Response(400, json=body)
        page = 1
        if "starting_after" in query:
            start = self.ids.index(query["starting_after"]) + 1
            chunk, has_more = self.ids[start : start + size], start + size < len(self.ids)
        elif "ending_before" in query:
            end = self.ids.index(query["ending_before"])
            start = max(0, end - size)
            chunk, has_more = self.ids[start:end], start > 0
        else:
            page = int(query.get("page", "1"))
            start = (page - 1) * size
            chunk, has_more = self.ids[start : start + size], start + size < len(self.ids)
        answer: dict[str, Any] = {
            "count": len(self.ids),
            "list": [_customer(cid) for cid in chunk],
            "paging": {"page": page, "pageSize": size},
        }
        if not self.legacy:
            answer |= {"has_more": has_more, "count_is_exact": self.exact}
        return httpx.Response(200, json=answer)

    def sync(self) -> PaymentKit:
        return PaymentKit("sk_test_x", transport=httpx.MockTransport(self))

    def async_(self) -> AsyncPaymentKit:
        return AsyncPaymentKit("sk_test_x", transport=httpx.MockTransport(self))


def _ids(n: int) -> list[str]:
    return [f"cus_{i:02d}" for i in range(n)]


# -- the arguments ----------------------------------------------------------------------------

EMPTY = {"count": 0, "list": [], "paging": {"page": 1, "pageSize": 5}, "has_more": False}
LISTS: dict[str, tuple[str, Callable[..., Any]]] = {
    "customers.list": ("/api/customers", lambda pk, **kw: pk.customers.list(**kw)),
    "customers.search": (
        "/api/customers/search",
        lambda pk, **kw: pk.customers.search("ada", **kw),
    ),
    "invoices.list": ("/api/invoices", lambda pk, **kw: pk.invoices.list(**kw)),
    "subscriptions.list": ("/api/subscriptions", lambda pk, **kw: pk.subscriptions.list(**kw)),
    "payment_methods.list": (
        "/api/payment-methods",
        lambda pk, **kw: pk.payment_methods.list(**kw),
    ),
    "payment_currencies.list": (
        "/api/payment-currencies",
        lambda pk, **kw: pk.payment_currencies.list(**kw),
    ),
    "events.list": ("/api/events", lambda pk, **kw: pk.events.list(**kw)),
    "webhook_endpoints.list": (
        "/api/webhook-endpoints",
        lambda pk, **kw: pk.webhook_endpoints.list(**kw),
    ),
    "webhook_endpoints.attempts": (
        "/api/webhook-endpoints/we_1/attempts",
        lambda pk, **kw: pk.webhook_endpoints.attempts("we_1", **kw),
    ),
}


@pytest.mark.parametrize("method", LISTS)
def test_every_list_and_search_sends_the_cursor_parameters(method: str) -> None:
    path, call = LISTS[method]
    asked: list[tuple[str, Query]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append((request.url.path, dict(request.url.params)))
        return httpx.Response(200, json=EMPTY)

    extra = {"query": "ada"} if method == "customers.search" else {}
    with PaymentKit("sk_test_x", transport=httpx.MockTransport(handler)) as pk:
        page = call(pk, starting_after="obj_a", limit=5)
        call(pk, ending_before="obj_b")
        call(pk, page=2, page_size=3)
        call(pk, limit=7)
        call(pk)
    assert asked == [
        (path, {**extra, "starting_after": "obj_a", "limit": "5"}),
        (path, {**extra, "ending_before": "obj_b"}),
        (path, {**extra, "page": "2", "pageSize": "3"}),
        (path, {**extra, "limit": "7"}),
        (path, extra),
    ]
    assert (page.has_more, page.count_is_exact, page.direction) == (False, True, "forward")


def test_filters_and_order_are_sent_alongside_a_cursor() -> None:
    server = CursorServer(_ids(3))
    with server.sync() as pk:
        pk.customers.list(
            starting_after="cus_00", limit=2, email="a@example.com", metadata={"k": "v"}
        )
    assert server.asked == [
        {"starting_after": "cus_00", "limit": "2", "email": "a@example.com", "metadata.k": "v"}
    ]


async def test_cursor_mistakes_are_refused_before_anything_is_sent() -> None:
    server = CursorServer(_ids(3))
    with server.sync() as pk:
        with pytest.raises(ValueError, match="not both"):
            pk.customers.list(starting_after="cus_00", ending_before="cus_02")
        with pytest.raises(ValueError, match="page cannot be used together"):
            pk.invoices.list(page=2, starting_after="in_x")
        with pytest.raises(ValueError, match="page cannot be used together"):
            pk.customers.search("ada", page=1, ending_before="cus_00")
        with pytest.raises(ValueError, match="starting_after must be an object id"):
            pk.customers.list(starting_after=" ")
    async with server.async_() as apk:
        with pytest.raises(ValueError, match="not both"):  # at the call, not at the await
            apk.subscriptions.list(starting_after="sub_a", ending_before="sub_b")
    assert server.asked == []


def test_a_cursor_naming_nothing_is_the_servers_400() -> None:
    with CursorServer(_ids(3)).sync() as pk, pytest.raises(InvalidRequestError) as info:
        pk.customers.list(starting_after="cus_gone")
    assert info.value.param == "starting_after"


# -- the page ---------------------------------------------------------------------------------


def test_a_page_reads_has_more_and_count_is_exact_and_round_trips_them() -> None:
    server = CursorServer(_ids(5), exact=False)
    with server.sync() as pk:
        page = pk.customers.list(starting_after="cus_00", limit=2)
        assert (page.has_more, page.count_is_exact, page.direction) == (True, False, "forward")
        assert (page.page, page.page_size, page.count) == (1, 2, 5)
        last = pk.customers.list(starting_after="cus_02", limit=2)
        assert not last.has_more
        back = pk.customers.list(ending_before="cus_03", limit=2)
        assert (back.direction, back.has_more, [c.id for c in back]) == (
            "backward",
            True,
            ["cus_01", "cus_02"],
        )
    wire = page.to_dict()
    assert wire["has_more"] is True and wire["count_is_exact"] is False
    assert wire["paging"] == {"page": 1, "pageSize": 2}
    assert page._sender is not None and page._spec is not None
    again = Page.from_wire(wire, Customer, page._sender, page._spec)
    assert again.to_dict() == wire
    assert (again.has_more, again.count_is_exact, again.direction) == (True, False, "forward")
    assert "more than 5" in repr(page) and "backward" in repr(back)


def test_an_older_server_without_has_more_falls_back_to_the_count() -> None:
    server = CursorServer(_ids(5), legacy=True)
    with server.sync() as pk:
        first = pk.customers.list(page_size=2)
        third = pk.customers.list(page=3, page_size=2)
        second = pk.customers.list(page=2, page_size=2)
    assert (first.has_more, first.count_is_exact) == (True, True)  # 1 * 2 < 5
    assert second.has_more  # 2 * 2 < 5
    assert (third.has_more, third.count_is_exact) == (False, True)  # 3 * 2 >= 5
    assert first.to_dict()["has_more"] is True and first.to_dict()["count_is_exact"] is True


@pytest.mark.parametrize("field", ["has_more", "count_is_exact"])
def test_a_non_boolean_flag_is_an_unexpected_answer(field: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**EMPTY, field: "yes"})

    with (
        PaymentKit("sk_test_x", transport=httpx.MockTransport(handler)) as pk,
        pytest.raises(APIError, match=f"Unexpected answer.*{field}"),
    ):
        pk.customers.list()


# -- walking ----------------------------------------------------------------------------------


def test_auto_paging_walks_with_starting_after_the_last_id_and_the_page_size() -> None:
    server = CursorServer(_ids(7))
    with server.sync() as pk:
        page = pk.customers.list(page_size=3, email="a@example.com")
        pager = iter(page.auto_paging_iter())
        assert [next(pager).id for _ in range(3)] == ["cus_00", "cus_01", "cus_02"]
        assert len(server.asked) == 1  # nothing fetched before it is needed
        rest = [c.id for c in pager]
    assert rest == ["cus_03", "cus_04", "cus_05", "cus_06"]
    assert server.asked == [
        {"pageSize": "3", "email": "a@example.com"},
        {"starting_after": "cus_02", "limit": "3", "email": "a@example.com"},
        {"starting_after": "cus_05", "limit": "3", "email": "a@example.com"},
    ]  # page/pageSize gone, filters kept; has_more false on the third: no fourth request


def test_a_walk_from_a_numbered_page_or_a_cursor_page_goes_on_from_it() -> None:
    server = CursorServer(_ids(7))
    with server.sync() as pk:
        third = pk.customers.list(page=2, page_size=3)
        assert [c.id for c in third.auto_paging_iter()] == _ids(7)[3:]
        after = pk.customers.list(starting_after="cus_01", limit=2)
        assert [c.id for c in after.auto_paging_iter()] == _ids(7)[2:]
    assert server.asked[1] == {"starting_after": "cus_05", "limit": "3"}
    assert server.asked[3:] == [
        {"starting_after": "cus_03", "limit": "2"},
        {"starting_after": "cus_05", "limit": "2"},
    ]


def test_objects_created_while_walking_do_not_shift_later_pages() -> None:
    ids = _ids(6)
    server = CursorServer(ids)
    with server.sync() as pk:
        page = pk.customers.list(page_size=2)
        walked = []
        for customer in page.auto_paging_iter():
            walked.append(customer.id)
            if len(walked) == 1:
                ids[0:0] = ["cus_new1", "cus_new2", "cus_new3"]  # newest first: at the front
    assert walked == _ids(6)  # with page numbers cus_01 would come again and cus_04 twice
    assert len(server.asked) == 3


def test_the_walk_stops_at_has_more_false_or_an_empty_page() -> None:
    answers = [
        {"list": ["cus_a", "cus_b"], "has_more": True},
        {"list": [], "has_more": True},  # a server that says more but has none: stop
    ]
    asked: list[Query] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        answer = answers[len(asked) - 1]
        body = {
            "count": 10,
            "list": [_customer(c) for c in answer["list"]],
            "paging": {"page": 1, "pageSize": 2},
            "has_more": answer["has_more"],
            "count_is_exact": True,
        }
        return httpx.Response(200, json=body)

    with PaymentKit("sk_test_x", transport=httpx.MockTransport(handler)) as pk:
        assert [c.id for c in pk.customers.list(page_size=2).auto_paging_iter()] == [
            "cus_a",
            "cus_b",
        ]
    assert asked == [{"pageSize": "2"}, {"starting_after": "cus_b", "limit": "2"}]

    # has_more false ends the walk even though count says there are more (a lower bound, say).
    server = CursorServer(_ids(4))
    with server.sync() as pk:
        page = pk.customers.list(starting_after="cus_01", limit=5)
        assert not page.has_more
        assert [c.id for c in page.auto_paging_iter()] == ["cus_02", "cus_03"]
    assert len(server.asked) == 1


def test_a_server_that_does_not_move_on_ends_the_walk_and_nothing_comes_twice() -> None:
    asked: list[Query] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        body = {
            "count": 3,
            "list": [_customer("cus_a"), _customer("cus_b")],
            "paging": {"page": 1, "pageSize": 2},
            "has_more": True,
            "count_is_exact": True,
        }
        return httpx.Response(200, json=body)

    with PaymentKit("sk_test_x", transport=httpx.MockTransport(handler)) as pk:
        ids = [c.id for c in pk.customers.list(page_size=2).auto_paging_iter()]
    assert ids == ["cus_a", "cus_b"]
    assert asked == [{"pageSize": "2"}, {"starting_after": "cus_b", "limit": "2"}]


def test_a_page_fetched_with_ending_before_is_walked_backwards() -> None:
    server = CursorServer(_ids(10))
    with server.sync() as pk:
        page = pk.customers.list(ending_before="cus_08", limit=3, email="a@example.com")
        assert page.direction == "backward"
        walked = [c.id for c in page.auto_paging_iter()]
    # Pages in reverse order, each in the order the server returns it (the list's order).
    assert walked == [
        *["cus_05", "cus_06", "cus_07"],
        *["cus_02", "cus_03", "cus_04"],
        *["cus_00", "cus_01"],
    ]
    assert server.asked == [
        {"ending_before": "cus_08", "limit": "3", "email": "a@example.com"},
        {"ending_before": "cus_05", "limit": "3", "email": "a@example.com"},
        {"ending_before": "cus_02", "limit": "3", "email": "a@example.com"},
    ]


def test_an_older_server_is_walked_by_page_number() -> None:
    server = CursorServer(_ids(5), legacy=True)
    with server.sync() as pk:
        ids = [c.id for c in pk.customers.list(page_size=2, email="e").auto_paging_iter()]
    assert ids == _ids(5)
    assert server.asked == [
        {"pageSize": "2", "email": "e"},
        {"page": "2", "pageSize": "2", "email": "e"},
        {"page": "3", "pageSize": "2", "email": "e"},
    ]


async def test_the_async_client_walks_with_cursors_both_ways() -> None:
    server = CursorServer(_ids(7))
    async with server.async_() as apk:
        page = await apk.customers.list(page_size=3)
        forward = [c.id async for c in page.auto_paging_iter()]
        back = await apk.customers.list(ending_before="cus_05", limit=2)
        backward = [c.id async for c in back.auto_paging_iter()]
    assert forward == _ids(7)
    assert backward == ["cus_03", "cus_04", "cus_01", "cus_02", "cus_00"]
    assert server.asked == [
        {"pageSize": "3"},
        {"starting_after": "cus_02", "limit": "3"},
        {"starting_after": "cus_05", "limit": "3"},
        {"ending_before": "cus_05", "limit": "2"},
        {"ending_before": "cus_03", "limit": "2"},
        {"ending_before": "cus_01", "limit": "2"},
    ]


# -- on the real app: these need the server's cursor support ----------------------------------


async def _make(client: Both, n: int) -> list[str]:
    made = [await client.resolve(client.pk.customers.create(name=f"k-{i:02d}")) for i in range(n)]
    return [c.id for c in made][::-1]  # the list's order: newest first


async def test_cursor_pages_on_the_server(client: Both) -> None:
    pk, r = client.pk, client.resolve
    ids = await _make(client, 7)
    first = await r(pk.customers.list(page_size=3))
    assert [c.id for c in first] == ids[:3] and first.has_more and first.count_is_exact
    assert first.to_dict()["has_more"] is True and first._cursors  # the server said it
    after = await r(pk.customers.list(starting_after=ids[2], limit=3))
    assert [c.id for c in after] == ids[3:6] and after.has_more
    assert (after.count, after.page, after.page_size) == (7, 1, 3)
    last = await r(pk.customers.list(starting_after=ids[5], limit=3))
    assert [c.id for c in last] == ids[6:] and not last.has_more
    before = await r(pk.customers.list(ending_before=ids[4], limit=3))
    assert [c.id for c in before] == ids[1:4] and before.has_more
    assert before.direction == "backward"
    assert not (await r(pk.customers.list(ending_before=ids[2], limit=3))).has_more
    found = await r(pk.customers.search("k-0", starting_after=ids[0], limit=2))
    assert [c.id for c in found] == ids[1:3]
    with pytest.raises(InvalidRequestError) as info:
        await r(pk.customers.list(starting_after="cus_000000000000000000000000"))
    assert info.value.param == "starting_after"


async def test_auto_paging_with_cursors_on_the_server(client: Both) -> None:
    pk, r = client.pk, client.resolve
    ids = await _make(client, 7)
    page = await r(pk.customers.list(page_size=3))
    assert page.has_more and page._cursors  # the server says has_more: cursors are used
    assert [c.id for c in await client.collect(page)] == ids
    back = await r(pk.customers.list(ending_before=ids[6], limit=2))
    assert [c.id for c in await client.collect(back)] == [*ids[4:6], *ids[2:4], *ids[0:2]]
