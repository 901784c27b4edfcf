"""The dashboard's pure rules: money as exact decimal text, typed amounts, the edit form."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paymentkit.server import errors
from paymentkit.server.dashboard import rules

amounts = st.integers(min_value=-(10**80), max_value=10**80)
decimals = st.integers(min_value=0, max_value=18)


@pytest.mark.parametrize(
    ("amount", "decimal", "symbol", "text"),
    [
        ("5000", 2, "USD", "50.00 USD"),
        ("0", 2, "USD", "0.00 USD"),
        ("5", 2, "USD", "0.05 USD"),
        ("-5", 2, "USD", "-0.05 USD"),
        ("-0", 2, "USD", "0.00 USD"),
        ("007", 0, "JPY", "7 JPY"),
        ("1", 18, "ABT", "0.000000000000000001 ABT"),
        (str(2**64), 18, "ETH", "18.446744073709551616 ETH"),
        (str(2**70 + 5), 18, "ABT", "1180.591620717411303429 ABT"),
        ("123456789012345678901234567890", 18, "T", "123456789012.345678901234567890 T"),
        ("5000", 2, "", "50.00"),
    ],
)
def test_examples(amount: str, decimal: int, symbol: str, text: str) -> None:
    assert rules.format_amount(amount, decimal, symbol) == text


@given(amounts, decimals)
def test_it_is_the_exact_decimal_value(value: int, decimal: int) -> None:
    text = rules.format_amount(str(value), decimal, "X")
    number, symbol = text.split(" ")
    assert symbol == "X"
    with localcontext() as ctx:
        ctx.prec = 200
        assert Decimal(number) == Decimal(value).scaleb(-decimal)
    fraction = number.partition(".")[2]
    assert len(fraction) == decimal


@given(amounts, decimals)
def test_a_typed_amount_reads_back(value: int, decimal: int) -> None:
    shown = rules.format_amount(str(value), decimal, "")
    assert rules.parse_amount(shown, decimal) == str(value)


@pytest.mark.parametrize(
    "bad", ["5.0", "1e3", "abc", "", " ", "1,000", "٣", "+5", "--1", ".", "5."]
)
def test_non_amounts_are_refused(bad: str) -> None:
    if bad == "5.":
        assert rules.parse_amount(bad, 2) == "500"
        return
    if bad == "5.0":
        assert rules.parse_amount(bad, 2) == "500"
        with pytest.raises(errors.InvalidRequest) as e:
            rules.parse_amount(bad, 0)
        assert e.value.param == "amount"
        return
    with pytest.raises(errors.InvalidRequest) as e:
        rules.parse_amount(bad, 2)
    assert e.value.param == "amount"


@pytest.mark.parametrize("bad", ["12.5", "1_000", "x", "", "-", "٣"])
def test_format_refuses_what_is_no_integer(bad: str) -> None:
    with pytest.raises(ValueError):
        rules.format_amount(bad, 2, "USD")
    with pytest.raises(ValueError):
        rules.format_amount("1", 19, "USD")


def test_metadata_changes_send_only_what_changed() -> None:
    current = {"tier": "gold", "seats": 3, "beta": True, "gone": "x"}
    shown = rules.metadata_lines(current)
    assert shown == "tier=gold\nseats=3\nbeta=true\ngone=x"
    assert rules.metadata_changes(shown, current) == {}
    typed = "tier=platinum\r\nseats=3\n\nbeta=true\nnew = value "
    assert rules.metadata_changes(typed, current) == {
        "gone": None,
        "tier": "platinum",
        "new": "value",
    }
    for bad in ("novalue", "=x", "a=1\na=2"):
        with pytest.raises(errors.InvalidRequest) as e:
            rules.metadata_changes(bad, {})
        assert e.value.param == "metadata"


@given(
    st.dictionaries(
        st.text(
            st.characters(blacklist_characters="=\n\r", blacklist_categories=("Cs", "Zs", "Cc")),
            min_size=1,
            max_size=10,
        ),
        st.one_of(
            st.text(
                st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs", "Cc", "Zs")),
                max_size=10,
            ),
            st.integers(),
            st.booleans(),
        ),
        max_size=8,
    )
)
def test_the_shown_metadata_is_no_change(metadata: dict[str, object]) -> None:
    metadata = {k.strip(): v for k, v in metadata.items() if k.strip()}
    metadata = {k: (v.strip() if isinstance(v, str) else v) for k, v in metadata.items()}
    assert rules.metadata_changes(rules.metadata_lines(metadata), metadata) == {}


def test_customer_changes() -> None:
    form = {
        "name": " Ada ",
        "email": "",
        "phone": "+1",
        "description": "d",
        "did": " ",
        "address.country": "gb",
        "address.city": "",
        "metadata": "a=1",
    }
    assert rules.customer_changes(form, {"metadata": {}}) == {
        "name": "Ada",
        "email": None,
        "phone": "+1",
        "description": "d",
        "address": {"country": "gb", "city": None},
        "metadata": {"a": "1"},
    }
    assert rules.customer_changes({"did": "z123"}, {"metadata": {}}) == {"did": "z123"}


@pytest.mark.parametrize(
    ("target", "ok"),
    [
        ("/dashboard/customers/cus_1?x=1", True),
        ("/dashboard/", True),
        ("https://evil.example", False),
        ("//evil.example", False),
        ("/dashboard//evil.example", False),
        ("/dashboard/\\evil", False),
        ("/api/customers", False),
        ("/dashboard/\nx", False),
        (None, False),
    ],
)
def test_local_path(target: str | None, ok: bool) -> None:
    assert rules.local_path(target, "/dashboard/") == (target if ok else "/dashboard/")


@pytest.mark.parametrize(
    ("param", "field"),
    [
        (None, None),
        ("email", "email"),
        ("address.country", "address.country"),
        ("metadata.tier", "metadata"),
        ("metadata", "metadata"),
        ("enabled_events.3", "enabled_events"),
    ],
)
def test_field_of(param: str | None, field: str | None) -> None:
    assert rules.field_of(param) == field
