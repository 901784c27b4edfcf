"""Invoice actions, subscription cancel and event resend from the dashboard: a confirmation
page first, then the API's own transition; refusals shown on that page. Both databases."""

from __future__ import annotations

import re

import pytest

from tests.api.billing.helpers import (
    Billing,
    body,
    get_invoice,
    make_currency,
    make_invoice,
    make_subscription,
    uncollectible,
)
from tests.conftest import API
from tests.dashboard.conftest import Visitor, field_error, text


def overdue_total(api: API, customer_id: str, currency_id: str) -> str:
    summary = body(api.get(f"/api/customers/{customer_id}/overdue/invoices"), 200)["summary"]
    return str(summary[currency_id]["amount"]) if currency_id in summary else "0"


def test_pay_part_then_the_rest(signed_in: Visitor, api: API) -> None:
    b = Billing(api)
    invoice = uncollectible(api, b.invoice("5000"))
    confirm = signed_in.get(f"/dashboard/invoices/{invoice['id']}/pay")
    assert confirm.status_code == 200
    assert 'value="50.00"' in confirm.text and "50.00 USD" in text(confirm)
    r = signed_in.post(f"/dashboard/invoices/{invoice['id']}/pay", {"amount": "12.5"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/dashboard/customers/{b.customer['id']}?notice=pay"
    after = get_invoice(api, invoice["id"])
    assert after["amount_paid"] == "1250" and after["status"] == "uncollectible"
    assert overdue_total(api, b.customer["id"], b.currency["id"]) == "3750"
    page = text(signed_in.follow(r))
    assert "37.50 USD" in page and "The payment was recorded." in page
    signed_in.get(f"/dashboard/invoices/{invoice['id']}/pay")
    r = signed_in.post(f"/dashboard/invoices/{invoice['id']}/pay", {"amount": "37.50"})
    assert r.status_code == 303 and get_invoice(api, invoice["id"])["status"] == "paid"
    assert "Nothing overdue" in text(signed_in.follow(r))


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("60", "amount"),  # more than remains: the API's rule
        ("0", "greater than zero"),
        ("-1", "greater than zero"),
        ("1.234", "decimal places"),
        ("ten", "number"),
        ("", "number"),
    ],
)
def test_a_refused_payment_shows_at_the_amount(
    signed_in: Visitor, api: API, typed: str, message: str
) -> None:
    b = Billing(api)
    invoice = b.invoice_in("open", "5000")
    signed_in.get(f"/dashboard/invoices/{invoice['id']}/pay")
    r = signed_in.post(f"/dashboard/invoices/{invoice['id']}/pay", {"amount": typed})
    assert r.status_code == 400
    error = field_error(r, "amount")
    assert error is not None and message in error, error
    assert get_invoice(api, invoice["id"])["amount_paid"] == "0"


def test_eighteen_decimals_are_exact(signed_in: Visitor, api: API) -> None:
    b = Billing(api)
    abt = make_currency(api, b.method["id"], name="ABT", symbol="ABT", decimal=18)
    due = 2**70 + 7
    invoice = uncollectible(api, make_invoice(api, b.customer["id"], abt["id"], str(due)))
    signed_in.get(f"/dashboard/invoices/{invoice['id']}/pay")
    r = signed_in.post(
        f"/dashboard/invoices/{invoice['id']}/pay", {"amount": "0.000000000000000001"}
    )
    assert r.status_code == 303
    assert get_invoice(api, invoice["id"])["amount_remaining"] == str(due - 1)
    page = text(signed_in.follow(r))
    assert "1180.591620717411303430 ABT" in page  # (2^70 + 6) / 10^18


@pytest.mark.parametrize(
    ("start", "action", "status"),
    [
        ("draft", "finalize", "open"),
        ("open", "mark_uncollectible", "uncollectible"),
        ("open", "void", "void"),
        ("uncollectible", "void", "void"),
    ],
)
def test_transitions(signed_in: Visitor, api: API, start: str, action: str, status: str) -> None:
    b = Billing(api)
    invoice = b.invoice_in(start)
    page = signed_in.get(f"/dashboard/customers/{b.customer['id']}")
    assert f'href="/dashboard/invoices/{invoice["id"]}/{action}"' in page.text
    confirm = signed_in.get(f"/dashboard/invoices/{invoice['id']}/{action}")
    assert confirm.status_code == 200 and "invoice?" in text(confirm)
    r = signed_in.post(f"/dashboard/invoices/{invoice['id']}/{action}")
    assert r.status_code == 303
    assert get_invoice(api, invoice["id"])["status"] == status


