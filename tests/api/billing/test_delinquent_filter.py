"""The customers list's `delinquent` filter (and the export's): true keeps the customers with an
uncollectible invoice, false the others, alone or with the other filters, in every order, with
cursor paging and exact counts; also past the size a count reads (EXACT_COUNT_MAX made small)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from paymentkit.server.db import paging
from tests.api.billing.helpers import (
    Billing,
    assert_error,
    body,
    do,
    invoice_in,
    make_customer,
    make_invoice,
    uncollectible,
)
from tests.conftest import API

ORDERS = ("created_at:DESC", "created_at:ASC", "updated_at:DESC", "name:ASC", "email:DESC")


def listed(api: API, **params: Any) -> dict[str, Any]:
    page: dict[str, Any] = body(api.get("/api/customers", params=params), 200)
    return page


def walk(api: API, **params: Any) -> list[str]:
    """Every id of the list, following starting_after two at a time."""
    seen: list[str] = []
    page = listed(api, limit=2, **params)
    while True:
        seen.extend(c["id"] for c in page["list"])
        if not page["has_more"]:
            return seen
        page = listed(api, limit=2, starting_after=seen[-1], **params)


def world(api: API) -> tuple[list[dict[str, Any]], set[str]]:
    """Seven customers; three of them delinquent (one with two uncollectible invoices, one that
    paid part of it), others with invoices in every other status."""
    b = Billing(api)
    customers = [b.customer] + [
        make_customer(api, name=f"C{i}", email=f"c{i}@example.com", metadata={"tier": i % 2})
        for i in range(6)
    ]
    late = {customers[1]["id"], customers[2]["id"], customers[5]["id"]}
    for c in customers:
        if c["id"] in late:
            uncollectible(api, make_invoice(api, c["id"], b.currency["id"], "900"), "100")
        for status in ("draft", "open", "paid", "void"):
            invoice_in(api, make_invoice(api, c["id"], b.currency["id"]), status)
    uncollectible(api, make_invoice(api, customers[1]["id"], b.currency["id"]))
    return customers, late


@pytest.mark.parametrize("order", ORDERS)
def test_true_and_false_split_the_list_in_its_order(api: API, order: str) -> None:
    customers, late = world(api)
    everyone = walk(api, order=order)
    assert len(everyone) == len(customers)
    for flag, expected in (("true", late), ("false", {c["id"] for c in customers} - late)):
        ids = walk(api, order=order, delinquent=flag)
        assert ids == [i for i in everyone if i in expected]
        page = listed(api, order=order, delinquent=flag)
        assert page["count"] == len(expected) and page["count_is_exact"] is True
        assert all(c["delinquent"] is (flag == "true") for c in page["list"])
        # numbered pages agree with the cursor walk
        numbered = [
            c["id"]
            for p in (1, 2, 3)
            for c in listed(api, order=order, delinquent=flag, page=p, pageSize=2)["list"]
        ]
        assert numbered[: len(ids)] == ids


def test_with_other_filters(api: API) -> None:
    customers, late = world(api)
    odd = {c["id"] for c in customers if c["metadata"].get("tier") == 1}
    for flag, keep in (("true", late), ("false", {c["id"] for c in customers} - late)):
        page = listed(api, delinquent=flag, **{"metadata.tier": "1"})
        assert {c["id"] for c in page["list"]} == odd & keep
        assert page["count"] == len(odd & keep)
        email = customers[2]["email"]
        page = listed(api, delinquent=flag, email=email)
        assert [c["id"] for c in page["list"]] == [customers[2]["id"]] * (
            customers[2]["id"] in keep
        )


def test_paying_the_debt_moves_a_customer_across(api: API) -> None:
    b = Billing(api)
    invoice = uncollectible(api, b.invoice("300"))
    assert [c["id"] for c in listed(api, delinquent="true")["list"]] == [b.customer["id"]]
    do(api, invoice["id"], "pay")
    assert listed(api, delinquent="true")["list"] == []
    assert [c["id"] for c in listed(api, delinquent="false")["list"]] == [b.customer["id"]]


def test_past_an_exact_count(api: API, monkeypatch: pytest.MonkeyPatch) -> None:
    """More delinquent customers than a count reads: the order index is walked, the count is a
    bound, and the pages are still right."""
    customers, late = world(api)
    monkeypatch.setattr(paging, "EXACT_COUNT_MAX", 2)
    for flag, keep in (("true", late), ("false", {c["id"] for c in customers} - late)):
        everyone = walk(api)
        assert walk(api, delinquent=flag) == [i for i in everyone if i in keep]
        page = listed(api, delinquent=flag)
        assert page["count_is_exact"] is False and page["count"] > 2
        meta = walk(api, delinquent=flag, **{"metadata.tier": "0"})
        tier0 = {c["id"] for c in customers if c["metadata"].get("tier") == 0}
        assert meta == [i for i in everyone if i in keep & tier0]


def test_export_honours_it(api: API) -> None:
    customers, late = world(api)
    r = api.get("/api/customers/export", params={"delinquent": "true"})
    assert r.status_code == 200
    lines = [json.loads(line) for line in r.text.splitlines() if line]
    assert {c["id"] for c in lines} == late
    r = api.get("/api/customers/export", params={"delinquent": "false", "metadata.tier": "1"})
    exported = {json.loads(line)["id"] for line in r.text.splitlines() if line}
    odd = {c["id"] for c in customers if c["metadata"].get("tier") == 1}
    assert exported == odd - late


def test_a_bad_value_is_a_400(api: API) -> None:
    assert_error(
        api.get("/api/customers", params={"delinquent": "yes"}),
        400,
        "invalid_request",
        "delinquent",
    )
    assert_error(
        api.get("/api/customers/export", params={"delinquent": "1"}),
        400,
        "invalid_request",
        "delinquent",
    )
