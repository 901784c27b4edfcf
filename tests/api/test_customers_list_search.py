"""GET /api/customers and /api/customers/search: shape, paging, ordering (ties in creation order),
filters and search semantics (API.md, Conventions and Customers)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from paymentkit.server.customers import service
from tests.conftest import API

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_did() -> str:
    return "z" + "".join(secrets.choice(BASE58) for _ in range(35))


def create(api: API, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = api.post("/api/customers", json=body or {})
    assert r.status_code == 201, r.text
    customer: dict[str, Any] = r.json()
    return customer


def listing(api: API, path: str = "/api/customers", **params: Any) -> dict[str, Any]:
    r = api.get(path, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def raw(api: API, query: str, path: str = "/api/customers") -> dict[str, Any]:
    """A GET with the query string sent exactly as written (qs-style brackets unencoded)."""
    r = api.get(f"{path}?{query}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ids(page: dict[str, Any]) -> list[str]:
    return [c["id"] for c in page["list"]]


def search(api: API, text: str, **params: Any) -> dict[str, Any]:
    return listing(api, "/api/customers/search", query=text, **params)


def assert_error(r: Any, status: int, code: str, param: str | None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "error", "param", "request_id"}, body
    assert (body["code"], body["param"]) == (code, param), body


class Clock:
    """Replaces the service's millisecond clock so tests can make same-millisecond objects."""

    def __init__(self) -> None:
        self.now = time.time_ns() // 1_000_000

    def __call__(self) -> int:
        return self.now

    def tick(self, ms: int = 1) -> None:
        self.now += ms


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    c = Clock()
    monkeypatch.setattr(service, "now_ms", c)
    yield c


# -- shape and paging ----------------------------------------------------------------------


def test_empty_list_shape(api: API) -> None:
    assert listing(api) == {
        "count": 0,
        "list": [],
        "paging": {"page": 1, "pageSize": 20},
        "has_more": False,
        "count_is_exact": True,
    }


def test_list_shape_has_numbers(api: API) -> None:
    c = create(api, {"name": "a"})
    r = api.get("/api/customers", params={"page": "1", "pageSize": "5"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"count", "list", "paging", "has_more", "count_is_exact"}
    assert type(body["count"]) is int and body["count"] == 1
    assert body["paging"] == {"page": 1, "pageSize": 5}
    assert type(body["paging"]["page"]) is int and type(body["paging"]["pageSize"]) is int
    assert body["list"] == [c]


def test_default_page_size_is_20(api: API) -> None:
    made = [create(api)["id"] for _ in range(25)]
    first = listing(api)
    assert first["count"] == 25 and len(first["list"]) == 20
    assert first["paging"] == {"page": 1, "pageSize": 20}
    second = listing(api, page=2)
    assert second["count"] == 25 and len(second["list"]) == 5
    assert set(ids(first) + ids(second)) == set(made)


def test_page_beyond_the_end_is_empty(api: API) -> None:
    for _ in range(3):
        create(api)
    page = listing(api, page=5, pageSize=2)
    assert page == {
        "count": 3,
        "list": [],
        "paging": {"page": 5, "pageSize": 2},
        "has_more": False,
        "count_is_exact": True,
    }


def test_page_size_100_is_allowed(api: API) -> None:
    create(api)
    assert listing(api, pageSize=100)["paging"]["pageSize"] == 100


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": ""}, "page"),
        ({"pageSize": "0"}, "pageSize"),
        ({"pageSize": "101"}, "pageSize"),
        ({"pageSize": "abc"}, "pageSize"),
        ({"pageSize": "-5"}, "pageSize"),
    ],
)
@pytest.mark.parametrize("path", ["/api/customers", "/api/customers/search"])
def test_bad_paging_is_400(api: API, path: str, params: dict[str, str], param: str) -> None:
    query = {"query": "x"} if path.endswith("search") else {}
    r = api.get(path, params={**query, **params})
    assert_error(r, 400, "invalid_request", param)


