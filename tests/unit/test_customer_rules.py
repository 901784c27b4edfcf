"""The pure customer rules (no I/O): trimming and limits, metadata and address merges, DIDs,
countries, emails and phones (API.md, Customers: Validation and Update semantics)."""

from __future__ import annotations

import string
from collections import Counter
from typing import Any

import idna
import phonenumbers
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from iso3166 import countries_by_alpha2

from paymentkit.server.customers import rules
from paymentkit.server.errors import InvalidRequest

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
NOT_BASE58 = "0OIl-_+/:. "


def param_of(fn: Any, *args: Any) -> str | None:
    with pytest.raises(InvalidRequest) as info:
        fn(*args)
    return info.value.param


# -- text ----------------------------------------------------------------------------------


@given(value=st.text(), limit=st.integers(min_value=0, max_value=50))
def test_text_is_trimmed_and_limited(value: str, limit: int) -> None:
    core = value.strip()
    if len(core) > limit:
        assert param_of(rules.text, value, "name", limit) == "name"
        return
    result = rules.text(value, "name", limit)
    if core == "":
        assert result is None
    else:
        assert result == core
        assert result in value
        assert result == result.strip()


@given(core=st.text(min_size=1, max_size=20).map(str.strip).filter(bool), pad=st.text(" \t\n\r"))
def test_surrounding_whitespace_never_counts_against_the_limit(core: str, pad: str) -> None:
    assert rules.text(pad + core + pad, "description", len(core)) == core


def test_text_none_stays_none() -> None:
    assert rules.text(None, "name", 10) is None


# -- metadata ------------------------------------------------------------------------------

keys = st.text(alphabet=string.ascii_letters + string.digits + "_.-", min_size=1, max_size=40)
stored_values = st.one_of(
    st.text(min_size=1, max_size=20),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
change_values = st.one_of(st.none(), st.just(""), stored_values)


@given(
    current=st.dictionaries(keys, stored_values, max_size=50),
    changes=st.dictionaries(keys, change_values, max_size=50),
)
def test_metadata_merge_invariants(current: dict[str, Any], changes: dict[str, Any]) -> None:
    try:
        merged = rules.metadata(current, changes)
    except InvalidRequest as exc:
        assert exc.param == "metadata"
        kept = {k for k in current if k not in changes}
        added = {k for k, v in changes.items() if v is not None and v != ""}
        assert len(kept | added) > 50
        return
    assert len(merged) <= 50
    for key, value in changes.items():
        if value is None or value == "":
            assert key not in merged
        else:
            assert merged[key] == value and type(merged[key]) is type(value)
    for key, value in current.items():
        if key not in changes:
            assert merged[key] == value
    assert set(merged) <= set(current) | set(changes)


@given(current=st.dictionaries(keys, stored_values, max_size=50))
def test_metadata_merge_does_not_mutate_its_input(current: dict[str, Any]) -> None:
    snapshot = dict(current)
    rules.metadata(current, {k: None for k in list(current)[:3]} | {"new": "v"})
    assert current == snapshot


@given(current=st.dictionaries(keys, stored_values, max_size=50))
def test_metadata_none_clears_everything(current: dict[str, Any]) -> None:
    assert rules.metadata(current, None) == {}


@given(current=st.dictionaries(keys, stored_values, max_size=50))
def test_removing_every_key_leaves_nothing(current: dict[str, Any]) -> None:
    assert rules.metadata(current, dict.fromkeys(current, "")) == {}
    assert rules.metadata(current, dict.fromkeys(current)) == {}


@given(changes=st.dictionaries(keys, stored_values, min_size=51, max_size=60))
def test_more_than_50_keys_is_refused(changes: dict[str, Any]) -> None:
    assert param_of(rules.metadata, {}, changes) == "metadata"


@given(key=st.text(min_size=41, max_size=60))
def test_metadata_key_over_40_names_the_key(key: str) -> None:
    assert param_of(rules.metadata, {}, {key: "v"}) == f"metadata.{key}"


def test_metadata_empty_key_is_refused() -> None:
    assert param_of(rules.metadata, {}, {"": "v"}) == "metadata."


@given(value=st.text(min_size=501, max_size=600))
def test_metadata_value_over_500_names_the_key(value: str) -> None:
    assert param_of(rules.metadata, {}, {"note": value}) == "metadata.note"


def test_metadata_value_of_exactly_500_is_fine() -> None:
    assert rules.metadata({}, {"note": "v" * 500}) == {"note": "v" * 500}


@pytest.mark.parametrize("value", [{"a": 1}, [1], (1,), object()])
def test_metadata_value_that_is_not_a_scalar(value: Any) -> None:
    assert param_of(rules.metadata, {}, {"k": value}) == "metadata.k"


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (1, "1"), (0, "0"), (-7, "-7"), (1.5, "1.5"), ("x", "x")],
)
def test_metadata_text_is_what_a_query_string_filter_compares(value: Any, text: str) -> None:
    assert rules.metadata_text(value) == text


