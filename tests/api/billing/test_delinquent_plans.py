"""Property: whichever plan the `delinquent` filter takes — the known delinquent customers read
and sorted, or the order index walked testing each row; counts as they are, as a metadata
value's counter less them, or bounded past EXACT_COUNT_MAX — its pages are the unfiltered list
of the same order with the others left out, in cursor and numbered pages alike, with the
count right (customers/repository.py `_delinquent`)."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paymentkit.server.db import paging
from tests.api.billing.helpers import (
    Billing,
    body,
    invoice_in,
    make_customer,
    make_invoice,
    parse,
    uncollectible,
)
from tests.conftest import API

ORDERS = (
    "created_at:DESC",
    "created_at:ASC",
    "updated_at:DESC",
    "name:ASC",
    "name:DESC",
    "email:ASC",
    "email:DESC",
)
# (metadata filters as query parameters, the customers they keep)
FILTERS = ("none", "tier=1", "tier=1&zone=a", "tier=2")


class World:
    """Fourteen customers, nine of them delinquent (some twice, one half paid), with names,
    emails and metadata that tie and go missing, so that every order has ties and NULLs."""

    def __init__(self, api: API) -> None:
        b = Billing(api)
        self.customers = [b.customer]
        for i in range(13):
            fields: dict[str, Any] = {
                "name": None if i % 5 == 0 else f"N{i % 3}",
                "email": None if i % 4 == 0 else f"p{i % 6}.{i}@example.com",
                "metadata": {"tier": str(i % 3), "zone": "ab"[i % 2]},
            }
            self.customers.append(make_customer(api, **fields))
        self.late: set[str] = set()
        for i, c in enumerate(self.customers):
            if i % 3 != 2:  # nine of fourteen
                invoice = make_invoice(api, c["id"], b.currency["id"], "900")
                uncollectible(api, invoice, *(["400"] if i == 4 else []))
                self.late.add(c["id"])
            if i % 4 == 0:
                uncollectible(api, make_invoice(api, c["id"], b.currency["id"]))
                self.late.add(c["id"])
            invoice_in(api, make_invoice(api, c["id"], b.currency["id"]), "paid")

    def keeps(self, customer: dict[str, Any], flag: str, filters: str) -> bool:
        if (customer["id"] in self.late) != (flag == "true"):
            return False
        if filters == "none":
            return True
        wanted = dict(pair.split("=") for pair in filters.split("&"))
        return all(customer["metadata"].get(k) == v for k, v in wanted.items())


@pytest.fixture
def world(api: API) -> World:
    return World(api)


def _query(order: str, flag: str, filters: str) -> dict[str, Any]:
    q: dict[str, Any] = {"order": order, "delinquent": flag}
    if filters != "none":
        for pair in filters.split("&"):
            k, v = pair.split("=")
            q[f"metadata.{k}"] = v
    return q


def _page(api: API, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = body(api.get("/api/customers", params=params), 200)
    return found


def _cursor_walk(api: API, size: int, **params: Any) -> list[str]:
    seen: list[str] = []
    page = _page(api, limit=size, **params)
    while True:
        seen.extend(c["id"] for c in page["list"])
        assert len(seen) <= 14
        if not page["has_more"]:
            return seen
        page = _page(api, limit=size, starting_after=seen[-1], **params)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    order=st.sampled_from(ORDERS),
    flag=st.sampled_from(("true", "false")),
    filters=st.sampled_from(FILTERS),
    size=st.integers(min_value=1, max_value=6),
    count_max=st.sampled_from((paging.EXACT_COUNT_MAX, 2, 8)),
)
def test_every_plan_lists_the_unfiltered_order_less_the_others(
    api: API, world: World, order: str, flag: str, filters: str, size: int, count_max: int
) -> None:
    everyone = _cursor_walk(api, 100, order=order)
    by_id = {c["id"]: c for c in world.customers}
    expected = [i for i in everyone if world.keeps(by_id[i], flag, filters)]
    with mock.patch.object(paging, "EXACT_COUNT_MAX", count_max):
        q = _query(order, flag, filters)
        assert _cursor_walk(api, size, **q) == expected
        first = _page(api, pageSize=size, **q)
        if first["count_is_exact"]:
            assert first["count"] == len(expected)
        else:  # a bound: more than a count reads
            assert first["count"] > count_max
        assert all(c["delinquent"] is (flag == "true") for c in first["list"])
        numbered = [
            c["id"]
            for p in range(1, len(expected) // size + 2)
            for c in _page(api, page=p, pageSize=size, **q)["list"]
        ]
        assert numbered == expected


@pytest.mark.parametrize("count_max", [paging.EXACT_COUNT_MAX, 2])
@pytest.mark.parametrize("filters", ["none", "tier=0"])
def test_export_in_batches_is_the_list(
    api: API, world: World, filters: str, count_max: int
) -> None:
    """`delinquent=true` exports only the known delinquent customers, sorted, batch after batch
    (or walks the created index past EXACT_COUNT_MAX of them): the list's customers, newest
    first, once each."""
    from paymentkit.server.customers import bulk

    q = _query("created_at:DESC", "true", filters)
    q.pop("order")
    with (
        mock.patch.object(bulk, "EXPORT_BATCH", 2),
        mock.patch.object(paging, "EXACT_COUNT_MAX", count_max),
    ):
        r = api.get("/api/customers/export", params=q)
        assert r.status_code == 200, r.text
        exported = [line for line in r.text.splitlines() if line]
    expected = _cursor_walk(api, 100, **q)
    assert len(expected) >= 3
    assert [parse(line)["id"] for line in exported] == expected


def test_metadata_rows_follow_the_flag(api: API) -> None:
    """The metadata rows carry the customer's flag through a metadata update made while it is
    delinquent and through the payment that ends it."""
    b = Billing(api)
    c = make_customer(api, metadata={"tier": "9"})
    invoice = uncollectible(api, make_invoice(api, c["id"], b.currency["id"], "500"))
    body(api.put(f"/api/customers/{c['id']}", json={"metadata": {"tier": "9", "new": "x"}}), 200)

    def listed(flag: str, order: str = "created_at:DESC", **meta: str) -> tuple[list[str], int]:
        q = {"delinquent": flag, "order": order, **{f"metadata.{k}": v for k, v in meta.items()}}
        page = _page(api, **q)
        return [x["id"] for x in page["list"]], page["count"]

    for order in ("created_at:DESC", "name:ASC"):
        assert listed("true", new="x", order=order) == ([c["id"]], 1)
        assert listed("false", new="x", order=order) == ([], 0)
    do_pay = api.post(f"/api/invoices/{invoice['id']}/pay", json={})
    assert do_pay.status_code == 200, do_pay.text
    for meta in ({"new": "x"}, {"tier": "9"}):
        assert listed("true", **meta) == ([], 0)
        assert listed("false", **meta) == ([c["id"]], 1)