def test_unknown_query_parameter_is_400(api: API) -> None:
    assert_error(
        api.get("/api/customers", params={"page_size": "5"}), 400, "unknown_parameter", "page_size"
    )


# -- ordering ------------------------------------------------------------------------------


def test_newest_first_when_created_quickly(api: API) -> None:
    made = [create(api)["id"] for _ in range(30)]
    assert ids(listing(api, pageSize=100)) == made[::-1]


def test_newest_first_within_the_same_millisecond(api: API, clock: Clock) -> None:
    made = [create(api)["id"] for _ in range(5)]
    clock.tick()
    made += [create(api)["id"] for _ in range(5)]
    assert ids(listing(api)) == made[::-1]
    assert ids(listing(api, order="created_at:DESC")) == made[::-1]


def test_created_at_ascending(api: API, clock: Clock) -> None:
    made = [create(api)["id"] for _ in range(4)]
    clock.tick()
    made += [create(api)["id"] for _ in range(4)]
    assert ids(listing(api, order="created_at:ASC")) == made


def test_updated_at_descending(api: API, clock: Clock) -> None:
    a, b, c = (create(api, {"name": n})["id"] for n in "abc")
    clock.tick()
    assert api.put(f"/api/customers/{a}", json={"name": "a2"}).status_code == 200
    assert ids(listing(api, order="updated_at:DESC")) == [a, c, b]
    assert ids(listing(api, order="updated_at:ASC")) == [b, c, a]


def test_name_ascending_and_descending(api: API) -> None:
    by_name = {n: create(api, {"name": n})["id"] for n in ("carol", "alice", "bob")}
    expected = [by_name["alice"], by_name["bob"], by_name["carol"]]
    assert ids(listing(api, order="name:ASC")) == expected
    assert ids(listing(api, order="name:DESC")) == expected[::-1]


def test_email_ascending(api: API) -> None:
    by_email = {e: create(api, {"email": f"{e}@example.com"})["id"] for e in ("c", "a", "b")}
    assert ids(listing(api, order="email:ASC")) == [by_email[e] for e in "abc"]


def test_order_as_qs_list(api: API) -> None:
    by_name = {n: create(api, {"name": n})["id"] for n in ("bob", "carol", "alice")}
    page = raw(api, "order[0]=name&order[1]=DESC")
    assert ids(page) == [by_name["carol"], by_name["bob"], by_name["alice"]]


def test_order_as_qs_list_of_pairs(api: API) -> None:
    by_name = {n: create(api, {"name": n})["id"] for n in ("bob", "carol", "alice")}
    page = raw(api, "order[0][0]=name&order[0][1]=ASC&order[1][0]=id&order[1][1]=DESC")
    assert ids(page) == [by_name["alice"], by_name["bob"], by_name["carol"]]


def test_order_as_qs_list_of_pairs_url_encoded(api: API) -> None:
    by_name = {n: create(api, {"name": n})["id"] for n in ("bob", "alice")}
    page = raw(api, "order%5B0%5D%5B0%5D=name&order%5B0%5D%5B1%5D=DESC")
    assert ids(page) == [by_name["bob"], by_name["alice"]]


def test_id_desc_as_second_key_orders_ties_descending(api: API, clock: Clock) -> None:
    # Equal names tie on the first key; `id DESC` then decides. Whether `id` is read literally or
    # as creation order, ascending creation order (the default for ASC) is not what was asked.
    made = [create(api, {"name": "same"})["id"] for _ in range(4)]
    page = raw(api, "order[0][0]=name&order[0][1]=ASC&order[1][0]=id&order[1][1]=DESC")
    assert ids(page) in (sorted(made, reverse=True), made[::-1])


