"""Every billing list takes `order` in the forms the Node client's types allow."""

from __future__ import annotations

import pytest

from tests.api.billing.helpers import body, make_method
from tests.conftest import API

FORMS = {
    "string": "order=created_at:ASC",
    "pair": "order[0]=created_at&order[1]=ASC",
    "pairs": "order[0][0]=created_at&order[0][1]=ASC&order[1][0]=id&order[1][1]=DESC",
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_methods_list_in_each_order_form(api: API, form: str) -> None:
    made = [make_method(api, name=f"m{i}")["id"] for i in range(4)]
    oldest_first = body(api.get(f"/api/payment-methods?{FORMS[form]}"), 200)
    assert [m["id"] for m in oldest_first["list"]] == made
    newest_first = body(api.get("/api/payment-methods"), 200)
    assert [m["id"] for m in newest_first["list"]] == made[::-1]


def test_order_by_id_means_creation_order(api: API) -> None:
    made = [make_method(api, name=f"m{i}")["id"] for i in range(3)]
    listed = body(api.get("/api/payment-methods?order=id:DESC"), 200)
    assert [m["id"] for m in listed["list"]] == made[::-1]


@pytest.mark.parametrize(
    "path",
    ["/api/payment-methods", "/api/payment-currencies", "/api/subscriptions", "/api/invoices"],
)
@pytest.mark.parametrize("order", ["name:ASC", "created_at:SIDEWAYS", "amount_due:DESC"])
def test_unknown_order_is_a_400_naming_order(api: API, path: str, order: str) -> None:
    r = api.get(f"{path}?order={order}")
    assert r.status_code == 400
    assert r.json()["param"] == "order"