def test_a_transition_its_status_forbids_is_a_409_on_the_page(signed_in: Visitor, api: API) -> None:
    b = Billing(api)
    invoice = b.invoice_in("paid")
    page = signed_in.get(f"/dashboard/customers/{b.customer['id']}")
    assert f"/dashboard/invoices/{invoice['id']}/void" not in page.text  # no button for it
    signed_in.get(f"/dashboard/invoices/{invoice['id']}/void")
    r = signed_in.post(f"/dashboard/invoices/{invoice['id']}/void")
    assert r.status_code == 409 and "Cannot void an invoice whose status is paid" in text(r)


def test_actions_need_csrf_and_the_mode(signed_in: Visitor, api: API, live_api: API) -> None:
    b = Billing(api)
    invoice = b.invoice_in("open")
    r = signed_in.post(f"/dashboard/invoices/{invoice['id']}/void", csrf=False)
    assert r.status_code == 403 and get_invoice(api, invoice["id"])["status"] == "open"
    live = Billing(live_api).invoice_in("open")
    assert signed_in.get(f"/dashboard/invoices/{live['id']}/void").status_code == 404
    assert signed_in.post(f"/dashboard/invoices/{live['id']}/void").status_code == 404
    assert get_invoice(live_api, live["id"])["status"] == "open"
    assert signed_in.get(f"/dashboard/invoices/{invoice['id']}/explode").status_code == 404


def test_cancel_a_subscription(signed_in: Visitor, api: API, live_api: API) -> None:
    b = Billing(api)
    sub = make_subscription(api, b.customer["id"], b.currency["id"])
    page = signed_in.get(f"/dashboard/customers/{b.customer['id']}")
    assert f"/dashboard/subscriptions/{sub['id']}/cancel" in page.text
    assert "Cancel subscription?" in text(
        signed_in.get(f"/dashboard/subscriptions/{sub['id']}/cancel")
    )
    r = signed_in.post(f"/dashboard/subscriptions/{sub['id']}/cancel")
    assert r.status_code == 303 and "canceled" in r.headers["location"]
    assert body(api.get(f"/api/subscriptions/{sub['id']}"), 200)["status"] == "canceled"
    again = signed_in.post(f"/dashboard/subscriptions/{sub['id']}/cancel")
    assert again.status_code == 409
    live = Billing(live_api)
    live_sub = make_subscription(live_api, live.customer["id"], live.currency["id"])
    assert signed_in.post(f"/dashboard/subscriptions/{live_sub['id']}/cancel").status_code == 404


def test_resend_an_event(signed_in: Visitor, api: API) -> None:
    b = Billing(api)
    event = body(api.get("/api/events", params={"object_id": b.customer["id"]}), 200)["list"][0]
    page = signed_in.get(f"/dashboard/customers/{b.customer['id']}")
    assert f'action="/dashboard/events/{event["id"]}/resend"' in page.text
    r = signed_in.post(
        f"/dashboard/events/{event['id']}/resend",
        {"back": f"/dashboard/customers/{b.customer['id']}#events"},
    )
    assert r.status_code == 303
    assert (
        r.headers["location"]
        == f"/dashboard/customers/{b.customer['id']}?notice=resent_nowhere#events"
    )
    r = signed_in.post("/dashboard/events/evt_missing/resend", {"back": "https://evil.example/"})
    assert r.status_code == 404


def test_the_same_payment_form_sent_twice_pays_once(signed_in: Visitor, api: API) -> None:
    b = Billing(api)
    invoice = uncollectible(api, b.invoice("5000"))
    confirm = signed_in.get(f"/dashboard/invoices/{invoice['id']}/pay")
    key = re.search(r'name="form_key" value="([^"]+)"', confirm.text)
    assert key is not None
    form = {"amount": "10", "form_key": key.group(1)}
    first = signed_in.post(f"/dashboard/invoices/{invoice['id']}/pay", form)
    second = signed_in.post(f"/dashboard/invoices/{invoice['id']}/pay", form)
    assert first.status_code == second.status_code == 303
    assert get_invoice(api, invoice["id"])["amount_paid"] == "1000"
    # a refused form frees its key: the corrected one goes through
    again = signed_in.get(f"/dashboard/invoices/{invoice['id']}/pay")
    fresh = re.search(r'name="form_key" value="([^"]+)"', again.text).group(1)  # type: ignore[union-attr]
    bad = signed_in.post(
        f"/dashboard/invoices/{invoice['id']}/pay", {"amount": "999", "form_key": fresh}
    )
    assert bad.status_code == 400
    ok = signed_in.post(
        f"/dashboard/invoices/{invoice['id']}/pay", {"amount": "5", "form_key": fresh}
    )
    assert ok.status_code == 303 and get_invoice(api, invoice["id"])["amount_paid"] == "1500"