def test_name_ties_fall_back_to_creation_order(api: API, clock: Clock) -> None:
    first = create(api, {"name": "a"})["id"]
    same = [create(api, {"name": "m"})["id"] for _ in range(3)]
    last = create(api, {"name": "z"})["id"]
    page = ids(listing(api, order="name:ASC"))
    assert page[0] == first and page[-1] == last
    assert page[1:4] == same


@pytest.mark.parametrize(
    "order",
    [
        "balance:ASC",
        "phone:DESC",
        "created_at:UP",
        "name:ascending",
        "nope",
        "created_at:DESC:extra",
    ],
)
def test_bad_order_is_400(api: API, order: str) -> None:
    assert_error(
        api.get("/api/customers", params={"order": order}), 400, "invalid_request", "order"
    )


@pytest.mark.parametrize(
    "query",
    ["order[0]=balance&order[1]=ASC", "order[0][0]=name&order[0][1]=SIDEWAYS", "order[a]=name"],
)
def test_bad_order_in_qs_form_is_400(api: API, query: str) -> None:
    assert_error(api.get(f"/api/customers?{query}"), 400, "invalid_request", "order")


# -- filters -------------------------------------------------------------------------------


def test_filter_by_did(api: API) -> None:
    did = new_did()
    target = create(api, {"did": did})
    create(api, {"did": new_did()})
    create(api)
    assert ids(listing(api, did=did)) == [target["id"]]
    assert ids(listing(api, did=f"did:abt:{did}")) == [target["id"]]
    assert listing(api, did=new_did())["count"] == 0


def test_filter_by_email_is_case_insensitive_and_exact(api: API) -> None:
    alice = create(api, {"email": "Alice@Example.com"})
    create(api, {"email": "malice@example.com"})
    create(api, {"email": "alice@example.org"})
    for email in ("alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com"):
        page = listing(api, email=email)
        assert page["count"] == 1 and ids(page) == [alice["id"]], email
    assert listing(api, email="lice@example.com")["count"] == 0
    assert listing(api, email="alice@example")["count"] == 0


@pytest.mark.parametrize("stored", ["José@Bücher.de", "José@xn--bcher-kva.de"])
def test_filter_by_email_normalises_like_create(api: API, stored: str) -> None:
    # Create stores an IDN domain in Unicode, lower-cased (rules.email); the filter reads its
    # input the same way, so every form create would accept finds the customer.
    jose = create(api, {"email": stored})
    assert jose["email"] == "José@bücher.de"
    create(api, {"email": "jose@bucher.de"})
    forms = [
        "josé@bücher.de",
        "JOSÉ@BÜCHER.DE",
        "José@xn--bcher-kva.de",
        "jose\u0301@XN--BCHER-KVA.DE",  # NFD é, punycode
        "  José@Bücher.DE  ",
        "José@ｂüｃｈｅｒ.de",  # full-width letters, as create folds them (NFKC)
    ]
    for email in forms:
        page = listing(api, email=email)
        assert ids(page) == [jose["id"]] and page["count"] == 1, email


@pytest.mark.parametrize("email", ["", "   ", "not an email", "jose@", "@bücher.de", "a" * 600])
def test_email_filter_create_would_refuse_matches_nothing(api: API, email: str) -> None:
    # Like a `did` filter that is no DID: no stored customer can have it, so the list is empty
    # (not a 400, and never "no filter").
    create(api, {"email": "jose@example.com"})
    create(api, {})
    page = listing(api, email=email)
    assert (page["count"], page["list"]) == (0, [])


def test_did_filter_normalises_like_create(api: API) -> None:
    did = new_did()
    c = create(api, {"did": f"did:abt:{did}"})
    for form in (did, f"did:abt:{did}", f"  {did} "):
        assert ids(listing(api, did=form)) == [c["id"]], form


