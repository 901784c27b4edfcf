"""The customers list and a customer's page, read and written through the dashboard and
checked through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from tests.api.billing.helpers import (
    Billing,
    body,
    invoice_in,
    make_currency,
    make_customer,
    make_invoice,
    make_method,
    make_subscription,
    uncollectible,
)
from tests.conftest import API
from tests.dashboard.conftest import Visitor, field_error, text


def ids_on(r: Any) -> list[str]:
    """The customer ids the list page links to, in order."""
    return re.findall(r'href="/dashboard/customers/(cus_[0-9A-Za-z]+)"', r.text)


def customers(api: API, n: int, **fields: Any) -> list[dict[str, Any]]:
    return [
        make_customer(api, name=f"Person {i:02d}", email=f"p{i}@example.com", **fields)
        for i in range(n)
    ]


def test_the_list_shows_the_modes_customers_newest_first(
    signed_in: Visitor, api: API, live_api: API
) -> None:
    made = customers(api, 3)
    live = make_customer(live_api, name="Live One")
    r = signed_in.get("/dashboard/")
    assert r.status_code == 200
    assert ids_on(r) == [c["id"] for c in reversed(made)]
    assert live["id"] not in r.text and "3 customers" in text(r)


def test_the_empty_list_says_what_to_do(signed_in: Visitor) -> None:
    page = text(signed_in.get("/dashboard/"))
    assert "No customers in test mode yet" in page and "POST /api/customers" in page


def test_search_is_the_apis(signed_in: Visitor, api: API) -> None:
    made = customers(api, 3)
    target = make_customer(api, name="Zoë Ünicode", email="zoe@example.org")
    r = signed_in.get("/dashboard/", params={"q": "ZOË"})
    assert ids_on(r) == [target["id"]] and "1 customer match" in text(r)
    r = signed_in.get("/dashboard/", params={"q": made[1]["id"][4:12]})
    assert ids_on(r) == [made[1]["id"]]
    r = signed_in.get("/dashboard/", params={"q": "nobody-like-this"})
    assert ids_on(r) == [] and "No customer matches" in text(r)
    r = signed_in.get("/dashboard/", params={"q": "x" * 600})
    assert r.status_code == 400 and field_error(r, "q")
    # search answers without the export link (the export takes filters, not a search)
    assert "Export CSV" not in signed_in.get("/dashboard/", params={"q": "Person"}).text


def test_htmx_search_gets_the_results(signed_in: Visitor, api: API) -> None:
    target = make_customer(api, name="Grace Hopper")
    customers(api, 2)
    r = signed_in.get("/dashboard/", params={"q": "grace"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="results"' in r.text
    assert ids_on(r) == [target["id"]]


def test_filters(signed_in: Visitor, api: API) -> None:
    b = Billing(api)
    made = customers(api, 4)
    tagged = make_customer(api, name="Tagged", metadata={"tier": "gold"})
    did_one = make_customer(api, name="Has DID")
    uncollectible(api, make_invoice(api, made[2]["id"], b.currency["id"]))

    def listed(**params: str) -> list[str]:
        r = signed_in.get("/dashboard/", params=params)
        assert r.status_code == 200, r.text
        return ids_on(r)

    assert listed(email="P1@EXAMPLE.COM") == [made[1]["id"]]
    assert listed(did=did_one["did"]) == [did_one["id"]]
    assert listed(did="did:abt:" + did_one["did"]) == [did_one["id"]]
    assert listed(metadata="tier=gold") == [tagged["id"]]
    assert listed(metadata="tier = gold") == [tagged["id"]]
    assert listed(delinquent="true") == [made[2]["id"]]
    everyone = listed(pageSize="100")
    assert listed(delinquent="false", pageSize="100") == [i for i in everyone if i != made[2]["id"]]
    assert listed(delinquent="true", email="p2@example.com") == [made[2]["id"]]
    assert listed(delinquent="true", email="p1@example.com") == []
    r = signed_in.get("/dashboard/", params={"metadata": "no-equals-sign"})
    assert r.status_code == 400 and field_error(r, "metadata")


@pytest.mark.parametrize(
    ("order", "key", "reverse"),
    [
        ("name:ASC", "name", False),
        ("name:DESC", "name", True),
        ("email:ASC", "email", False),
        ("created_at:ASC", None, False),
    ],
)
def test_sort_by_the_apis_orders(
    signed_in: Visitor, api: API, order: str, key: str | None, reverse: bool
) -> None:
    made = [
        make_customer(api, name=n, email=f"{n.lower()}@example.com")
        for n in ("Carol", "alice", "Bob", "Dave")
    ]
    expected = (
        [c["id"] for c in made]
        if key is None
        else [c["id"] for c in sorted(made, key=lambda c: c[key], reverse=reverse)]
    )
    r = signed_in.get("/dashboard/", params={"order": order})
    assert ids_on(r) == expected
    assert f'value="{order}" selected' in r.text


def test_cursor_pages_both_ways(signed_in: Visitor, api: API) -> None:
    made = customers(api, 45)
    newest = [c["id"] for c in reversed(made)]
    first = signed_in.get("/dashboard/")
    assert ids_on(first) == newest[:20] and "45 customers" in text(first)
    assert 'rel="prev"' not in first.text
    nxt = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert nxt is not None
    second = signed_in.get(nxt.group(1).replace("&amp;", "&"))
    assert ids_on(second) == newest[20:40]
    third = signed_in.get(
        re.search(r'href="([^"]+)" rel="next"', second.text).group(1).replace("&amp;", "&")
    )  # type: ignore[union-attr]
    assert ids_on(third) == newest[40:] and 'rel="next"' not in third.text
    back = signed_in.get(
        re.search(r'href="([^"]+)" rel="prev"', third.text).group(1).replace("&amp;", "&")
    )  # type: ignore[union-attr]
    assert ids_on(back) == newest[20:40]
    r = signed_in.get("/dashboard/", params={"starting_after": "cus_doesnotexist"})
    assert r.status_code == 400 and "starting_after" in text(r)


def test_export_csv_streams_the_filtered_export(
    signed_in: Visitor, api: API, live_api: API
) -> None:
    customers(api, 3, metadata={"team": "a"})
    other = make_customer(api, name="Other", metadata={"team": "b"})
    make_customer(live_api, name="Live", metadata={"team": "a"})
    page = signed_in.get("/dashboard/", params={"metadata": "team=a"})
    link = re.search(r'href="(/dashboard/customers/export\.csv[^"]*)"', page.text)
    assert link is not None
    r = signed_in.get(link.group(1).replace("&amp;", "&"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    api_rows = list(
        csv.DictReader(
            io.StringIO(
                api.get(
                    "/api/customers/export", params={"format": "csv", "metadata.team": "a"}
                ).text
            )
        )
    )
    assert rows == api_rows and len(rows) == 3 and other["id"] not in r.text


def test_customer_page_shows_profile_overdue_invoices_subscriptions_and_events(
    signed_in: Visitor, api: API
) -> None:
    method = make_method(api, settings={"api_key": "sk_secret_value_123"})
    usd = make_currency(api, method["id"], symbol="USD", decimal=2)
    abt = make_currency(api, method["id"], name="ABT", symbol="ABT", decimal=18)
    c = make_customer(
        api, name="Ada", email="ada@example.com", metadata={"tier": "gold", "seats": 3}
    )
    sub = make_subscription(api, c["id"], usd["id"])
    uncollectible(
        api, make_invoice(api, c["id"], usd["id"], "5000", subscription_id=sub["id"]), "1"
    )
    uncollectible(api, make_invoice(api, c["id"], abt["id"], str(2**70 + 5)))
    draft = make_invoice(api, c["id"], usd["id"], "1999")
    r = signed_in.get(f"/dashboard/customers/{c['id']}")
    assert r.status_code == 200
    page = text(r)
    assert "49.99 USD" in page  # 5000 - 1 remaining, 2 decimals
    assert "1180.591620717411303429 ABT" in page  # 2^70 + 5 with 18 decimals, exact
    assert "2 uncollectible invoices, from 1 subscription" in page
    assert "delinquent" in page and draft["id"] in page and sub["id"] in page
    assert "sk_secret_value_123" not in r.text
    assert 'href="/dashboard/invoices/' + draft["id"] + '/finalize"' in r.text
    assert "seats=3" in r.text and "tier=gold" in r.text
    assert "customer.created" in page and "invoice.marked_uncollectible" in page
    assert f'datetime="{c["created_at"]}"' in r.text


def test_another_modes_or_a_missing_customer_is_404(signed_in: Visitor, live_api: API) -> None:
    live = make_customer(live_api, name="Live")
    for path in (
        f"/dashboard/customers/{live['id']}",
        "/dashboard/customers/cus_missing",
        f"/dashboard/customers/{live['id']}/delete",
    ):
        r = signed_in.get(path)
        assert r.status_code == 404, path
        assert "Live" not in text(r).replace("Live One", "")
    r = signed_in.post(f"/dashboard/customers/{live['id']}", {"name": "Hijack"})
    assert r.status_code == 404
    r = signed_in.post(f"/dashboard/customers/{live['id']}/delete")
    assert r.status_code == 404
    assert live_api.get(f"/api/customers/{live['id']}").json()["name"] == "Live"


def form_of(c: dict[str, Any], **changes: str) -> dict[str, str]:
    address = c.get("address") or {}
    form = {
        "name": c.get("name") or "",
        "email": c.get("email") or "",
        "phone": c.get("phone") or "",
        "description": c.get("description") or "",
        "metadata": "\n".join(
            f"{k}={v if isinstance(v, str) else str(v).lower()}" for k, v in c["metadata"].items()
        ),
        **{
            f"address.{f}": address.get(f) or ""
            for f in ("country", "state", "city", "line1", "line2", "postal_code")
        },
    }
    form.update(changes)
    return form


def test_edit_saves_through_the_api_and_records_who_did_it(
    signed_in: Visitor, api: API, db: Any
) -> None:
    c = make_customer(
        api, name="Ada", email="ada@example.com", metadata={"tier": "gold", "seats": 3, "old": "x"}
    )
    r = signed_in.post(
        f"/dashboard/customers/{c['id']}",
        form_of(
            c,
            name="  Ada Lovelace ",
            phone="+44 20 7946 0958",
            **{"address.country": "gb", "metadata": "tier=platinum\nseats=3\nnew=1"},
        ),
    )
    assert (
        r.status_code == 303
        and r.headers["location"] == f"/dashboard/customers/{c['id']}?notice=saved"
    )
    after = body(api.get(f"/api/customers/{c['id']}"), 200)
    assert after["name"] == "Ada Lovelace" and after["phone"] == "+442079460958"
    assert after["address"]["country"] == "GB"
    assert after["metadata"] == {"tier": "platinum", "seats": 3, "new": "1"}
    assert "Saved." in text(signed_in.follow(r))
    events = body(
        api.get("/api/events", params={"object_id": c["id"], "type": "customer.updated"}), 200
    )["list"]
    assert len(events) == 1
    key_id = db.run_sync(lambda tx: tx.scalar("SELECT key_id FROM dashboard_sessions"))
    assert events[0]["request"]["requested_by"] == key_id
    assert events[0]["request"]["id"].startswith("req_")
    assert events[0]["data"]["previous_attributes"]["name"] == "Ada"
    # clearing a field sends null
    r = signed_in.post(f"/dashboard/customers/{c['id']}", form_of(after, email=""))
    assert r.status_code == 303 and body(api.get(f"/api/customers/{c['id']}"), 200)["email"] is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "email"),
        ({"phone": "12345"}, "phone", "phone"),
        ({"address.country": "XX"}, "address.country", "country"),
        ({"name": "n" * 300}, "name", "256"),
        ({"metadata": "bad line"}, "metadata", "key=value"),
        ({"metadata": "k" * 41 + "=v"}, "metadata", "40"),
        ({"did": "not-a-did"}, "did", "DID"),
    ],
)
def test_validation_errors_show_at_their_field_and_keep_the_input(
    signed_in: Visitor, api: API, changes: dict[str, str], field: str, message: str
) -> None:
    c = make_customer(api, name="Ada", did=None)
    r = signed_in.post(f"/dashboard/customers/{c['id']}", form_of(c, **changes))
    assert r.status_code == 400
    error = field_error(r, field)
    assert error is not None and message.lower() in error.lower(), error
    typed = next(iter(changes.values()))
    assert typed.split("\n")[0] in r.text  # what was typed is kept
    assert body(api.get(f"/api/customers/{c['id']}"), 200)["updated_at"] == c["updated_at"]


def test_a_taken_did_is_a_409_at_its_field(signed_in: Visitor, api: API) -> None:
    other = make_customer(api)
    c = body(api.post("/api/customers", json={"name": "No DID"}), 201)
    r = signed_in.post(f"/dashboard/customers/{c['id']}", form_of(c, did=other["did"]))
    assert r.status_code == 409 and field_error(r, "did")


def test_delete_follows_the_apis_rule(signed_in: Visitor, api: API) -> None:
    b = Billing(api)
    invoice = b.invoice_in("open")
    path = f"/dashboard/customers/{b.customer['id']}/delete"
    assert "Delete" in text(signed_in.get(path))
    r = signed_in.post(path)
    assert r.status_code == 409 and "not paid or void" in text(r)
    invoice_in(api, make_invoice(api, b.customer["id"], b.currency["id"]), "void")
    api.post(f"/api/invoices/{invoice['id']}/void")
    signed_in.get(path)
    r = signed_in.post(path)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/?notice=deleted"
    assert api.get(f"/api/customers/{b.customer['id']}").status_code == 404
    assert signed_in.get(f"/dashboard/customers/{b.customer['id']}").status_code == 404
