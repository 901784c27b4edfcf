"""Search terms of every kind the contract names, and counts past 10,000 (API.md, Customers:
search; Conventions: counts)."""

from __future__ import annotations

from typing import Any

import pytest

from paymentkit.schemas.customers import CustomerInput
from paymentkit.server.customers import repository, search_stats, service
from paymentkit.server.db.engine import Database
from tests.api.test_search_properties import matches, sample
from tests.conftest import API


def create(api: API, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/api/customers", json=body)
    assert r.status_code == 201, r.text
    customer: dict[str, Any] = r.json()
    return customer


def found(api: API, query: str, **params: Any) -> dict[str, Any]:
    r = api.get("/api/customers/search", params={"query": query, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [c["id"] for c in body["list"]]


DID = "zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ"


def test_every_kind_of_term(api: API) -> None:
    c = create(
        api,
        {
            "did": DID,
            "name": "Zoë Straße-İstanbul",
            "email": "Zoe.Q@Example.com",
            "phone": "+442079460958",
        },
    )
    other = create(api, {"name": "Someone Else", "phone": "+15551234567"})
    expected = {
        "zoe.q@example.com": [c["id"]],  # an exact email
        "ZOE.Q@": [c["id"]],  # an email prefix
        "strasse": [c["id"]],  # ß folds to ss
        "ISTANBUL": [c["id"]],  # İ folds to i
        "zoë": [c["id"]],
        "0958": [c["id"]],  # a phone fragment
        "58": [c["id"]],  # two characters at the very end of the text
        "67": [other["id"]],
        "q@": [c["id"]],  # two characters around punctuation
        DID[:8]: [c["id"]],  # a DID prefix
        f"did:abt:{DID[:6]}": [c["id"]],
        DID.upper(): [c["id"]],
        c["id"][4:12]: [c["id"]],  # an id without cus_
        "qqqzzz": [],  # nothing
        "xq": [],
        DID[10:20]: [],  # DIDs match by prefix only
    }
    for term, want in expected.items():
        body = found(api, term)
        assert ids(body) == want, term
        assert body["count"] == len(want) and body["count_is_exact"] is True, term
        assert body["has_more"] is False


def test_one_letter_terms_walk_and_count(api: API) -> None:
    made = [create(api, {"name": f"Q{i} Person"})["id"] for i in range(7)]
    body = found(api, "q", limit=3)
    assert ids(body) == made[::-1][:3]
    assert body["count"] == 7 and body["has_more"] is True


def test_a_renamed_customer_is_found_by_the_next_search(api: API) -> None:
    c = create(api, {"name": "Before Name"})
    assert ids(found(api, "before")) == [c["id"]]
    assert api.put(f"/api/customers/{c['id']}", json={"name": "After Name"}).status_code == 200
    assert ids(found(api, "before")) == []
    assert ids(found(api, "after")) == [c["id"]]
    assert ids(found(api, "af")) == [c["id"]]
    assert api.delete(f"/api/customers/{c['id']}").status_code == 200
    assert ids(found(api, "after")) == []


def test_counts_past_ten_thousand_are_flagged_and_has_more_stays_exact(
    api: API, db: Database
) -> None:
    def bulk(tx: Any) -> None:
        for i in range(10_001):
            metadata = {"k": "v", "j": True, "h": i % 2 == 0}
            data = CustomerInput(name=f"Common {i}", metadata=metadata)
            service.create(tx, False, data)

    db.run_sync(bulk, write=True)
    rare = create(api, {"name": "Rare One", "metadata": {"k": "w"}})
    for path, params in (
        ("/api/customers/search", {"query": "common"}),
        ("/api/customers/search", {"query": "co"}),
        ("/api/customers", {"metadata.k": "v", "metadata.j": "true"}),
    ):
        body = api.get(path, params={**params, "limit": 100}).json()
        assert body["count_is_exact"] is False and body["count"] > 10_000, path
        assert body["has_more"] is True and len(body["list"]) == 100
    # The unfiltered list and a single metadata filter count exactly from their counters, and
    # small filters count exactly.
    everything = api.get("/api/customers").json()
    assert everything["count"] == 10_002 and everything["count_is_exact"] is True
    one = api.get("/api/customers", params={"metadata.k": "v"}).json()
    assert (one["count"], one["count_is_exact"]) == (10_001, True)
    half = api.get("/api/customers", params={"metadata.h": "true"}).json()
    assert (half["count"], half["count_is_exact"]) == (5_001, True)
    body = api.get("/api/customers", params={"metadata.k": "w"}).json()
    assert (body["count"], body["count_is_exact"], ids(body)) == (1, True, [rare["id"]])
    # Numbered pages past the middle (read from the end) agree with cursor pages.
    last = api.get("/api/customers", params={"page": 101, "pageSize": 100}).json()
    assert len(last["list"]) == 2 and last["has_more"] is False
    before = api.get(
        "/api/customers", params={"ending_before": last["list"][0]["id"], "limit": 100}
    ).json()
    page_100 = api.get("/api/customers", params={"page": 100, "pageSize": 100}).json()
    assert ids(before) == ids(page_100)


def test_metadata_counts_follow_every_write(api: API) -> None:
    def count(value: str) -> int:
        body = api.get("/api/customers", params={"metadata.tier": value}).json()
        assert body["count_is_exact"] is True
        assert body["count"] == len(body["list"])
        return int(body["count"])

    a = create(api, {"metadata": {"tier": "gold"}})
    b = create(api, {"metadata": {"tier": "gold", "x": "1"}})
    assert (count("gold"), count("silver")) == (2, 0)
    api.put(f"/api/customers/{a['id']}", json={"metadata": {"tier": "silver"}})
    assert (count("gold"), count("silver")) == (1, 1)
    api.put(f"/api/customers/{a['id']}", json={"metadata": {"x": "2"}})  # merge keeps tier
    assert (count("gold"), count("silver")) == (1, 1)
    api.put(f"/api/customers/{b['id']}", json={"metadata": None})
    assert count("gold") == 0
    api.delete(f"/api/customers/{a['id']}")
    assert count("silver") == 0


# -- searches through the rarest trigrams (customers/search_stats.py) -------------------------


def every_match(api: API, query: str) -> tuple[set[str], int, bool]:
    """The ids of every match (walked with cursors), and the first page's count and flag."""
    seen: set[str] = set()
    params: dict[str, Any] = {"limit": 100}
    first = found(api, query, **params)
    body = first
    while True:
        seen |= set(ids(body))
        if not body["has_more"]:
            return seen, first["count"], first["count_is_exact"]
        body = found(api, query, **params, starting_after=body["list"][-1]["id"])


class Spy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.found: list[int | None] = []
        real = repository._through_rare

        def through_rare(*args: Any) -> Any:
            result = real(*args)
            self.found.append(None if result is None else len(result))
            return result

        monkeypatch.setattr(repository, "_through_rare", through_rare)


def test_long_terms_go_through_their_rarest_trigrams_and_find_exactly_their_matches(
    api: API, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, last = ["Jacob", "Nicole", "Raymond", "Mary"], ["Johnson", "Hall", "Jackson", "Smith"]
    people: dict[str, dict[str, Any]] = {}
    for i in range(48):
        name = f"{first[i % 4]} {last[(i // 4) % 4]}"
        email = f"{name.lower().replace(' ', '.')}.{i}@example.com"
        c = create(api, {"name": name, "email": email, "phone": f"+1555310{i:04d}"})
        people[c["id"]] = c
    sample(db)
    # then the figures go stale: a rename, a new customer, a deleted one
    renamed = next(iter(people))
    people[renamed] = api.put(f"/api/customers/{renamed}", json={"name": "Quentin Zyx"}).json()
    late = create(api, {"name": "Nicole Hallett", "email": "late.one@example.org"})
    people[late["id"]] = late
    gone = list(people)[5]
    assert api.delete(f"/api/customers/{gone}").status_code == 200
    del people[gone]
    spy = Spy(monkeypatch)
    terms = [
        people[list(people)[7]]["email"],  # an exact email
        "raymond.jackso",  # an email prefix
        "Nicole Hall",  # a full name (and the late Hallett)
        "quentin zyx",  # the renamed customer's new name, unknown to the figures
        "late.one@example.org",
        "3100017",  # a phone fragment
        "mary.smith.",
        "johnson",
        "nobody.here",
    ]
    for term in terms:
        want = {i for i, c in people.items() if matches(c, term)}
        assert every_match(api, term) == (want, len(want), True), term
    assert len(spy.found) >= 6 and all(n is not None for n in spy.found)


def test_a_short_last_word_narrows_through_its_word_edge_on_postgresql(
    api: API, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ga` of `stephanie.ga` has no trigram of its own; PostgreSQL's index holds ` ga` for every
    word beginning so, which LIKE '%.ga%' reads: the candidates are the Stephanies whose last
    name begins with `ga` (SQLite's FTS5 reads `.ga` itself, as any other trigram)."""
    first = ["Stephanie", "Christine", "Robert", "Michael"]
    last = ["Garcia", "Hall", "Rivera", "Smith", "Jones", "Brown", "Lee", "Walker", "Young"]
    last += ["King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Ramirez"]
    people: dict[str, dict[str, Any]] = {}
    for i, (a, b) in enumerate((a, b) for b in last for a in first):
        email = f"{a}.{b}.{i}@example.com".lower()
        c = create(api, {"name": f"{a} {b}", "email": email})
        people[c["id"]] = c
    sample(db)
    picked: list[list[str]] = []
    real = repository._through_rare

    def through_rare(tx: Any, f: Any, term: Any, grams: list[str]) -> Any:
        picked.append(grams)
        return real(tx, f, term, grams)

    monkeypatch.setattr(repository, "_through_rare", through_rare)
    for term in ["stephanie.ga", "Stephanie Ga", "christine.ri", "michael.sm", "robert.w"]:
        want = {i for i, c in people.items() if matches(c, term)}
        assert want and every_match(api, term) == (want, len(want), True), term
    assert len(picked) >= 5
    if db.dialect != "postgresql":
        return
    edges = {g for grams in picked for g in grams if not g.isalnum()}
    assert {".ga", " ga", ".ri", ".sm"} <= edges
    # figures sampled before word edges were figured (no WORD_EDGES row) count ` ga` as the
    # substring: no edge is read until the next sample
    db.run_sync(
        lambda tx: tx.execute(
            "DELETE FROM search_trigrams WHERE trigram = ?", (search_stats.WORD_EDGES,)
        ),
        write=True,
    )
    picked.clear()
    want = {i for i, c in people.items() if matches(c, "stephanie.ga")}
    assert every_match(api, "stephanie.ga") == (want, len(want), True)
    assert picked and all(g.isalnum() for grams in picked for g in grams)


def test_stored_figures_come_with_their_planner_statistics_on_postgresql(
    api: API, db: Database
) -> None:
    """Each search reads its trigrams' figures by key; PostgreSQL plans that read with the
    primary key only once the table has statistics, which it has right after a sample."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite plans a primary-key lookup without statistics")
    for i in range(30):
        create(api, {"name": f"Figure Person {i}", "email": f"figure.{i}@example.com"})

    def analyzed(tx: Any) -> int:
        return int(
            tx.scalar(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relid IN"
                " ('search_trigrams'::regclass, 'search_common_words'::regclass)"
                " AND coalesce(last_analyze, last_autoanalyze) IS NOT NULL"
            )
        )

    sample(db)
    assert db.run_sync(analyzed) == 2


def test_figures_that_promise_too_few_candidates_still_give_every_match(
    api: API, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(api, {"name": "Somebody Else"})
    sample(db)  # figures from one customer: every trigram of `quixotic` looks unheard of

    def bulk(tx: Any) -> None:
        for i in range(repository.FEW + 1):
            service.create(tx, False, CustomerInput(name=f"Quixotic {i}"))

    db.run_sync(bulk, write=True)
    spy = Spy(monkeypatch)
    seen, counted, exact = every_match(api, "quixotic")
    assert (len(seen), counted, exact) == (repository.FEW + 1, repository.FEW + 1, True)
    # every page tried the rare trigrams, found more than FEW candidates, read the whole term
    assert spy.found and all(n is None for n in spy.found)
    spy.found.clear()
    count = 1 + 10 + 100 + 1  # Quixotic 1, 10-19, 100-199, 1000
    seen, counted, exact = every_match(api, "quixotic 1")
    assert (len(seen), counted, exact) == (count, count, True)
    # On SQLite `c 1`, across the space, is picked before a second trigram of `quixotic`: its
    # candidates are the matches. PostgreSQL's trigrams are all in `quixotic`: the whole term.
    assert spy.found and set(spy.found) == ({None} if db.dialect == "postgresql" else {count})


def test_common_terms_still_count_past_ten_thousand_with_figures(api: API, db: Database) -> None:
    def bulk(tx: Any) -> None:
        for i in range(10_001):
            service.create(tx, False, CustomerInput(name=f"Commonplace {i}"))

    db.run_sync(bulk, write=True)
    sample(db)
    body = found(api, "commonplace", limit=100)
    assert body["count_is_exact"] is False and body["count"] > 10_000
    assert body["has_more"] is True and len(body["list"]) == 100
    body = found(api, "commonplace 99", limit=100)  # 99, 990-999, 9900-9999: 111
    assert (body["count"], body["count_is_exact"], body["has_more"]) == (111, True, True)


def test_a_common_word_bounds_the_count_without_counting_and_follows_every_write(
    api: API, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10,001 customers hold the word `zebulon`: a search for it, or for any beginning of it,
    has more than 10,000 matches, known from the word counts without counting the matches;
    deletes and renames take customers out of the word's count, and the count is exact again
    once it is 10,000 or fewer."""

    def bulk(tx: Any) -> None:
        for i in range(10_001):
            service.create(tx, False, CustomerInput(name=f"Zebulon {i}"))

    db.run_sync(bulk, write=True)
    sample(db)  # with figures (3+ letters) and without (1-2 letters) both take the bound
    counted: list[str] = []
    real = repository.paging.bounded_count

    def bounded_count(tx: Any, sql: str, params: Any) -> Any:
        counted.append(sql)
        return real(tx, sql, params)

    monkeypatch.setattr(repository.paging, "bounded_count", bounded_count)
    for term in ("zebulon", "Zebu", "ze", "z", "bulo", "ulon", "on"):
        body = found(api, term, limit=100)
        assert (body["count"], body["count_is_exact"], body["has_more"]) == (10_001, False, True)
        assert len(body["list"]) == 100 and all("Zebulon" in c["name"] for c in body["list"])
    assert counted == []
    assert found(api, "zebulon 9999")["count"] == 1  # not a word: counted, exactly
    first = found(api, "zebulon", limit=2)["list"]
    assert api.delete(f"/api/customers/{first[0]['id']}").status_code == 200
    r = api.put(f"/api/customers/{first[1]['id']}", json={"name": "Zeb Ulon"})
    assert r.status_code == 200, r.text
    body = found(api, "zebulon", limit=100)
    assert (body["count"], body["count_is_exact"], body["has_more"]) == (9_999, True, True)
    assert counted  # counted now: no word proves more than 10,000
    body = found(api, "zeb", limit=100)  # `zeb` is a word of the renamed one now
    assert (body["count"], body["count_is_exact"]) == (10_000, True)