# -- did -----------------------------------------------------------------------------------

did_bodies = st.text(alphabet=BASE58, min_size=1, max_size=100)


@given(body=did_bodies, pad=st.text(" \t", max_size=3))
def test_did_is_stored_without_prefix(body: str, pad: str) -> None:
    did = "z" + body
    assert rules.did(did) == did
    assert rules.did("did:abt:" + did) == did
    assert rules.did(pad + "did:abt:" + did + pad) == did


@given(body=did_bodies, bad=st.sampled_from(NOT_BASE58), at=st.integers(min_value=0))
def test_did_with_a_character_outside_base58_is_refused(body: str, bad: str, at: int) -> None:
    at = at % (len(body) + 1)
    did = "z" + body[:at] + bad + body[at:]
    assume(not (bad == " " and at == len(body)))  # a trailing space is trimmed, not refused
    assert param_of(rules.did, did) == "did"
    assert param_of(rules.did, "did:abt:" + did) == "did"


@given(first=st.sampled_from([c for c in BASE58 if c != "z"]), body=did_bodies)
def test_did_must_start_with_z(first: str, body: str) -> None:
    assert param_of(rules.did, first + body) == "did"


@pytest.mark.parametrize(
    "value",
    [
        "did:eth:zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",
        "DID:ABT:zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",
        "did:abt:did:abt:zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ",
        "z" + "a" * 128,
    ],
)
def test_did_refusals(value: str) -> None:
    assert param_of(rules.did, value) == "did"


def test_did_param_name_can_be_chosen() -> None:
    assert param_of(rules.did, "not-a-did", "id") == "id"


@pytest.mark.parametrize("value", [None, "", "   ", "did:abt:"])
def test_empty_did_is_absent(value: str | None) -> None:
    assert rules.did(value) is None


# -- address -------------------------------------------------------------------------------


@given(code=st.sampled_from(sorted(countries_by_alpha2)))
def test_every_iso_country_is_accepted_in_any_case(code: str) -> None:
    assert rules.country(code) == code
    assert rules.country(code.lower()) == code
    assert rules.country(f" {code.lower()} ") == code


@given(value=st.text(alphabet=string.ascii_letters, min_size=1, max_size=4))
def test_country_is_a_real_alpha2_code(value: str) -> None:
    if len(value) == 2 and value.upper() in countries_by_alpha2:
        assert rules.country(value) == value.upper()
    else:
        assert param_of(rules.country, value) == "address.country"


@pytest.mark.parametrize("value", ["XX", "ZZ", "AA", "U1", "12", "USA", "U"])
def test_country_refusals(value: str) -> None:
    assert param_of(rules.country, value) == "address.country"


address_values = st.one_of(st.none(), st.text(max_size=10))


@given(
    current=st.dictionaries(
        st.sampled_from(["state", "city", "line1", "line2", "postal_code"]),
        st.text(min_size=1, max_size=10).map(str.strip).filter(bool),
    ),
    changes=st.dictionaries(
        st.sampled_from(["state", "city", "line1", "line2", "postal_code"]), address_values
    ),
)
def test_address_merge_invariants(current: dict[str, str], changes: dict[str, Any]) -> None:
    merged = rules.address(current or None, changes)
    expected = dict(current)
    for field, value in changes.items():
        cleaned = None if value is None else value.strip() or None
        if cleaned is None:
            expected.pop(field, None)
        else:
            expected[field] = cleaned
    assert merged == (expected or None)


def test_address_none_clears() -> None:
    assert rules.address({"city": "Oslo"}, None) is None


