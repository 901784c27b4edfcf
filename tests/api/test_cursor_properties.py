"""Property: cursor pages (`starting_after` / `ending_before` with `limit`) walk every matching
customer exactly once, in exactly the order a reference sort of the same rows gives, for every
allowed order (NULL names and emails last either way, ties in creation order), with `has_more`
right on every page (API.md, Conventions: cursor paging)."""

from __future__ import annotations

import functools
import uuid
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paymentkit.server.customers import service
from paymentkit.server.ids import now_ms
from tests.conftest import API

PROPERTY_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Customers come in groups, each group within one frozen millisecond; names and emails come from
# tiny alphabets (with None) so every order has ties and NULLs, leading or not.
person = st.tuples(st.sampled_from(["a", "b", "B", None]), st.sampled_from(["x", "Y", None]))
groups_strategy = st.lists(st.lists(person, min_size=1, max_size=6), max_size=8)


def make_customers(
    api: API, tag: str, groups: list[list[tuple[str | None, str | None]]]
) -> list[str]:
    made: list[str] = []
    start = now_ms()
    for i, group in enumerate(groups):
        with mock.patch.object(service, "now_ms", lambda t=start + i: t):
            for name, email in group:
                body: dict[str, Any] = {
                    "name": None if name is None else f"{tag} {name}",
                    "email": None if email is None else f"{email}@{tag}.example",
                    "metadata": {"run": tag},
                }
                r = api.post("/api/customers", json=body)
                assert r.status_code == 201, r.text
                made.append(r.json()["id"])
    return made


ORDERS: list[list[list[str]]] = [
    [["created_at", "DESC"]],
    [["created_at", "ASC"]],
    [["name", "ASC"]],
    [["name", "DESC"]],
    [["email", "ASC"]],
    [["email", "DESC"]],
    [["updated_at", "DESC"]],
    [["id", "ASC"]],
    [["name", "ASC"], ["created_at", "DESC"]],
    [["name", "DESC"], ["email", "ASC"]],
]


def reference(customers: list[dict[str, Any]], order: list[list[str]]) -> list[str]:
    """The contract's order computed in Python: code points, NULLs last in either direction,
    ties in creation order in the direction of the first key."""
    position = {c["id"]: i for i, c in enumerate(customers)}

    def value(c: dict[str, Any], field: str) -> Any:
        if field == "id":
            return position[c["id"]]
        if field == "email" and c["email"] is not None:
            return c["email"].lower()
        return c[field]

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for field, direction in order:
            x, y = value(a, field), value(b, field)
            if x == y:
                continue
            if x is None:
                return 1
            if y is None:
                return -1
            less = x < y
            return (-1 if less else 1) * (-1 if direction == "DESC" else 1)
        first_desc = order[0][1] == "DESC"
        diff = position[a["id"]] - position[b["id"]]
        return -diff if first_desc else diff

    return [c["id"] for c in sorted(customers, key=functools.cmp_to_key(compare))]


def page(api: API, path: str, params: dict[str, Any]) -> dict[str, Any]:
    r = api.get(path, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def order_params(order: list[list[str]]) -> dict[str, str]:
    out = {}
    for i, (field, direction) in enumerate(order):
        out[f"order[{i}][0]"] = field
        out[f"order[{i}][1]"] = direction
    return out


def walk_forward(api: API, path: str, params: dict[str, Any], limit: int, total: int) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": limit}
        if cursor is not None:
            query["starting_after"] = cursor
        body = page(api, path, query)
        assert body["count"] == total and body["count_is_exact"] is True
        assert body["paging"] == {"page": 1, "pageSize": limit}
        got = [c["id"] for c in body["list"]]
        seen += got
        assert body["has_more"] == (len(seen) < total), (len(seen), total, body["has_more"])
        if not body["has_more"]:
            return seen
        assert len(got) == limit
        cursor = got[-1]


def walk_backward(api: API, path: str, params: dict[str, Any], limit: int, last: str) -> list[str]:
    """Every object before `last`, fetched with ending_before, in list order."""
    pages: list[list[str]] = []
    cursor = last
    while True:
        body = page(api, path, {**params, "limit": limit, "ending_before": cursor})
        got = [c["id"] for c in body["list"]]
        pages.append(got)
        if not body["has_more"]:
            return [x for p in reversed(pages) for x in p]
        assert len(got) == limit
        cursor = got[0]


@PROPERTY_SETTINGS
@given(
    groups=groups_strategy,
    limit=st.integers(min_value=1, max_value=7),
    order=st.sampled_from(ORDERS),
)
def test_cursor_walks_match_the_reference_order(
    api: API,
    groups: list[list[tuple[str | None, str | None]]],
    limit: int,
    order: list[list[str]],
) -> None:
    tag = uuid.uuid4().hex[:12]
    made = make_customers(api, tag, groups)
    customers = [page(api, f"/api/customers/{i}", {}) for i in made]
    expected = reference(customers, order)
    params = {"metadata.run": tag, **order_params(order)}

    assert walk_forward(api, "/api/customers", params, limit, len(made)) == expected
    if expected:
        assert walk_backward(api, "/api/customers", params, limit, expected[-1]) == expected[:-1]
    # Numbered pages agree with cursor pages.
    numbered: list[str] = []
    for number in range(1, len(made) // limit + 2):
        body = page(api, "/api/customers", {**params, "page": number, "pageSize": limit})
        numbered += [c["id"] for c in body["list"]]
        assert body["has_more"] == (len(numbered) < len(made))
    assert numbered == expected


@PROPERTY_SETTINGS
@given(groups=groups_strategy, limit=st.integers(min_value=1, max_value=7))
def test_search_cursor_walk_is_newest_first(
    api: API, groups: list[list[tuple[str | None, str | None]]], limit: int
) -> None:
    tag = uuid.uuid4().hex[:12]
    made = make_customers(api, tag, groups)
    # The tag is in every name and email that is set; customers with neither do not match.
    customers = [page(api, f"/api/customers/{i}", {}) for i in made]
    made = [c["id"] for c in customers if c["name"] or c["email"]]
    params = {"query": tag.upper()}
    assert walk_forward(api, "/api/customers/search", params, limit, len(made)) == made[::-1]
    if made:
        back = walk_backward(api, "/api/customers/search", params, limit, made[0])
        assert back == made[:0:-1]


def test_nulls_last_for_a_later_key_both_ways(api: API) -> None:
    tag = uuid.uuid4().hex[:12]
    groups: list[list[tuple[str | None, str | None]]] = [
        [("a", None), ("a", "x"), (None, None)],
        [("a", "Y"), ("a", None), ("b", "x"), (None, "x")],
    ]
    made = make_customers(api, tag, groups)
    customers = [page(api, f"/api/customers/{i}", {}) for i in made]
    for order in ORDERS:
        expected = reference(customers, order)
        params = {"metadata.run": tag, **order_params(order)}
        for limit in (1, 2, 3):
            assert walk_forward(api, "/api/customers", params, limit, len(made)) == expected
            back = walk_backward(api, "/api/customers", params, limit, expected[-1])
            assert back == expected[:-1], (order, limit)
