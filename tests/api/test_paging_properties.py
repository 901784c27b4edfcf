"""Property: walking every page of a listing or a search yields each matching customer exactly once,
with `count` right on every page, for any number of customers (many sharing a millisecond) and any
pageSize (API.md, Conventions: paging and ties in creation order)."""

from __future__ import annotations

import math
import uuid
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paymentkit.server.customers import service
from paymentkit.server.ids import now_ms
from tests.conftest import API

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Customers come in groups; each group shares one created_at millisecond. Names come from a small
# alphabet so that name orders have ties too.
groups_strategy = st.lists(
    st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=8), max_size=12
).map(lambda groups: _cap(groups, 60))
page_size_strategy = st.integers(min_value=1, max_value=100)


def _cap(groups: list[list[str | None]], limit: int) -> list[list[str | None]]:
    out: list[list[str | None]] = []
    left = limit
    for group in groups:
        if left <= 0:
            break
        out.append(group[:left])
        left -= len(out[-1])
    return out


def make_customers(api: API, tag: str, groups: list[list[str | None]]) -> list[str]:
    """Create the customers in order, each group within one frozen millisecond; their ids."""
    made: list[str] = []
    start = now_ms()
    for i, group in enumerate(groups):
        with mock.patch.object(service, "now_ms", lambda t=start + i: t):
            for suffix in group:
                name = None if suffix is None else f"{tag} {suffix}"
                body: dict[str, Any] = {"name": name, "email": f"{uuid.uuid4().hex}@{tag}.example"}
                body["metadata"] = {"run": tag}
                r = api.post("/api/customers", json=body)
                assert r.status_code == 201, r.text
                made.append(r.json()["id"])
    return made


def walk(api: API, path: str, params: dict[str, Any], page_size: int, total: int) -> list[str]:
    """Every page from 1 to one past the last; checks count, paging and page lengths."""
    seen: list[str] = []
    pages = math.ceil(total / page_size)
    for page in range(1, pages + 2):
        r = api.get(path, params={**params, "page": page, "pageSize": page_size})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == total
        assert body["paging"] == {"page": page, "pageSize": page_size}
        expected_len = max(0, min(page_size, total - (page - 1) * page_size))
        assert len(body["list"]) == expected_len, (page, body)
        seen += [c["id"] for c in body["list"]]
    return seen


@PROPERTY_SETTINGS
@given(groups=groups_strategy, page_size=page_size_strategy)
def test_listing_pages_cover_every_customer_once(
    api: API, groups: list[list[str | None]], page_size: int
) -> None:
    tag = uuid.uuid4().hex[:12]
    made = make_customers(api, tag, groups)
    listing = {"metadata.run": tag}

    newest_first = walk(api, "/api/customers", listing, page_size, len(made))
    assert newest_first == made[::-1]

    oldest_first = walk(
        api, "/api/customers", {**listing, "order": "created_at:ASC"}, page_size, len(made)
    )
    assert oldest_first == made

    for order in ("name:ASC", "name:DESC", "updated_at:DESC", "email:ASC"):
        seen = walk(api, "/api/customers", {**listing, "order": order}, page_size, len(made))
        assert sorted(seen) == sorted(made), order
        assert len(set(seen)) == len(seen), order


@PROPERTY_SETTINGS
@given(groups=groups_strategy, page_size=page_size_strategy)
def test_search_pages_cover_every_match_once(
    api: API, groups: list[list[str | None]], page_size: int
) -> None:
    tag = uuid.uuid4().hex[:12]
    made = make_customers(api, tag, groups)
    # Every customer's email holds the tag (names may be null), so all of them match.
    seen = walk(api, "/api/customers/search", {"query": tag.upper()}, page_size, len(made))
    assert seen == made[::-1]


def delete_all(api: API) -> None:
    while True:
        page = api.get("/api/customers", params={"pageSize": 100}).json()
        if not page["list"]:
            assert page["count"] == 0
            return
        for c in page["list"]:
            assert api.delete(f"/api/customers/{c['id']}").status_code == 200


@PROPERTY_SETTINGS
@given(
    groups=groups_strategy,
    page_size=page_size_strategy,
    deletions=st.lists(st.integers(min_value=0), max_size=5),
)
def test_unfiltered_listing_counts_and_covers_every_customer_once(
    api: API, groups: list[list[str | None]], page_size: int, deletions: list[int]
) -> None:
    # The unfiltered listing is the one whose `count` is the whole mode: start from nothing,
    # create, delete a few, and walk it.
    delete_all(api)
    tag = uuid.uuid4().hex[:12]
    made = make_customers(api, tag, groups)
    for pick in deletions:
        if made:
            victim = made.pop(pick % len(made))
            assert api.delete(f"/api/customers/{victim}").status_code == 200
    assert walk(api, "/api/customers", {}, page_size, len(made)) == made[::-1]