def test_address_country_is_upper_cased_in_a_merge() -> None:
    assert rules.address({"city": "Oslo"}, {"country": "no"}) == {"city": "Oslo", "country": "NO"}


@pytest.mark.parametrize("field", ["state", "city", "line1", "line2", "postal_code"])
def test_address_field_over_200(field: str) -> None:
    assert param_of(rules.address, None, {field: "x" * 201}) == f"address.{field}"
    assert rules.address(None, {field: "x" * 200}) == {field: "x" * 200}


# -- email and phone -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("alice@example.com", "alice@example.com"),
        ("  alice@example.com  ", "alice@example.com"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("Alice@EXAMPLE.com", "Alice@example.com"),
    ],
)
def test_email_accepted(value: str, stored: str) -> None:
    assert rules.email(value) == stored


@pytest.mark.parametrize(
    "value",
    [
        "plainaddress",
        "@example.com",
        "alice@",
        "alice@@example.com",
        "alice@example..com",
        "a..b@example.com",
        "alice example@example.com",
        "a" * 64 + "@" + ".".join(["b" * 60] * 8) + ".com",  # over 512 characters
    ],
)
def test_email_refused(value: str) -> None:
    assert param_of(rules.email, value) == "email"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_empty_email_is_absent(value: str | None) -> None:
    assert rules.email(value) is None


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("+15551234567", "+15551234567"),  # the reference document's fictional 555 number
        ("+1 (555) 123-4567", "+15551234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 30 123456", "+4930123456"),
        ("+86 138 0013 8000", "+8613800138000"),
        (" +33 1 23 45 67 89 ", "+33123456789"),
    ],
)
def test_phone_accepted_and_stored_in_e164(value: str, stored: str) -> None:
    assert rules.phone(value) == stored


@pytest.mark.parametrize(
    "value",
    ["5551234567", "(555) 123-4567", "+1555", "+1 555 123 4567 8901 23", "+999 1234567", "phone"],
)
def test_phone_refused(value: str) -> None:
    assert param_of(rules.phone, value) == "phone"


@given(digits=st.text(alphabet=string.digits, min_size=1, max_size=20))
@example(digits="15551234567")
@example(digits="6200100000000000")  # leading zeros after the country code: 16 digits out
@example(digits="620000000000000")  # stored as +62000000000000, which re-parses differently
def test_phone_result_is_e164_or_refused(digits: str) -> None:
    try:
        result = rules.phone("+" + digits)
    except InvalidRequest as exc:
        assert exc.param == "phone"
        return
    assert result is not None
    assert result.startswith("+") and result[1:].isdigit()
    assert len(result) <= 16  # E.164: at most 15 digits
    assert rules.phone(result) == result  # stored values are accepted again unchanged


# Possible numbers of many regions, in E.164 (phonenumbers' own examples), and the ways
# people write an extension after them.
EXAMPLE_NUMBERS = sorted(
    phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS)
    if (n := phonenumbers.example_number(region)) is not None
)
EXTENSION_MARKS = [
    " ext. ",
    " ext ",
    " x",
    " X",
    ";ext=",
    " #",
    "#",
    ",",
    " extension ",
    " ext.",
    "  x ",
]


@given(
    number=st.sampled_from(EXAMPLE_NUMBERS),
    mark=st.sampled_from(EXTENSION_MARKS),
    ext=st.text(alphabet=string.digits, min_size=1, max_size=6),
)
@example(number="+15550100", mark=" ext. ", ext="12")  # the form the issue reported
def test_phone_extension_is_refused_never_dropped(number: str, mark: str, ext: str) -> None:
    assert rules.phone(number) == number
    with pytest.raises(InvalidRequest) as info:
        rules.phone(number + mark + ext)
    assert info.value.param == "phone"
    assert "extensions are not supported" in info.value.message


# Domain labels with letters IDNA maps to themselves (no ß or final sigma: their upper case
# folds to other letters), so the Unicode, punycode and upper-case forms name one domain.
_LABEL = st.text(alphabet="abcdeknoxzäöüéèñçåøłž", min_size=1, max_size=12)


