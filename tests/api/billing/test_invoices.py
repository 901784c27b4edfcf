"""Invoices: create as draft, retrieve, list with filters, and the four transitions — every
(action, status) pair — and payments (API.md, Billing objects behind it)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from paymentkit.server.invoices import rules
from tests.api.billing.helpers import (
    ACTIONS,
    INVOICE_STATUSES,
    TIMESTAMP_OF,
    Billing,
    act,
    assert_amounts,
    assert_error,
    body,
    get_invoice,
    ids,
    invoice_in,
    list_all,
    make_currency,
    make_customer,
    make_invoice,
    make_subscription,
    now_s,
    pay,
)
from tests.conftest import API

ID_RE = re.compile(r"^in_[0-9A-Za-z]{24}$")
INVOICE_KEYS = {
    "id",
    "object",
    "customer_id",
    "currency_id",
    "subscription_id",
    "status",
    "amount_due",
    "amount_paid",
    "amount_remaining",
    "due_date",
    "period_start",
    "period_end",
    "description",
    "status_transitions",
    "livemode",
    "metadata",
    "created_at",
    "updated_at",
}
NO_TRANSITIONS = {
    "finalized_at": None,
    "marked_uncollectible_at": None,
    "paid_at": None,
    "voided_at": None,
}


@pytest.fixture
def billing(api: API) -> Billing:
    return Billing(api)


# -- create and retrieve ------------------------------------------------------------------------


def test_create_is_a_draft(api: API, billing: Billing) -> None:
    sub = make_subscription(api, billing.customer["id"], billing.currency["id"])
    r = api.post(
        "/api/invoices",
        json={
            "customer_id": billing.customer["id"],
            "currency_id": billing.currency["id"],
            "subscription_id": sub["id"],
            "amount_due": "2500",
            "description": "  March  ",
            "due_date": 1_700_000_000,
            "period_start": 1_690_000_000,
            "period_end": 1_695_000_000,
            "metadata": {"order": "42"},
        },
    )
    inv = body(r, 201)
    assert set(inv) == INVOICE_KEYS and ID_RE.match(inv["id"])
    assert inv["object"] == "invoice" and inv["status"] == "draft"
    assert (inv["customer_id"], inv["currency_id"], inv["subscription_id"]) == (
        billing.customer["id"],
        billing.currency["id"],
        sub["id"],
    )
    assert_amounts(inv, 2500, 0)
    assert (inv["due_date"], inv["period_start"], inv["period_end"]) == (
        1_700_000_000,
        1_690_000_000,
        1_695_000_000,
    )
    assert inv["description"] == "March" and inv["metadata"] == {"order": "42"}
    assert inv["status_transitions"] == NO_TRANSITIONS
    assert inv["livemode"] is False
    assert get_invoice(api, inv["id"]) == inv


def test_create_defaults(billing: Billing) -> None:
    inv = billing.invoice("7")
    assert inv["subscription_id"] is None and inv["description"] is None
    assert (inv["due_date"], inv["period_start"], inv["period_end"]) == (None, None, None)
    assert inv["metadata"] == {}


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (1234, 1234),
        ("1234", 1234),
        (10**40, 10**40),
        ("123456789012345678901234567890", 123456789012345678901234567890),
        (str(10**77), 10**77),
    ],
)
def test_amount_due_string_or_integer_any_size(
    billing: Billing, amount: Any, expected: int
) -> None:
    inv = billing.invoice(amount)
    assert_amounts(inv, expected, 0)
    assert get_invoice(billing.api, inv["id"]) == inv


@pytest.mark.parametrize(
    "amount",
    ["-1", -1, "1.5", 1.5, "abc", "", "1e3", "0x10", "+5", "١٢", True, None, [], {"v": 1}],
)
def test_bad_amount_due_is_400(api: API, billing: Billing, amount: Any) -> None:
    r = api.post(
        "/api/invoices",
        json={
            "customer_id": billing.customer["id"],
            "currency_id": billing.currency["id"],
            "amount_due": amount,
        },
    )
    assert_error(r, 400, "invalid_request", "amount_due")
    assert list_all(api, "/api/invoices")["count"] == 0


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"due_date": -1}, "due_date"),
        ({"due_date": "soon"}, "due_date"),
        ({"due_date": 1.5}, "due_date"),
        ({"period_start": 2_000, "period_end": 1_000}, "period_end"),
        ({"description": "x" * 1001}, "description"),
        ({"metadata": {"k" * 41: "v"}}, "metadata." + "k" * 41),
        ({"customer_id": 5}, "customer_id"),
    ],
)
def test_create_validation(api: API, billing: Billing, change: dict[str, Any], param: str) -> None:
    payload = {
        "customer_id": billing.customer["id"],
        "currency_id": billing.currency["id"],
        "amount_due": "10",
        **change,
    }
    assert_error(api.post("/api/invoices", json=payload), 400, "invalid_request", param)
    assert list_all(api, "/api/invoices")["count"] == 0


def test_amount_due_is_required(api: API, billing: Billing) -> None:
    r = api.post(
        "/api/invoices",
        json={"customer_id": billing.customer["id"], "currency_id": billing.currency["id"]},
    )
    assert_error(r, 400, "invalid_request", "amount_due")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("customer_id", "cus_doesnotexist00000000000"),
        ("currency_id", "pc_doesnotexist000000000000"),
        ("subscription_id", "sub_doesnotexist00000000000"),
    ],
)
def test_missing_reference_names_the_field(
    api: API, billing: Billing, field: str, value: str
) -> None:
    payload = {
        "customer_id": billing.customer["id"],
        "currency_id": billing.currency["id"],
        "amount_due": "10",
        field: value,
    }
    assert_error(api.post("/api/invoices", json=payload), 400, "resource_missing", field)
    assert list_all(api, "/api/invoices")["count"] == 0


def test_subscription_of_another_customer_is_refused(api: API, billing: Billing) -> None:
    other = make_customer(api)
    sub = make_subscription(api, other["id"], billing.currency["id"])
    r = api.post(
        "/api/invoices",
        json={
            "customer_id": billing.customer["id"],
            "currency_id": billing.currency["id"],
            "subscription_id": sub["id"],
            "amount_due": "10",
        },
    )
    assert r.status_code == 400 and body(r)["param"] == "subscription_id"
    assert list_all(api, "/api/invoices")["count"] == 0


@pytest.mark.parametrize(
    "field",
    ["status", "amount_paid", "amount_remaining", "status_transitions", "livemode", "id", "bogus"],
)
def test_create_refuses_unknown_or_read_only_fields(api: API, billing: Billing, field: str) -> None:
    payload = {
        "customer_id": billing.customer["id"],
        "currency_id": billing.currency["id"],
        "amount_due": "10",
        field: "0",
    }
    assert_error(api.post("/api/invoices", json=payload), 400, "unknown_parameter", field)
    assert list_all(api, "/api/invoices")["count"] == 0


def test_retrieve_unknown_is_404(api: API) -> None:
    assert_error(api.get("/api/invoices/in_nope"), 404, "resource_missing")


# -- list ---------------------------------------------------------------------------------------


def test_list_filters(api: API, billing: Billing) -> None:
    other_customer = make_customer(api)
    other_currency = make_currency(api, billing.method["id"], symbol="EUR")
    sub = make_subscription(api, billing.customer["id"], billing.currency["id"])
    cust, cur = billing.customer["id"], billing.currency["id"]

    i1 = billing.invoice("1")
    i2 = billing.invoice("2", subscription_id=sub["id"])
    i3 = make_invoice(api, other_customer["id"], cur, "3")
    i4 = make_invoice(api, cust, other_currency["id"], "4")
    i5 = invoice_in(api, billing.invoice("5", subscription_id=sub["id"]), "open")
    i6 = invoice_in(api, make_invoice(api, other_customer["id"], other_currency["id"], "6"), "open")

    everything = list_all(api, "/api/invoices")
    assert everything["count"] == 6
    assert ids(everything) == [i["id"] for i in (i6, i5, i4, i3, i2, i1)]
    assert everything["list"][1] == get_invoice(api, i5["id"])

    def found(**filters: str) -> list[str]:
        page = list_all(api, "/api/invoices", **filters)
        assert page["count"] == len(page["list"])
        return ids(page)

    assert found(customer_id=cust) == [i5["id"], i4["id"], i2["id"], i1["id"]]
    assert found(status="open") == [i6["id"], i5["id"]]
    assert found(status="draft", customer_id=cust) == [i4["id"], i2["id"], i1["id"]]
    assert found(currency_id=other_currency["id"]) == [i6["id"], i4["id"]]
    assert found(subscription_id=sub["id"]) == [i5["id"], i2["id"]]
    assert found(subscription_id=sub["id"], status="draft") == [i2["id"]]
    assert found(customer_id=other_customer["id"], currency_id=cur) == [i3["id"]]
    assert found(status="void") == []

    paged = body(api.get("/api/invoices", params={"page": 2, "pageSize": 4}), 200)
    assert paged["count"] == 6 and paged["paging"] == {"page": 2, "pageSize": 4}
    assert ids(paged) == [i2["id"], i1["id"]]


@pytest.mark.parametrize(
    ("query", "code", "param"),
    [
        ({"status": "overdue"}, "invalid_request", "status"),
        ({"pageSize": "0"}, "invalid_request", "pageSize"),
        ({"page": "-1"}, "invalid_request", "page"),
        ({"amount_due": "1"}, "unknown_parameter", "amount_due"),
    ],
)
def test_list_refuses_bad_queries(api: API, query: dict[str, str], code: str, param: str) -> None:
    assert_error(api.get("/api/invoices", params=query), 400, code, param)


# -- transitions: every (action, status) pair ---------------------------------------------------

TARGET = {**rules.TARGET, "pay": "paid"}


@pytest.mark.parametrize("status", INVOICE_STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_transition_matrix(api: API, billing: Billing, action: str, status: str) -> None:
    inv = billing.invoice_in(status, "1000")
    before = get_invoice(api, inv["id"])
    t0 = now_s()
    r = act(api, inv["id"], action)
    t1 = now_s()
    allowed = rules.allowed(action, status)
    assert allowed == (
        (action, status)
        in {
            ("finalize", "draft"),
            ("pay", "open"),
            ("pay", "uncollectible"),
            ("mark_uncollectible", "open"),
            ("void", "open"),
            ("void", "uncollectible"),
        }
    )
    if not allowed:
        assert_error(r, 409, "invalid_state")
        assert get_invoice(api, inv["id"]) == before
        return

    after = body(r, 200)
    assert get_invoice(api, inv["id"]) == after
    member = TIMESTAMP_OF[action]
    assert before["status_transitions"][member] is None
    stamp = after["status_transitions"][member]
    assert isinstance(stamp, int) and t0 <= stamp <= t1

    expected = copy.deepcopy(before)
    expected["status"] = TARGET[action]
    expected["status_transitions"][member] = stamp
    if action == "pay":
        expected["amount_paid"], expected["amount_remaining"] = "1000", "0"
    expected["updated_at"] = after["updated_at"]
    assert after == expected
    assert after["updated_at"] >= before["updated_at"]


def test_full_lifecycle_keeps_every_timestamp(api: API, billing: Billing) -> None:
    inv = billing.invoice_in("uncollectible", "1000")
    paid = body(pay(api, inv["id"]), 200)
    st = paid["status_transitions"]
    assert paid["status"] == "paid"
    assert st["finalized_at"] <= st["marked_uncollectible_at"] <= st["paid_at"]
    assert st["voided_at"] is None

    inv = billing.invoice_in("uncollectible", "1000")
    voided = body(act(api, inv["id"], "void"), 200)
    assert voided["status"] == "void"
    assert None not in (
        voided["status_transitions"]["finalized_at"],
        voided["status_transitions"]["marked_uncollectible_at"],
        voided["status_transitions"]["voided_at"],
    )
    assert voided["status_transitions"]["paid_at"] is None


@pytest.mark.parametrize("action", ACTIONS)
def test_transition_of_unknown_invoice_is_404(api: API, action: str) -> None:
    assert_error(act(api, "in_doesnotexist", action), 404, "resource_missing")


@pytest.mark.parametrize("action", ACTIONS)
def test_transition_with_unknown_body_field_is_400(api: API, billing: Billing, action: str) -> None:
    inv = billing.invoice_in("draft" if action == "finalize" else "open")
    before = get_invoice(api, inv["id"])
    r = act(api, inv["id"], action, {"reason": "x"})
    assert_error(r, 400, "unknown_parameter", "reason")
    assert get_invoice(api, inv["id"]) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_transition_with_unknown_query_parameter_is_400(
    api: API, billing: Billing, action: str
) -> None:
    inv = billing.invoice_in("draft" if action == "finalize" else "open")
    before = get_invoice(api, inv["id"])
    r = api.post(f"/api/invoices/{inv['id']}/{action}", params={"force": "true"})
    assert_error(r, 400, "unknown_parameter", "force")
    assert get_invoice(api, inv["id"]) == before


@pytest.mark.parametrize("payload", [[], "x", 5])
def test_transition_body_must_be_an_object(api: API, billing: Billing, payload: Any) -> None:
    inv = billing.invoice_in("open")
    before = get_invoice(api, inv["id"])
    assert_error(act(api, inv["id"], "pay", payload), 400, "invalid_request")
    assert get_invoice(api, inv["id"]) == before


# -- pay ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["open", "uncollectible"])
def test_partial_payments_then_full(api: API, billing: Billing, status: str) -> None:
    inv = billing.invoice_in(status, "1000")
    inv = body(pay(api, inv["id"], "300"), 200)
    assert_amounts(inv, 1000, 300)
    assert inv["status"] == status and inv["status_transitions"]["paid_at"] is None
    inv = body(pay(api, inv["id"], 600), 200)
    assert_amounts(inv, 1000, 900)
    assert inv["status"] == status
    assert get_invoice(api, inv["id"]) == inv
    t0 = now_s()
    inv = body(pay(api, inv["id"], "100"), 200)
    assert_amounts(inv, 1000, 1000)
    assert inv["status"] == "paid" and inv["status_transitions"]["paid_at"] >= t0


@pytest.mark.parametrize("payload", [None, {}])
def test_pay_without_amount_pays_what_remains(
    api: API, billing: Billing, payload: dict[str, Any] | None
) -> None:
    inv = billing.invoice_in("open", "1000")
    body(pay(api, inv["id"], "250"), 200)
    paid = body(act(api, inv["id"], "pay", payload), 200)
    assert_amounts(paid, 1000, 1000)
    assert paid["status"] == "paid"


def test_pay_exactly_what_remains(api: API, billing: Billing) -> None:
    inv = billing.invoice_in("open", "1000")
    body(pay(api, inv["id"], "1"), 200)
    paid = body(pay(api, inv["id"], "999"), 200)
    assert_amounts(paid, 1000, 1000)
    assert paid["status"] == "paid"


BAD_AMOUNTS = [
    "701",
    701,
    "1000",
    str(10**40),
    "0",
    0,
    "00",
    "-0",
    "-5",
    -5,
    "1.5",
    1.5,
    "1.0",
    "abc",
    "",
    " ",
    "1e2",
    "+5",
    "0x10",
    "١٢",
    True,
    [],
    {"value": "1"},
]


@pytest.mark.parametrize("status", ["open", "uncollectible"])
@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_bad_pay_amount_is_400_and_changes_nothing(
    api: API, billing: Billing, status: str, amount: Any
) -> None:
    inv = billing.invoice_in(status, "1000")
    body(pay(api, inv["id"], "300"), 200)  # 700 remain
    before = get_invoice(api, inv["id"])
    assert_error(pay(api, inv["id"], amount), 400, "invalid_request", "amount")
    assert get_invoice(api, inv["id"]) == before


def test_pay_an_unknown_field_is_400(api: API, billing: Billing) -> None:
    inv = billing.invoice_in("open")
    before = get_invoice(api, inv["id"])
    r = act(api, inv["id"], "pay", {"amount": "1", "currency_id": billing.currency["id"]})
    assert_error(r, 400, "unknown_parameter", "currency_id")
    assert get_invoice(api, inv["id"]) == before


# -- zero invoices ------------------------------------------------------------------------------


def test_zero_invoice(api: API, billing: Billing) -> None:
    """Not fixed by API.md: the server pays a zero invoice as soon as it is finalized (it could
    never be paid otherwise, since a payment must be above zero)."""
    inv = billing.invoice("0")
    assert_amounts(inv, 0, 0)
    done = body(act(api, inv["id"], "finalize"), 200)
    assert_amounts(done, 0, 0)
    assert done["status"] == "paid"
    assert done["status_transitions"]["finalized_at"] is not None
    assert done["status_transitions"]["paid_at"] is not None


# -- mode separation ----------------------------------------------------------------------------


def test_other_mode_cannot_see_reference_or_move_invoices(
    api: API, live_api: API, billing: Billing
) -> None:
    sub = make_subscription(api, billing.customer["id"], billing.currency["id"])
    inv = billing.invoice_in("open", "1000", subscription_id=sub["id"])
    before = get_invoice(api, inv["id"])

    assert_error(live_api.get(f"/api/invoices/{inv['id']}"), 404, "resource_missing")
    for action in ACTIONS:
        assert_error(act(live_api, inv["id"], action), 404, "resource_missing")
    assert_error(pay(live_api, inv["id"], "1"), 404, "resource_missing")
    assert get_invoice(api, inv["id"]) == before
    assert list_all(live_api, "/api/invoices")["count"] == 0
    assert list_all(live_api, "/api/invoices", customer_id=billing.customer["id"])["count"] == 0

    live_customer = make_customer(live_api)
    live_currency = make_currency(live_api)
    live_sub = make_subscription(live_api, live_customer["id"], live_currency["id"])
    good = {
        "customer_id": live_customer["id"],
        "currency_id": live_currency["id"],
        "subscription_id": live_sub["id"],
        "amount_due": "10",
    }
    for field, test_value in (
        ("customer_id", billing.customer["id"]),
        ("currency_id", billing.currency["id"]),
        ("subscription_id", sub["id"]),
    ):
        r = live_api.post("/api/invoices", json={**good, field: test_value})
        assert_error(r, 400, "resource_missing", field)
    live_inv = body(live_api.post("/api/invoices", json=good), 201)
    assert live_inv["livemode"] is True
    assert ids(list_all(live_api, "/api/invoices")) == [live_inv["id"]]
    assert ids(list_all(api, "/api/invoices")) == [inv["id"]]
    assert_error(api.get(f"/api/invoices/{live_inv['id']}"), 404, "resource_missing")
