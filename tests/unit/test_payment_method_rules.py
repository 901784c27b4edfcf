"""The pure payment-method rules: `type` is any short lower-case identifier (README, API notes)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paymentkit.schemas.billing import METHOD_TYPE_PATTERN
from paymentkit.server.errors import InvalidRequest
from paymentkit.server.payment_methods import rules

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,15}")


@pytest.mark.parametrize("value", [*rules.KNOWN_METHOD_TYPES, "card", "a", "x_1", "z" * 16])
def test_identifiers_are_types(value: str) -> None:
    assert rules.method_type(value) == value


@pytest.mark.parametrize(
    "value", ["", "Card", "1x", "_x", "x-y", "x y", "z" * 17, "card\n", "cárd"]
)
def test_anything_else_is_refused_naming_type(value: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        rules.method_type(value)
    assert info.value.param == "type"


@given(
    st.one_of(
        st.text(max_size=20),
        st.from_regex(r"[a-z][a-z0-9_]{0,20}\n?", fullmatch=True),  # near the boundaries
    )
)
def test_the_rule_is_the_published_pattern_matched_whole(value: str) -> None:
    # The OpenAPI description publishes METHOD_TYPE_PATTERN; the server applies exactly it.
    assert f"^{IDENTIFIER.pattern}$" == METHOD_TYPE_PATTERN
    if IDENTIFIER.fullmatch(value):
        assert rules.method_type(value) == value
    else:
        with pytest.raises(InvalidRequest) as info:
            rules.method_type(value)
        assert info.value.param == "type"
