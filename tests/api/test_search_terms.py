"""Search terms of every kind the contract names, and counts past 10,000 (API.md, Customers:
search; Conventions: counts)."""

from __future__ import annotations

from typing import Any

from paymentkit.schemas.customers import CustomerInput
from paymentkit.server.customers import service
from paymentkit.server.db.engine import Database
from tests.conftest import API


def create(api: API, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/api/customers", json=body)
    assert r.status_code == 201, r.text
    customer: dict[str, Any] = r.json()
    return customer


def found(api: API, query: str, **params: Any) -> dict[str, Any]:
    r = api.get("/api/customers/search", params={"query": query, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [c["id"] for c in body["list"]]


DID = "zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ"


def test_every_kind_of_term(api: API) -> None:
    c = create(
        api,
        {
            "did": DID,
            "name": "Zoë Straße-İstanbul",
            "email": "Zoe.Q@Example.com",
            "phone": "+442079460958",
        },
    )
    other = create(api, {"name": "Someone Else", "phone": "+15551234567"})
    expected = {
        "zoe.q@example.com": [c["id"]],  # an exact email
        "ZOE.Q@": [c["id"]],  # an email prefix
        "strasse": [c["id"]],  # ß folds to ss
        "ISTANBUL": [c["id"]],  # İ folds to i
        "zoë": [c["id"]],
        "0958": [c["id"]],  # a phone fragment
        "58": [c["id"]],  # two characters at the very end of the text
        "67": [other["id"]],
        "q@": [c["id"]],  # two characters around punctuation
        DID[:8]: [c["id"]],  # a DID prefix
        f"did:abt:{DID[:6]}": [c["id"]],
        DID.upper(): [c["id"]],
        c["id"][4:12]: [c["id"]],  # an id without cus_
        "qqqzzz": [],  # nothing
        "xq": [],
        DID[10:20]: [],  # DIDs match by prefix only
    }
    for term, want in expected.items():
        body = found(api, term)
        assert ids(body) == want, term
        assert body["count"] == len(want) and body["count_is_exact"] is True, term
        assert body["has_more"] is False


def test_one_letter_terms_walk_and_count(api: API) -> None:
    made = [create(api, {"name": f"Q{i} Person"})["id"] for i in range(7)]
    body = found(api, "q", limit=3)
    assert ids(body) == made[::-1][:3]
    assert body["count"] == 7 and body["has_more"] is True


def test_a_renamed_customer_is_found_by_the_next_search(api: API) -> None:
    c = create(api, {"name": "Before Name"})
    assert ids(found(api, "before")) == [c["id"]]
    assert api.put(f"/api/customers/{c['id']}", json={"name": "After Name"}).status_code == 200
    assert ids(found(api, "before")) == []
    assert ids(found(api, "after")) == [c["id"]]
    assert ids(found(api, "af")) == [c["id"]]
    assert api.delete(f"/api/customers/{c['id']}").status_code == 200
    assert ids(found(api, "after")) == []


def test_counts_past_ten_thousand_are_flagged_and_has_more_stays_exact(
    api: API, db: Database
) -> None:
    def bulk(tx: Any) -> None:
        for i in range(10_001):
            metadata = {"k": "v", "j": True, "h": i % 2 == 0}
            data = CustomerInput(name=f"Common {i}", metadata=metadata)
            service.create(tx, False, data)

    db.run_sync(bulk, write=True)
    rare = create(api, {"name": "Rare One", "metadata": {"k": "w"}})
    for path, params in (
        ("/api/customers/search", {"query": "common"}),
        ("/api/customers/search", {"query": "co"}),
        ("/api/customers", {"metadata.k": "v", "metadata.j": "true"}),
    ):
        body = api.get(path, params={**params, "limit": 100}).json()
        assert body["count_is_exact"] is False and body["count"] > 10_000, path
        assert body["has_more"] is True and len(body["list"]) == 100
    # The unfiltered list and a single metadata filter count exactly from their counters, and
    # small filters count exactly.
    everything = api.get("/api/customers").json()
    assert everything["count"] == 10_002 and everything["count_is_exact"] is True
    one = api.get("/api/customers", params={"metadata.k": "v"}).json()
    assert (one["count"], one["count_is_exact"]) == (10_001, True)
    half = api.get("/api/customers", params={"metadata.h": "true"}).json()
    assert (half["count"], half["count_is_exact"]) == (5_001, True)
    body = api.get("/api/customers", params={"metadata.k": "w"}).json()
    assert (body["count"], body["count_is_exact"], ids(body)) == (1, True, [rare["id"]])
    # Numbered pages past the middle (read from the end) agree with cursor pages.
    last = api.get("/api/customers", params={"page": 101, "pageSize": 100}).json()
    assert len(last["list"]) == 2 and last["has_more"] is False
    before = api.get(
        "/api/customers", params={"ending_before": last["list"][0]["id"], "limit": 100}
    ).json()
    page_100 = api.get("/api/customers", params={"page": 100, "pageSize": 100}).json()
    assert ids(before) == ids(page_100)


def test_metadata_counts_follow_every_write(api: API) -> None:
    def count(value: str) -> int:
        body = api.get("/api/customers", params={"metadata.tier": value}).json()
        assert body["count_is_exact"] is True
        assert body["count"] == len(body["list"])
        return int(body["count"])

    a = create(api, {"metadata": {"tier": "gold"}})
    b = create(api, {"metadata": {"tier": "gold", "x": "1"}})
    assert (count("gold"), count("silver")) == (2, 0)
    api.put(f"/api/customers/{a['id']}", json={"metadata": {"tier": "silver"}})
    assert (count("gold"), count("silver")) == (1, 1)
    api.put(f"/api/customers/{a['id']}", json={"metadata": {"x": "2"}})  # merge keeps tier
    assert (count("gold"), count("silver")) == (1, 1)
    api.put(f"/api/customers/{b['id']}", json={"metadata": None})
    assert count("gold") == 0
    api.delete(f"/api/customers/{a['id']}")
    assert count("silver") == 0
