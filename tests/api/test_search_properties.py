"""Property: after any sequence of creates, updates and deletes, search finds exactly the customers
a reference computed from the customers themselves finds — read-after-write, with the search
index (FTS5 tables kept by the repository on SQLite, a GIN index on PostgreSQL) always in step.

The reference is the contract's rule: a case-folded substring of name, email or phone, or a
case-insensitive prefix of the id (with or without `cus_`) or of the DID (with or without
`did:abt:`)."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paymentkit.server.customers import search_stats, service
from paymentkit.server.customers.rules import fold, search_words
from paymentkit.server.db.engine import Database
from tests.conftest import API

SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Small alphabets so that terms often match, including letters whose folds are tricky.
names = st.one_of(
    st.none(), st.text(alphabet="abAB ßSsİiı", min_size=1, max_size=6).filter(str.strip)
)
phones = st.one_of(st.none(), st.sampled_from(["+15551234567", "+442079460958", "+15557654321"]))
operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), names, phones),
        st.tuples(st.just("update"), st.integers(min_value=0), names, phones),
        st.tuples(st.just("delete"), st.integers(min_value=0)),
    ),
    min_size=1,
    max_size=12,
)
terms = st.lists(st.text(alphabet="abABßsSİiı 5@.", min_size=1, max_size=7), max_size=6)


def sample(db: Database, livemode: bool = False) -> None:
    """Sample the mode's search trigram figures now, as an import that grew it does."""
    taken = db.run_sync(lambda tx: service.search_sample(tx, livemode, force=True))
    assert taken is not None
    db.run_sync(lambda tx: search_stats.store(tx, livemode, taken), write=True)


def word_counts(db: Database) -> tuple[dict[tuple[bool, str], int], dict[tuple[bool, str], int]]:
    """(the word counts the database keeps, the same counted from its live customers' text)."""

    def read(tx: Any) -> tuple[list[Any], list[Any]]:
        kept = tx.all(
            "SELECT livemode, word, sum(n) FROM search_word_counts GROUP BY livemode, word"
        )
        texts = tx.all("SELECT livemode, search_text FROM customers WHERE deleted_at IS NULL")
        return kept, texts

    kept, texts = db.run_sync(read)
    counted: Counter[tuple[bool, str]] = Counter()
    for livemode, text in texts:
        counted.update((bool(livemode), w) for w in search_words(text))
    return {(bool(m), str(w)): int(n) for m, w, n in kept if n}, dict(counted)


def matches(customer: dict[str, Any], query: str) -> bool:
    term = fold(query.strip())
    for field in ("name", "email", "phone"):
        if customer[field] and term in fold(customer[field]):
            return True
    lowered = customer["id"].lower()
    if lowered.startswith(term) or lowered.startswith("cus_" + term):
        return True
    did = customer["did"]
    if did is not None:
        full = ("did:abt:" + did).lower()
        if did.lower().startswith(term) or full.startswith(term):
            return True
    return False


def found(api: API, query: str) -> tuple[set[str], int]:
    """Every match of the search (walked with cursors) and the count the first page gave."""
    seen: set[str] = set()
    after: str | None = None
    count = -1
    while True:
        params: dict[str, Any] = {"query": query, "limit": 100}
        if after:
            params["starting_after"] = after
        r = api.get("/api/customers/search", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count_is_exact"] is True
        count = body["count"] if count < 0 else count
        seen |= {c["id"] for c in body["list"]}
        if not body["has_more"]:
            return seen, count
        after = body["list"][-1]["id"]


@SETTINGS
@given(ops=operations, queries=terms, sampled_after=st.one_of(st.none(), st.integers(0, 12)))
def test_search_agrees_with_the_reference_after_any_writes(
    api: API,
    db: Database,
    ops: list[tuple[Any, ...]],
    queries: list[str],
    sampled_after: int | None,
) -> None:
    """`sampled_after`: the trigram figures (search_stats) are sampled after that many of the
    writes, so later writes leave them stale; searches of long terms then go through the
    rarest trigrams the figures name."""
    tag = uuid.uuid4().hex[:10]
    # Every customer of the database, across examples (the database lives as long as `api`).
    live: dict[str, dict[str, Any]] = api.__dict__.setdefault("search_reference", {})
    for n, op in enumerate(ops):
        if n == sampled_after:
            sample(db)
        if op[0] == "create":
            body = {
                "name": op[1],
                "phone": op[2],
                "email": f"{tag}@ex.com",
                "metadata": {"run": tag},
            }
            r = api.post("/api/customers", json=body)
            assert r.status_code == 201, r.text
            live[r.json()["id"]] = r.json()
        elif live and op[0] == "update":
            victim = sorted(live)[op[1] % len(live)]
            r = api.put(f"/api/customers/{victim}", json={"name": op[2], "phone": op[3]})
            assert r.status_code == 200, r.text
            live[victim] = r.json()
        elif live and op[0] == "delete":
            victim = sorted(live)[op[1] % len(live)]
            assert api.delete(f"/api/customers/{victim}").status_code == 200
            del live[victim]
    for query in [*queries, tag, tag.upper()]:
        if not query.strip():
            continue
        expected = {i for i, c in live.items() if matches(c, query)}
        assert found(api, query) == (expected, len(expected)), query
    kept, counted = word_counts(db)  # the exact word counts followed every write
    assert kept == counted