@given(
    local=st.text(alphabet=string.ascii_letters + string.digits + "._+", min_size=1, max_size=20),
    labels=st.lists(_LABEL, min_size=1, max_size=3),
    tld=st.sampled_from(["de", "com", "org", "jp"]),
)
def test_email_idn_forms_normalise_to_one_stored_value(
    local: str, labels: list[str], tld: str
) -> None:
    # What the `email` filter relies on: every form of an address create accepts normalises
    # to the one stored value (then compared lower-cased).
    unicode_domain = ".".join([*labels, tld])
    try:
        stored = rules.email(f"{local}@{unicode_domain}")
    except InvalidRequest:
        assume(False)
        return
    assert stored is not None
    puny = ".".join(idna.encode(label).decode() for label in labels) + "." + tld
    for form in (f"{local}@{puny}", f"{local}@{puny.upper()}", f"{local}@{unicode_domain.upper()}"):
        assert rules.email(form) == stored, form
    assert rules.email(stored) == stored


# -- search text ---------------------------------------------------------------------------


@given(
    name=st.one_of(st.none(), st.text(max_size=12)),
    email=st.one_of(st.none(), st.text(max_size=12)),
    phone=st.one_of(st.none(), st.text(max_size=12)),
)
def test_search_text_holds_each_field_folded(
    name: str | None, email: str | None, phone: str | None
) -> None:
    text = rules.search_text(name, email, phone)
    for field in (name, email, phone):
        if field and rules.SEARCH_SEPARATOR not in field:
            assert rules.fold(field) in text
    assert rules.fold(text) == text  # folding is idempotent: stored text is a fixed point


def test_search_text_keeps_fields_apart() -> None:
    # A match must lie inside one field: adjacent fields never read as one string.
    text = rules.search_text("Ann", "bob@example.com", "+1")
    for spanning in ("annbob", "ann bob", "example.com+1"):
        assert spanning not in text


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        ("straße", "STRASSE"),
        ("STRASSE", "Straße"),
        ("istanbul", "İstanbul"),
        ("İSTANBUL", "istanbul"),
        ("ǆ", "ǅemal"),  # titlecase digraph
        ("ﬁle", "FILE"),  # ligature (NFKC)
        ("σοφια", "ΣΟΦΙΑ"),  # final sigma folds like sigma
        ("é", "e\u0301"),  # composed and decomposed forms meet (NFC)
    ],
)
def test_fold_follows_unicode_case_folding(query: str, stored: str) -> None:
    assert rules.fold(query) in rules.fold(stored)


def test_fold_does_not_strip_accents() -> None:
    assert rules.fold("e") not in rules.fold("é")


@pytest.mark.parametrize(
    ("query", "id_prefix", "did_prefix"),
    [
        ("cus_AbC", "cus_abc", "cus_abc"),
        ("zNKa5", "znka5", "znka5"),
        ("did:abt:zNKa5", None, "znka5"),
        ("DID:ABT:", None, ""),  # every customer whose DID is written with the prefix
        ("did:a", None, ""),
        ("d", "d", ""),
        ("john@example.com", None, None),
        ("+1555", None, None),
        ("Smith", "smith", "smith"),
    ],
)
def test_search_term_prefix_lookups(
    query: str, id_prefix: str | None, did_prefix: str | None
) -> None:
    term = rules.search_term(query)
    assert term is not None
    assert (term.id_prefix, term.did_prefix) == (id_prefix, did_prefix)


def test_search_term_refuses_the_separator_and_blank() -> None:
    assert rules.search_term("a\x1fb") is None
    assert rules.search_term("   ") is None
    term = rules.search_term("  ab ")
    assert term is not None and term.text == "ab"


def test_looks_like_did() -> None:
    assert rules.looks_like_did("did:abt:zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ")
    assert not rules.looks_like_did("cus_123")
    assert not rules.looks_like_did("")


# -- search trigram figures (search_stats) ----------------------------------------------------


def test_trigrams_are_distinct_and_in_order() -> None:
    assert rules.trigrams("banana") == ["ban", "ana", "nan"]
    assert rules.trigrams("ab") == []


def test_trigram_docs_count_each_text_once() -> None:
    docs = rules.trigram_docs(["banana", "ban", "xyz"])
    assert docs == {"ban": 2, "ana": 1, "nan": 1, "xyz": 1}


def everything(_gram: str) -> bool:
    return True


