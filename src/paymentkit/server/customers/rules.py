"""Pure validation and merge rules for customer fields (no I/O). Each failure names its `param`."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from iso3166 import countries_by_alpha2
from msgspec import UNSET, UnsetType

from paymentkit.server.errors import InvalidRequest
from paymentkit.server.validation import (
    METADATA_KEY_MAX,
    METADATA_MAX_KEYS,
    METADATA_VALUE_MAX,
    metadata,
    metadata_text,
    text,
)

__all__ = [
    "METADATA_KEY_MAX",
    "METADATA_MAX_KEYS",
    "METADATA_VALUE_MAX",
    "metadata",
    "metadata_text",
    "text",
]

NAME_MAX = 256
DESCRIPTION_MAX = 1000
ADDRESS_FIELD_MAX = 200
EMAIL_MAX = 512
DID_MAX = 128
ADDRESS_FIELDS = ("country", "state", "city", "line1", "line2", "postal_code")

DID_PREFIX = "did:abt:"
_BASE58_DID = re.compile(r"z[1-9A-HJ-NP-Za-km-z]+")


def email(value: str | None) -> str | None:
    value = text(value, "email", EMAIL_MAX)
    if value is None:
        return None
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidRequest(f"email is not a valid address: {exc}", "email") from None
    normalized: str = result.normalized
    return normalized


def phone(value: str | None) -> str | None:
    """A *possible* number with its country code, stored in E.164. An extension (`ext. 12`,
    `x12`, `;ext=12`, `#12`) is refused: E.164 cannot hold it."""
    value = text(value, "phone", 64)
    if value is None:
        return None
    if not value.startswith("+"):
        raise InvalidRequest(
            "phone must start with + and the country code, e.g. +15551234567", "phone"
        )
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidRequest(f"phone is not a phone number: {exc}", "phone") from None
    if number.extension:
        # E.164 has no place for one and customers have no column for it: refused, never dropped.
        raise InvalidRequest(
            "phone extensions are not supported; send the number without the extension"
            f" (found extension {number.extension})",
            "phone",
        )
    if not phonenumbers.is_possible_number(number):
        raise InvalidRequest("phone is not a possible number for its country code", "phone")
    formatted: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # E.164 has at most 15 digits, and a stored number must read back as itself: refuse inputs
    # the library can only normalise by dropping digits it cannot place. An input that already
    # is its E.164 form has just been read back (half the cost of a bulk import's phones).
    if len(formatted) > 16 or (formatted != value and _e164(formatted) != formatted):
        raise InvalidRequest("phone is not a possible number for its country code", "phone")
    return formatted


def _e164(value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    result: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return result


def country(value: str | None) -> str | None:
    value = text(value, "address.country", ADDRESS_FIELD_MAX)
    if value is None:
        return None
    code = value.upper()
    if len(code) != 2 or code not in countries_by_alpha2:
        raise InvalidRequest(
            "address.country must be an ISO 3166-1 alpha-2 code such as US", "address.country"
        )
    return code


def did(value: str | None, param: str = "did") -> str | None:
    """A base58 DID starting with `z`; the `did:abt:` prefix is accepted and stripped."""
    if value is None:
        return None
    value = value.strip()
    if value.startswith(DID_PREFIX):
        value = value[len(DID_PREFIX) :]
    if not value:
        return None
    if len(value) > DID_MAX or not _BASE58_DID.fullmatch(value):
        raise InvalidRequest(
            f"{param} must be a DID: base58 starting with z, optionally prefixed with did:abt:",
            param,
        )
    return value


def looks_like_did(value: str) -> bool:
    try:
        return did(value) is not None
    except InvalidRequest:
        return False


def address(
    current: dict[str, str] | None, changes: dict[str, str | UnsetType | None] | None
) -> dict[str, str] | None:
    """Merge address changes field by field; None for `changes` clears the address."""
    if changes is None:
        return None
    merged = dict(current or {})
    for name in ADDRESS_FIELDS:
        raw = changes.get(name, UNSET)
        if raw is UNSET:
            continue
        assert not isinstance(raw, UnsetType)
        cleaned = (
            country(raw) if name == "country" else text(raw, f"address.{name}", ADDRESS_FIELD_MAX)
        )
        if cleaned is None:
            merged.pop(name, None)
        else:
            merged[name] = cleaned
    return merged or None


SEARCH_SEPARATOR = "\x1f"  # ASCII unit separator: keeps a match inside one field
SEARCH_MAX = 512
# The shortest substring a trigram index holds; shorter terms need the index's vocabulary (the
# trigrams that begin with them, on SQLite) or a walk in list order.
TRIGRAM = 3
# Characters an id (`cus_` + [0-9A-Za-z]) or a DID (base58) can hold once folded: a term with
# any other character cannot be a prefix of either, so those lookups are skipped.
_IDENTIFIER = re.compile(r"[0-9a-z_]+")


def fold(value: str) -> str:
    """Text as search compares it: Unicode full case folding after NFKC (so `STRASSE` and
    `straße` meet at `strasse`), with the dotted capital I's fold `i̇` taken as `i` (so
    `istanbul` finds `İstanbul`), recomposed to NFC."""
    folded = unicodedata.normalize("NFKC", value).casefold().replace("i\u0307", "i")
    return unicodedata.normalize("NFC", folded)


def search_text(name: str | None, email: str | None, phone: str | None) -> str:
    """What substring search matches against: name, email and phone, folded, each followed by
    the separator (so every 2-character substring begins some trigram of the text).

    Ids and DIDs are random strings: they are matched by prefix through their own indexes
    (ARCHITECTURE.md, "Search"), which keeps the trigram index a tenth of the size."""
    return "".join(fold(f or "") + SEARCH_SEPARATOR for f in (name, email, phone))


def trigrams(text: str) -> list[str]:
    """The distinct trigrams of `text` (every 3-character substring), first occurrence first."""
    return list(dict.fromkeys(text[i : i + TRIGRAM] for i in range(len(text) - TRIGRAM + 1)))


def trigram_docs(texts: Iterable[str]) -> Counter[str]:
    """In how many of `texts` each trigram occurs (a document frequency)."""
    docs: Counter[str] = Counter()
    for one in texts:
        docs.update(trigrams(one))
    return docs


_INDEX_WORD = re.compile(r"[^\W_]+")  # pg_trgm's word: a run of letters and digits
# ASCII characters that end a word for pg_trgm in any locale and mean nothing to LIKE (`%`, `_`
# and the escape `\` left out), and the field separator.
_WORD_ENDS = frozenset(" !\"#$&'()*+,-./:;<=>?@[]^`{|}~" + SEARCH_SEPARATOR)


def ascii_alnum(text: str) -> bool:
    """ASCII letters and digits only: what pg_trgm takes for a word in any locale."""
    return text.isascii() and text.isalnum()


def word_edge(gram: str) -> str | None:
    """The trigram pg_trgm pads a word's edge into and LIKE '%gram%' reads, when the trigram
    `gram` of a search term is a word's edge: ` ga` for `.ga` (a word begins with `ga`; LIKE
    reads it with `  g`), `ie ` for `ie.` (a word ends so); None for any other."""
    if gram[0] in _WORD_ENDS and ascii_alnum(gram[1:]):
        return " " + gram[1:]
    if gram[2] in _WORD_ENDS and ascii_alnum(gram[:2]):
        return gram[:2] + " "
    return None


def word_edge_docs(texts: Iterable[str]) -> Counter[str]:
    """In how many of `texts` a word (a run of letters and digits) begins with each two ASCII
    letters or digits, counted as ` xy`, or ends with them, as `xy `: the trigrams pg_trgm pads
    a word's edges into, under the keys word_edge gives a search term's edges (`.ga`, `ie.`)."""
    docs: Counter[str] = Counter()
    for one in texts:
        edges: set[str] = set()
        for word in _INDEX_WORD.findall(one):
            if len(word) >= 2:
                for pair, key in ((word[:2], " " + word[:2]), (word[-2:], word[-2:] + " ")):
                    if pair.isascii():
                        edges.add(key)
        docs.update(edges)
    return docs


# The words of a search_text whose live customers are counted exactly (search_word_counts):
# runs of letters, 3 to 64 of them (a longer run gives its first 64, then the rest). Each is a
# substring of the text, so a customer holding a word that contains a term matches the term,
# and a word held by more than 10,000 live customers proves a search for any part of its
# beginning has more than 10,000 matches without counting them (repository._word_bound).
WORD_MIN, WORD_MAX = 3, 64
_LETTER = r"[^\W\d_]"  # a letter: a word character that is no digit and no `_`
_WORD = re.compile(rf"{_LETTER}{{{WORD_MIN},{WORD_MAX}}}")


def search_words(text: str) -> set[str]:
    """The distinct counted words of a search_text."""
    return set(_WORD.findall(text))


def word_deltas(old: str | None, new: str | None) -> Counter[str]:
    """How each word's count changes when a live customer's search_text goes from `old` to `new`
    (None: the customer is not live, before or after)."""
    before = search_words(old or "")
    after = search_words(new or "")
    deltas: Counter[str] = Counter()
    for word in after - before:
        deltas[word] += 1
    for word in before - after:
        deltas[word] -= 1
    return deltas


RARE_PICKS = 3  # trigrams a search reads through, at most
# A word edge is read only when at most 1/EDGE_SHARE of the customers hold it: at
# 1M, those of short second words held 1.3-7.8% (`.60`, `.jo`); `@ex`, in every email, 100%.
EDGE_SHARE = 10


def rare_trigrams(
    term: str,
    docs: Mapping[str, int],
    population: int,
    usable: Callable[[str], bool],
    edge: Callable[[str], bool] | None = None,
) -> tuple[list[str], float] | None:
    """The trigrams of `term` a search should read (the customers holding all of them are
    its candidates), with the expected number of candidates; None when no trigram is usable.

    The rarest comes first; then, rarest first: those that overlap none picked and lie in a
    word (a run of letters) none picked lies in; then those of such words that share one
    character with a pick; then any that overlap none; when none is left, the next rarest.
    Trigrams that share characters are held by the same customers (`hns` and `nso` of
    `johnson`), and so are those of one name: at 1M, `jes`, `sic` and `a.a` left 622
    candidates for the 197 matches of `jessica.alle`, `jes`, `a.a` and `lle` 197; `e.r`, `mic`
    and `ell` 1,012 for the 226 of `michelle.riv`, `riv` (sharing an `r` with `e.r`) for `ell`
    226. `docs` holds the estimated customers per trigram (a missing one counts 0: too rare to
    be sampled).

    `edge` tells the trigrams the index holds only as a word's edge (PostgreSQL's `.ga`, read as
    the ` ga` of every word that begins with `ga`): one may be taken, in the first round, for a
    word too short to have a usable trigram at that edge (the `ga` of `stephanie.ga`) and held
    by at most a tenth of the customers (`docs` gives the word edge's figure). It is never the
    first pick: what it reads, with the edge, is the list of every word beginning with `g`."""
    at: dict[str, int] = {}
    edges: dict[str, int] = {}
    plain: set[int] = set()
    for i in range(len(term) - TRIGRAM + 1):
        gram = term[i : i + TRIGRAM]
        if usable(gram):
            at.setdefault(gram, i)
            plain.add(i)
        elif edge is not None and edge(gram):
            edges.setdefault(gram, i)
    if not at:
        return None
    # an edge next to a usable trigram belongs to a word long enough to be read by its own;
    # a common one narrows little, and its LIKE reads a longer list too (` ex` with `  e`)
    edges = {
        g: i
        for g, i in edges.items()
        if i - 1 not in plain and i + 1 not in plain and docs.get(g, 0) * EDGE_SHARE <= population
    }
    order = sorted(at, key=lambda g: docs.get(g, 0))
    first_round = sorted(order[1:] + list(edges), key=lambda g: docs.get(g, 0))
    at |= edges
    word = _words(term)
    picks = [order[0]]
    for apart, gap in ((True, TRIGRAM), (True, TRIGRAM - 1), (False, TRIGRAM)):
        for gram in first_round if gap == TRIGRAM and apart else order[1:]:
            if len(picks) == RARE_PICKS:
                break
            i = at[gram]
            if gram in picks or any(abs(i - at[p]) < gap for p in picks):
                continue
            if apart and word[i] is not None and any(word[i] == word[at[p]] for p in picks):
                continue
            picks.append(gram)
    # The picks are taken as independent (one sharing a character with another, of another
    # word, too); an overlapping one, added when the term is too short for two, narrows the
    # candidates without changing what to expect.
    expected = float(docs.get(picks[0], 0))
    for gram in picks[1:]:
        expected *= docs.get(gram, 0) / max(population, 1)
    if len(picks) == 1 and len(order) > 1:
        picks.append(order[1])
    return picks, expected


_LETTERS = re.compile(_LETTER + "+")


def _words(term: str) -> list[int | None]:
    """For each trigram position of `term`, which word (a run of letters) holds two or more of
    its three characters, by the word's start; None for a trigram across a separator (`a.a`)
    or of digits (a number's digits come in any order; a name's letters do not)."""
    at: list[int | None] = [None] * len(term)
    for m in _LETTERS.finditer(term):
        at[m.start() : m.end()] = [m.start()] * (m.end() - m.start())
    # two of three neighbours share a word only if the middle one is in it
    return [
        at[i + 1] if at[i + 1] is not None and at[i + 1] in (at[i], at[i + 2]) else None
        for i in range(len(term) - TRIGRAM + 1)
    ]


@dataclass(frozen=True)
class SearchTerm:
    """A search query, folded, with the prefix lookups it implies."""

    text: str  # folded; a substring of search_text
    id_prefix: str | None  # folded prefix of lower(id) (after `cus_` too); None: no id has it
    did_prefix: str | None  # folded prefix of lower(did), "" for "every customer with a DID"


def search_term(query: str) -> SearchTerm | None:
    """The folded term of a search query, or None when nothing can match it (a term holding
    the field separator would match across two fields)."""
    text_ = fold(query.strip())
    if not text_ or SEARCH_SEPARATOR in text_:
        return None
    id_prefix = text_ if _IDENTIFIER.fullmatch(text_) else None
    prefix = fold(DID_PREFIX)
    did_prefix: str | None
    if text_.startswith(prefix):
        rest = text_[len(prefix) :]
        did_prefix = rest if not rest or _IDENTIFIER.fullmatch(rest) else None
    elif prefix.startswith(text_):  # "did:a" is how every DID written in full begins
        did_prefix = ""
    else:
        did_prefix = text_ if _IDENTIFIER.fullmatch(text_) else None
    return SearchTerm(text_, id_prefix, did_prefix)
