"""`paymentkit.server.querystring.parse` decodes query strings the way Node's `qs` does (API.md,
Conventions), including the forms `@blocklet/payment-js` sends."""

from __future__ import annotations

import contextlib
import random
import string
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paymentkit.server.querystring import QueryStringError, parse


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ("a=1", {"a": "1"}),
        ("a=1&b=2", {"a": "1", "b": "2"}),
        ("a=", {"a": ""}),
        ("a", {"a": ""}),
        ("a=b+c", {"a": "b c"}),
        ("a=%20x%26y%3D", {"a": " x&y="}),
        ("a=%C3%A9", {"a": "é"}),
        ("a.b=1", {"a.b": "1"}),
        ("metadata.tier=gold", {"metadata.tier": "gold"}),
        ("a[b]=1", {"a": {"b": "1"}}),
        ("a%5Bb%5D=1", {"a": {"b": "1"}}),
        ("a[b]=1&a[c]=2", {"a": {"b": "1", "c": "2"}}),
        ("a[b][c]=1", {"a": {"b": {"c": "1"}}}),
        ("metadata[tier]=gold", {"metadata": {"tier": "gold"}}),
        ("a[0]=x&a[1]=y", {"a": ["x", "y"]}),
        ("a[1]=y&a[0]=x", {"a": ["x", "y"]}),
        ("a[1]=b&a[15]=c", {"a": ["b", "c"]}),
        ("a[20]=x", {"a": ["x"]}),
        ("a[21]=x", {"a": {"21": "x"}}),
        ("a[]=x", {"a": ["x"]}),
        ("a[]=x&a[]=y", {"a": ["x", "y"]}),
        ("a=x&a=y", {"a": ["x", "y"]}),
        ("a=x&a=y&a=z", {"a": ["x", "y", "z"]}),
        ("a[0][b]=1&a[1][b]=2", {"a": [{"b": "1"}, {"b": "2"}]}),
        ("order=created_at:DESC", {"order": "created_at:DESC"}),
        ("order[0]=name&order[1]=DESC", {"order": ["name", "DESC"]}),
        ("order[0][0]=created_at&order[0][1]=DESC", {"order": [["created_at", "DESC"]]}),
        (
            "order[0][0]=name&order[0][1]=ASC&order[1][0]=id&order[1][1]=DESC",
            {"order": [["name", "ASC"], ["id", "DESC"]]},
        ),
        (
            "order%5B0%5D%5B0%5D=created_at&order%5B0%5D%5B1%5D=DESC&livemode=false",
            {"order": [["created_at", "DESC"]], "livemode": "false"},
        ),
        (
            "page=1&pageSize=5&did=zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ&livemode=true",
            {
                "page": "1",
                "pageSize": "5",
                "did": "zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",
                "livemode": "true",
            },
        ),
    ],
)
def test_qs_examples(raw: str, expected: dict[str, Any]) -> None:
    assert parse(raw) == expected


def test_nesting_deeper_than_five_keeps_the_rest_as_one_key() -> None:
    # qs: "a[b][c][d][e][f][g][h][i]=j" -> {a: {b: {c: {d: {e: {f: {"[g][h][i]": "j"}}}}}}}
    assert parse("a[b][c][d][e][f][g][h][i]=j") == {
        "a": {"b": {"c": {"d": {"e": {"f": {"[g][h][i]": "j"}}}}}}
    }


def test_nesting_of_five_is_read_in_full() -> None:
    assert parse("a[b][c][d][e][f]=1") == {"a": {"b": {"c": {"d": {"e": {"f": "1"}}}}}}


@pytest.mark.parametrize("raw", ["a=%00", "a=x%00y", "a%00=1", "a[b%00]=1", "a[0]=%00"])
def test_nul_is_rejected(raw: str) -> None:
    with pytest.raises(QueryStringError):
        parse(raw)


def test_query_string_error_is_a_value_error() -> None:
    assert issubclass(QueryStringError, ValueError)


# -- properties ----------------------------------------------------------------------------

plain_keys = st.text(alphabet=string.ascii_letters + string.digits + "_.-", min_size=1, max_size=12)
values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)


@given(st.dictionaries(plain_keys, values, max_size=10))
def test_flat_pairs_round_trip(pairs: dict[str, str]) -> None:
    assert parse(urlencode(pairs)) == pairs


@given(st.lists(values, min_size=1, max_size=21), st.randoms(use_true_random=False))
def test_indexed_list_in_any_order(items: list[str], rnd: random.Random) -> None:
    parts = [f"a[{i}]={quote(v, safe='')}" for i, v in enumerate(items)]
    rnd.shuffle(parts)
    assert parse("&".join(parts)) == {"a": items}


@given(st.lists(values, min_size=2, max_size=30))
def test_repeated_keys_and_empty_brackets_make_lists(items: list[str]) -> None:
    encoded = [quote(v, safe="") for v in items]
    assert parse("&".join(f"a={v}" for v in encoded)) == {"a": items}
    assert parse("&".join(f"a[]={v}" for v in encoded)) == {"a": items}


@given(st.dictionaries(plain_keys.filter(lambda k: not k.isdigit()), values, min_size=1))
def test_bracket_keys_make_an_object(obj: dict[str, str]) -> None:
    raw = "&".join(f"m[{quote(k, safe='')}]={quote(v, safe='')}" for k, v in obj.items())
    assert parse(raw) == {"m": obj}


@given(st.lists(st.tuples(plain_keys, st.sampled_from(["ASC", "DESC"])), min_size=1, max_size=5))
def test_order_pairs_as_the_node_client_sends_them(pairs: list[tuple[str, str]]) -> None:
    raw = "&".join(f"order[{i}][0]={f}&order[{i}][1]={d}" for i, (f, d) in enumerate(pairs))
    assert parse(raw) == {"order": [[f, d] for f, d in pairs]}


def test_at_most_max_params_parameters_and_the_refusal_names_the_first_extra() -> None:
    from paymentkit.server.querystring import MAX_PARAMS

    assert len(parse("&".join(f"p{i}=1" for i in range(MAX_PARAMS)))) == MAX_PARAMS
    assert len(parse("&&" + "&".join(f"p{i}=1" for i in range(MAX_PARAMS)) + "&&")) == MAX_PARAMS
    with pytest.raises(QueryStringError) as over:
        parse("&".join(f"p{i}=1" for i in range(MAX_PARAMS * 50)))
    assert over.value.param == f"p{MAX_PARAMS}"


def test_name_and_value_lengths_are_bounded() -> None:
    from paymentkit.server.querystring import MAX_NAME_LENGTH, MAX_VALUE_LENGTH

    assert parse(f"{'n' * MAX_NAME_LENGTH}={'v' * MAX_VALUE_LENGTH}")
    with pytest.raises(QueryStringError) as long_name:
        parse(f"{'n' * (MAX_NAME_LENGTH * 10)}=1")
    assert long_name.value.param == "n" * MAX_NAME_LENGTH + "…"
    with pytest.raises(QueryStringError) as long_value:
        parse(f"q={'%C3%A9' * (MAX_VALUE_LENGTH + 1)}")  # counted decoded: é is one character
    assert long_value.value.param == "q"
    assert parse(f"q={'%C3%A9' * MAX_VALUE_LENGTH}") == {"q": "é" * MAX_VALUE_LENGTH}


@given(st.text(alphabet="a[]=&%0123.", max_size=400))
def test_any_short_query_string_parses_or_is_refused_with_a_query_string_error(raw: str) -> None:
    with contextlib.suppress(QueryStringError):
        parse(raw)