def test_rare_trigrams_pick_the_rarest_and_then_ones_that_do_not_overlap() -> None:
    term = "nicole.hall."  # positions: ico 1, col 2, e.h 5, all 8
    docs = {g: 50_000 for g in rules.trigrams(term)} | {"e.h": 6_000, "ico": 10_000, "col": 9_000}
    picks, expected = rules.rare_trigrams(term, docs, 1_000_000, everything) or ([], 0.0)
    # e.h first; col is 3 apart from it; ico overlaps col; all (8) is the first 50,000 one
    # apart from both
    assert picks == ["e.h", "col", "all"]
    assert expected == pytest.approx(6_000 * (9_000 / 1e6) * (50_000 / 1e6))


@pytest.mark.parametrize(
    ("term", "rare", "common", "picks"),
    [
        # jes 0, sic 3 (both in `jessica`), a.a 6 (across the dot), lle 9 (in `alle`): sic is
        # rarer than a.a but in jes's word; lle is the first of `alle` apart from a.a
        ("jessica.alle", {"jes": 5_000, "sic": 6_000, "a.a": 7_000}, 40_000, ["jes", "a.a", "lle"]),
        # mic 0, ell 4 (both in `michelle`), e.r 7, riv 9: riv shares the r of e.r, and is of
        # another word than mic
        (
            "michelle.riv",
            {"e.r": 7_000, "riv": 10_000, "mic": 20_000, "ell": 50_000},
            60_000,
            ["e.r", "mic", "riv"],
        ),
        # one word: abc 0, def 3 and ghi 6 lie apart, and are taken when no other word can give
        ("abcdefghi", {"def": 10, "ghi": 20, "abc": 30}, 900, ["def", "ghi", "abc"]),
        # 242 0, 271 3: a number's digits are no word (they do not go together as a name's
        # letters do); @ex 6 comes before 1@e, which shares the 1 of 271
        ("242271@ex", {"271": 8_000, "242": 9_000, "1@e": 9_500}, 50_000, ["271", "242", "@ex"]),
    ],
)
def test_rare_trigrams_are_taken_from_different_words_first(
    term: str, rare: dict[str, int], common: int, picks: list[str]
) -> None:
    docs = {g: common for g in rules.trigrams(term)} | rare
    found = rules.rare_trigrams(term, docs, 1_000_000, everything)
    assert found is not None and found[0] == picks


def test_a_trigram_the_sample_never_saw_counts_as_rarest() -> None:
    docs = {"abc": 90, "bcd": 90, "cde": 90, "efg": 90}  # `def` is missing: never sampled
    picks, expected = rules.rare_trigrams("abcdefg", docs, 100, everything) or ([], 1.0)
    assert picks == ["def", "abc"] and expected == 0.0


def test_a_term_too_short_for_two_apart_still_gets_a_second_trigram() -> None:
    docs = {"hns": 18_000, "joh": 28_000, "ohn": 28_000, "nso": 37_000, "son": 148_000}
    picks, expected = rules.rare_trigrams("johnson", docs, 1_000_000, everything) or ([], 0.0)
    # `hns` sits in the middle: every other trigram overlaps it, so the next rarest narrows the
    # candidates without lowering what to expect (they are held by the same customers)
    assert picks == ["hns", "joh"]
    assert expected == 18_000


def test_unusable_trigrams_are_never_picked() -> None:
    def letters(gram: str) -> bool:
        return gram.isalnum()

    assert rules.rare_trigrams("a.b.c", {}, 10, letters) is None
    picks, _ = rules.rare_trigrams("ab.cdef", {}, 10, letters) or ([], 0.0)
    assert picks and all(p.isalnum() for p in picks)


alnum = rules.ascii_alnum  # PostgreSQL's usable trigrams (repository._usable)


def word_edge(gram: str) -> bool:  # and its word edges
    return rules.word_edge(gram) is not None


