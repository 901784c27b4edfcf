"""Auto-paging across page boundaries, lazily, with the filters kept, on both clients; and how
a server older than cursors (no `has_more` in its answers) is walked: by page number.
Cursor paging itself: test_cursors.py."""

from __future__ import annotations

import httpx
import pytest

from paymentkit import AsyncPaymentKit, PaymentKit
from tests.sdk.conftest import Both

pytestmark = pytest.mark.anyio


async def _make(client: Both, n: int, **fields: object) -> list[str]:
    ids = []
    for i in range(n):
        made = await client.resolve(client.pk.customers.create(name=f"c-{i:02d}", **fields))
        ids.append(made.id)
    return ids


async def test_every_customer_across_page_boundaries(client: Both) -> None:
    ids = await _make(client, 45, metadata={"batch": "x"})
    await _make(client, 3, metadata={"batch": "y"})
    page = await client.resolve(client.pk.customers.list(page_size=10, metadata={"batch": "x"}))
    assert (page.count, len(page.data), page.has_more) == (45, 10, True)
    walked = await client.collect(page)
    assert [c.id for c in walked] == ids[::-1]  # newest first, each once, only batch x

    # From a later page on: that page and the ones after it.
    third = await client.resolve(
        client.pk.customers.list(page=3, page_size=10, metadata={"batch": "x"})
    )
    assert [c.id for c in await client.collect(third)] == ids[::-1][20:]

    found = await client.resolve(client.pk.customers.search("c-0", page_size=4))
    assert {c.name for c in await client.collect(found)} == {f"c-0{i}" for i in range(10)}


async def test_an_exact_multiple_and_an_empty_list(client: Both) -> None:
    empty = await client.resolve(client.pk.customers.list(page_size=10))
    assert await client.collect(empty) == [] and not empty.has_more
    ids = await _make(client, 20)
    page = await client.resolve(client.pk.customers.list(page_size=10, order="created_at:ASC"))
    assert [c.id for c in await client.collect(page)] == ids


def _counting(app_client: object) -> tuple[list[str], httpx.MockTransport]:
    """A transport that answers three pages of two customers as a server older than cursors
    would (no has_more), and records the pages asked for."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("page", "1"))
        asked.append(f"{n}:{request.url.params.get('email')}")
        customers = [_customer(f"cus_{n}{i}") for i in range(2)]
        if n == 2:  # a customer created meanwhile pushed cus_11 down to page 2
            customers[0] = _customer("cus_11")
        body = {"count": 6, "list": customers, "paging": {"page": n, "pageSize": 2}}
        return httpx.Response(200, json=body)

    return asked, httpx.MockTransport(handler)


def _customer(cid: str) -> dict[str, object]:
    return {
        "id": cid,
        "object": "customer",
        "did": None,
        "name": None,
        "email": None,
        "phone": None,
        "address": None,
        "description": None,
        "balance": "0",
        "delinquent": False,
        "livemode": False,
        "metadata": {},
        "created_at": "2024-01-01T00:00:00.000Z",
        "updated_at": "2024-01-01T00:00:00.000Z",
    }


def test_an_older_server_pages_lazily_by_number_with_the_same_filters_and_no_duplicates() -> None:
    asked, transport = _counting(None)
    with PaymentKit("sk_test_x", transport=transport) as pk:
        page = pk.customers.list(page_size=2, email="a@example.com")
        pager = iter(page.auto_paging_iter())
        assert [next(pager).id, next(pager).id] == ["cus_10", "cus_11"]
        assert asked == ["1:a@example.com"]  # nothing fetched before it is needed
        rest = [c.id for c in pager]
    assert rest == ["cus_21", "cus_30", "cus_31"]  # cus_11 again on page 2 is skipped
    assert asked == ["1:a@example.com", "2:a@example.com", "3:a@example.com"]


async def test_async_pages_of_an_older_server_are_fetched_lazily() -> None:
    asked, transport = _counting(None)
    async with AsyncPaymentKit("sk_test_x", transport=transport) as pk:
        page = await pk.customers.list(page_size=2, email="a@example.com")
        ids = [c.id async for c in page.auto_paging_iter()]
    assert ids == ["cus_10", "cus_11", "cus_21", "cus_30", "cus_31"]
    assert len(asked) == 3


async def test_the_wrong_kind_of_loop_is_a_clear_type_error() -> None:
    _, transport = _counting(None)
    with PaymentKit("sk_test_x", transport=transport) as pk:
        page = pk.customers.list()
        with pytest.raises(TypeError, match="PaymentKit: use `for`"):
            async for _ in page.auto_paging_iter():
                pass
    async with AsyncPaymentKit("sk_test_x", transport=transport) as apk:
        apage = await apk.customers.list()
        with pytest.raises(TypeError, match="use `async for`"):
            for _ in apage.auto_paging_iter():
                pass