def test_filter_by_metadata_dot_and_bracket_forms(api: API) -> None:
    gold = create(api, {"metadata": {"tier": "gold", "region": "eu"}})
    create(api, {"metadata": {"tier": "silver", "region": "eu"}})
    create(api, {"metadata": {"other": "gold"}})
    create(api)
    assert ids(raw(api, "metadata.tier=gold")) == [gold["id"]]
    assert ids(raw(api, "metadata[tier]=gold")) == [gold["id"]]
    assert ids(raw(api, "metadata%5Btier%5D=gold")) == [gold["id"]]
    assert raw(api, "metadata.region=eu")["count"] == 2
    assert ids(raw(api, "metadata.region=eu&metadata.tier=gold")) == [gold["id"]]
    assert raw(api, "metadata.tier=GOLD")["count"] == 0
    assert raw(api, "metadata.tier=bronze")["count"] == 0


def test_numbered_metadata_pages_end_where_the_matches_do(api: API) -> None:
    """Customers with several metadata keys: a numbered page of a metadata filter (creation
    order, one range of the metadata index) reads each customer once, and the last page says
    no more follow."""
    made = [
        api.post("/api/customers", json={"metadata": {"tier": "1", "zone": f"z{i}"}}).json()["id"]
        for i in range(4)
    ]
    pages = [
        api.get("/api/customers", params={"metadata.tier": "1", "page": p, "pageSize": 1}).json()
        for p in (1, 2, 3, 4)
    ]
    assert [c["id"] for page in pages for c in page["list"]] == made[::-1]
    assert [page["has_more"] for page in pages] == [True, True, True, False]


def test_filter_by_metadata_number_and_boolean(api: API) -> None:
    one = create(api, {"metadata": {"n": 1, "vip": True}})
    two = create(api, {"metadata": {"n": 2, "vip": False}})
    create(api, {"metadata": {"n": "1x"}})
    assert ids(raw(api, "metadata.n=1")) == [one["id"]]
    assert ids(raw(api, "metadata.vip=true")) == [one["id"]]
    assert ids(raw(api, "metadata.vip=false")) == [two["id"]]
    assert ids(raw(api, "metadata[n]=2")) == [two["id"]]


def test_metadata_filter_follows_updates(api: API) -> None:
    c = create(api, {"metadata": {"tier": "gold"}})
    assert (
        api.put(f"/api/customers/{c['id']}", json={"metadata": {"tier": None}}).status_code == 200
    )
    assert raw(api, "metadata.tier=gold")["count"] == 0
    assert (
        api.put(f"/api/customers/{c['id']}", json={"metadata": {"tier": "gold"}}).status_code == 200
    )
    assert ids(raw(api, "metadata.tier=gold")) == [c["id"]]


def test_filters_combine_with_paging(api: API) -> None:
    tagged = [create(api, {"metadata": {"t": "x"}})["id"] for _ in range(5)]
    create(api)
    page = raw(api, "metadata.t=x&page=2&pageSize=2")
    assert page["count"] == 5 and ids(page) == tagged[::-1][2:4]


# -- search --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["query", "q"])
def test_search_by_query_or_q(api: API, name: str) -> None:
    alice = create(api, {"name": "Alice Smith"})
    create(api, {"name": "Bob Jones"})
    page = listing(api, "/api/customers/search", **{name: "alice smith"})
    assert page["count"] == 1 and ids(page) == [alice["id"]]
    assert page["paging"] == {"page": 1, "pageSize": 20}


@pytest.mark.parametrize("params", [{}, {"query": ""}, {"query": "   "}, {"q": ""}])
def test_search_without_query_is_400(api: API, params: dict[str, str]) -> None:
    r = api.get("/api/customers/search", params=params)
    assert_error(r, 400, "invalid_request", "query")


def test_search_unknown_parameter_is_400(api: API) -> None:
    r = api.get("/api/customers/search", params={"query": "x", "email": "a@example.com"})
    assert_error(r, 400, "unknown_parameter", "email")