@pytest.mark.parametrize(
    ("term", "rare", "picks"),
    [
        # `ga` is too short for a trigram of its own, so the word edge .ga (9) narrows by the
        # second word; ie. (7) is dropped, rare as it looks: `nie` (6) reads that word's end;
        # ste (0) is the first apart from both
        ("stephanie.ga", {"pha": 9_000, ".ga": 20_000, "ie.": 1_000}, ["pha", ".ga", "ste"]),
        # both words have trigrams of their own: the edges .ca and en. are never read
        ("karen.carter", {"kar": 9_000, ".ca": 10, "en.": 10}, ["kar", "car", "ter"]),
        # an edge is never the first pick, however rare its figure
        ("jo.smith", {"jo.": 5, "smi": 30_000}, ["smi", "jo."]),
        # nor one held by more than a tenth: `@ex` (` ex`) is in every email
        ("torres.0@ex", {"tor": 9_000, "@ex": 1_000_000}, ["tor", "res"]),
    ],
)
def test_rare_trigrams_take_a_word_edge_for_a_short_word(
    term: str, rare: dict[str, int], picks: list[str]
) -> None:
    docs = {g: 50_000 for g in rules.trigrams(term)} | rare
    found = rules.rare_trigrams(term, docs, 1_000_000, alnum, word_edge)
    assert found is not None and found[0] == picks


def test_word_edge_docs_count_the_ascii_edges_of_each_word_once() -> None:
    texts = [
        rules.search_text("Ga Garcia", "ga.x@ex.com", None),
        rules.search_text("Zoë", "éa12@ex.com", None),
    ]
    docs = rules.word_edge_docs(texts)
    # `ga` begins three words of the first text and ends one: counted once; `x` is too short;
    # the edges `oë` and `éa` are not ASCII (a search never reads them); `éa12` ends in `12`
    assert docs == {
        **{" ga": 1, "ga ": 1, "ia ": 1, " zo": 1, "12 ": 1},
        **{" ex": 2, "ex ": 2, " co": 2, "om ": 2},
    }


def test_without_a_usable_trigram_no_edge_is_read() -> None:
    assert rules.rare_trigrams("jo.ga", {}, 10, alnum, word_edge) is None


@given(
    st.text(alphabet="abc.@1", min_size=3, max_size=20),
    st.dictionaries(st.text(alphabet="abc.@1", min_size=3, max_size=3), st.integers(0, 1000)),
)
def test_rare_trigrams_are_trigrams_of_the_term(term: str, docs: dict[str, int]) -> None:
    found = rules.rare_trigrams(term, docs, 1000, everything)
    assert found is not None
    picks, expected = found
    assert 1 <= len(picks) <= rules.RARE_PICKS and len(set(picks)) == len(picks)
    assert all(p in term for p in picks)
    assert expected <= docs.get(picks[0], 0) == min(docs.get(g, 0) for g in rules.trigrams(term))


@given(
    st.text(alphabet="ab1.@", min_size=3, max_size=20),
    st.dictionaries(st.text(alphabet="ab1.@", min_size=3, max_size=3), st.integers(0, 1000)),
)
def test_word_edges_are_read_only_beside_a_usable_trigram(term: str, docs: dict[str, int]) -> None:
    found = rules.rare_trigrams(term, docs, 1000, alnum, word_edge)
    if found is None:
        assert not any(alnum(g) for g in rules.trigrams(term))
        return
    picks, _ = found
    assert alnum(picks[0]) and all(alnum(p) or word_edge(p) for p in picks)
    for p in picks:
        if not alnum(p):  # an edge is taken only where the word has no usable trigram there
            i = term.index(p)
            after, before = term[i + 1 : i + 4], term[max(i - 1, 0) : i + 2]
            assert not (len(after) == 3 and alnum(after))
            assert i == 0 or not alnum(before)


def test_search_words_are_runs_of_three_to_64_letters() -> None:
    text = rules.search_text("Zoë O'Neil-Smith Jr", "j.smith42@mail.example.org", "+15551234567")
    assert rules.search_words(text) == {"zoë", "neil", "smith", "mail", "example", "org"}
    assert rules.search_words("a" * 70) == {"a" * 64, "a" * 6}  # 64, then the rest
    assert rules.search_words(rules.search_text("STRASSE straße", None, None)) == {"strasse"}


@given(st.text(max_size=80), st.text(max_size=80))
def test_word_deltas_take_the_old_words_out_and_put_the_new_in(old: str, new: str) -> None:
    counts = Counter(rules.search_words(old))
    counts.update(rules.word_deltas(old, new))
    assert +counts == Counter(rules.search_words(new))  # no word below zero, none left over
    assert min(counts.values(), default=0) >= 0
    assert all(word in new for word in rules.search_words(new))  # substrings of the text
