"""A first end-to-end pass over the customers routes; detailed cases live beside it."""

from __future__ import annotations

from tests.conftest import API


def test_create_retrieve_update_list_search_delete(api: API) -> None:
    r = api.post(
        "/api/customers",
        json={
            "name": "John Doe",
            "email": "john.doe@example.com",
            "phone": "+15551234567",
            "did": "did:abt:zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",
            "address": {"country": "us", "city": "Seattle"},
            "metadata": {"tier": "gold"},
        },
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["id"].startswith("cus_") and len(c["id"]) == 28
    assert c["did"] == "zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ"
    assert c["address"]["country"] == "US"
    assert c["balance"] == "0" and c["livemode"] is False
    assert r.headers["x-request-id"].startswith("req_")

    assert api.get(f"/api/customers/{c['id']}").json() == c
    assert api.get(f"/api/customers/did:abt:{c['did']}").json() == c

    u = api.put(f"/api/customers/{c['id']}", json={"metadata": {"internal_id": "42"}})
    assert u.status_code == 200
    assert u.json()["metadata"] == {"tier": "gold", "internal_id": "42"}

    page = api.get("/api/customers", params={"page": 1, "pageSize": 5}).json()
    assert page["count"] == 1 and page["paging"] == {"page": 1, "pageSize": 5}

    found = api.get("/api/customers/search", params={"query": "JOHN.doe"}).json()
    assert [x["id"] for x in found["list"]] == [c["id"]]

    d = api.delete(f"/api/customers/{c['id']}")
    assert d.json() == {"id": c["id"], "object": "customer", "deleted": True}
    assert api.get(f"/api/customers/{c['id']}").status_code == 404