def test_search_matches_each_searchable_field_case_insensitively(api: API) -> None:
    did = new_did()
    c = create(
        api,
        {
            "did": did,
            "name": "Zebulon Quartz",
            "email": "Zeb.Q@Example.com",
            "phone": "+44 20 7946 0958",
        },
    )
    create(api, {"name": "Someone Else", "email": "else@example.org", "phone": "+15551234567"})
    # Ids and DIDs match by prefix (with or without cus_ / did:abt:); the rest by substring.
    for text in (
        c["id"][4:14],
        c["id"][:10],
        c["id"].upper(),
        did[:15],
        f"did:abt:{did[:12]}",
        did.lower(),
        "ZEBULON",
        "lon qua",
        "zeb.q@example",
        "ZEB.Q@EXAMPLE.COM",
        "7946",
        "+4420",
    ):
        page = search(api, text)
        assert ids(page) == [c["id"]], text


def test_search_non_ascii_case_insensitively(api: API) -> None:
    c = create(api, {"name": "Émile Zoëlla"})
    create(api, {"name": "Emile Zoella"})
    assert ids(search(api, "émile zoë")) == [c["id"]]
    assert ids(search(api, "ÉMILE ZOË")) == [c["id"]]


def test_search_does_not_look_at_other_fields(api: API) -> None:
    create(api, {"name": "x", "description": "unicorn", "metadata": {"pet": "unicorn"}})
    create(api, {"name": "y", "address": {"city": "Unicorn Town"}})
    assert search(api, "unicorn")["count"] == 0


def test_search_does_not_match_across_fields(api: API) -> None:
    create(api, {"name": "Zed", "email": "q@example.com"})
    assert search(api, "zed\nq@example")["count"] == 0


@pytest.mark.parametrize(
    ("needle", "hit", "misses"),
    [
        ("%", "100% cotton", ["plain", "one hundred"]),
        # every id contains "_" (cus_), so the needle has letters around it
        ("e_c", "snake_case", ["snakecase", "snakeXcase", "snake case"]),
        ("a_c", "a_c", ["abc", "a-c"]),
        ("1%0", "1%0", ["100", "1x0"]),
        ("\\", "back\\slash", ["backslash", "back/slash"]),
        ("\\%", "odd\\%name", ["odd%name", "odd\\name"]),
    ],
)
def test_like_wildcards_are_literal(api: API, needle: str, hit: str, misses: list[str]) -> None:
    target = create(api, {"name": hit})
    for name in misses:
        create(api, {"name": name})
    page = search(api, needle)
    assert page["count"] == 1 and ids(page) == [target["id"]], page


def test_search_results_are_paged_newest_first(api: API) -> None:
    made = [create(api, {"name": f"Paged Person {i}"})["id"] for i in range(7)]
    for i in range(3):
        create(api, {"name": f"Other {i}"})
    seen: list[str] = []
    for page_no, size in ((1, 3), (2, 3), (3, 1)):
        page = search(api, "paged person", page=page_no, pageSize=3)
        assert page["count"] == 7
        assert page["paging"] == {"page": page_no, "pageSize": 3}
        assert len(page["list"]) == size
        seen += ids(page)
    assert seen == made[::-1]
    assert search(api, "paged person", page=4, pageSize=3)["list"] == []


def test_search_is_read_after_write(api: API) -> None:
    c = create(api, {"name": "Fresh Face"})
    assert ids(search(api, "fresh face")) == [c["id"]]
    assert api.put(f"/api/customers/{c['id']}", json={"name": "Renamed Person"}).status_code == 200
    assert search(api, "fresh face")["count"] == 0
    assert ids(search(api, "renamed")) == [c["id"]]
    assert api.put(f"/api/customers/{c['id']}", json={"email": "ff@example.com"}).status_code == 200
    assert ids(search(api, "ff@example")) == [c["id"]]
    assert api.delete(f"/api/customers/{c['id']}").status_code == 200
    assert search(api, "renamed")["count"] == 0
