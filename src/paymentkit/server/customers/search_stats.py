"""How common each search trigram is, per mode (the search_trigrams table, migration 0011).

A search of a long term reads only the posting lists of its rarest trigrams and checks each
candidate against the whole term (repository._through_rare); these figures say which trigrams
are rare. They are estimated from a sample of the live customers, written by `paymentkit import`
and refreshed by the background worker when the mode has grown or shrunk by a fifth
(service.search_sample, then `store` in a write of its own). Only speed depends on them: a stale or missing figure picks
worse trigrams, never a different answer. All SQL on the table is here.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from paymentkit.server.customers import rules
from paymentkit.server.db.engine import Tx

SAMPLE = 10_000  # customers read per sample
_ROUNDS = 3  # draws of random seqs per sample
_RUN = 50  # then runs of this many consecutive customers, when the draws found too few
_SEEN_MIN = 2  # a trigram seen fewer times in the sample is not stored: it counts as rare
POPULATION = ""  # the trigram whose row holds the live customers counted at sampling
# PostgreSQL: a sample stores this row when its ` ga` and `ga ` rows are word edges' figures
# (rules.word_edge); in one without it they are the substrings', never read as edges
WORD_EDGES = " "
STALE_SHARE = 0.2  # resample when the mode's live customers changed by more than this share
MIN_POPULATION = 1_000  # below this, any search is cheap: the worker does not sample
COMMON_WORD = 5_000  # a word estimated to be held by this many customers is stored as common


def sampled_population(tx: Tx, livemode: bool) -> int | None:
    """The live customers counted when the mode was last sampled (None: never)."""
    value = tx.scalar(
        "SELECT docs FROM search_trigrams WHERE livemode = ? AND trigram = ?",
        (livemode, POPULATION),
    )
    return None if value is None else int(value)


def estimates(tx: Tx, livemode: bool, grams: Sequence[str]) -> tuple[int, dict[str, int]] | None:
    """(the live customers counted at sampling, the estimated number holding each of `grams`:
    those missing were too rare to be sampled); None when the mode was never sampled."""
    member, values = tx.member_of("trigram", [POPULATION, *grams])
    rows = tx.all(
        f"SELECT trigram, docs FROM search_trigrams WHERE livemode = ? AND {member}",
        (livemode, values),
    )
    found = {str(r[0]): int(r[1]) for r in rows}
    population = found.pop(POPULATION, None)
    return None if population is None else (population, found)


def stale(sampled: int | None, population: int) -> bool:
    """Whether a mode of `population` live customers, sampled at `sampled`, needs a new sample."""
    if sampled is None:
        return population >= MIN_POPULATION
    return abs(population - sampled) > STALE_SHARE * max(sampled, 1)


def _sample(tx: Tx, livemode: bool, population: int, rng: random.Random) -> list[str]:
    """The search_text of up to SAMPLE live customers of the mode, picked at random: random seqs
    first (rows next to each other share an import's numbering: runs of 50 overstated `990` by
    half), then runs from random places when the mode holds few of the table's seqs."""
    live = "livemode = ? AND deleted_at IS NULL"
    if population <= SAMPLE:
        rows = tx.all(f"SELECT search_text FROM customers WHERE {live}", (livemode,))
        return [str(r[0]) for r in rows]
    top = int(tx.scalar("SELECT coalesce(max(seq), 0) FROM customers") or 0)
    seen: dict[int, str] = {}
    for _ in range(_ROUNDS):
        want = SAMPLE - len(seen)
        if want <= 0:
            break
        member, seqs = tx.member_of(
            "seq", sorted({rng.randint(1, top) for _ in range(want * 5 // 4)})
        )
        rows = tx.all(
            f"SELECT seq, search_text FROM customers WHERE {member} AND {live}", (seqs, livemode)
        )
        seen.update((int(r[0]), str(r[1])) for r in rows[:want])
    for _ in range(4 * SAMPLE // _RUN):  # the mode holds a small part of the table's seqs
        if len(seen) >= SAMPLE // 2:
            break
        rows = tx.all(
            f"SELECT seq, search_text FROM customers WHERE {live} AND seq >= ? ORDER BY seq LIMIT ?",
            (livemode, rng.randint(1, top), _RUN),
        )
        seen.update((int(r[0]), str(r[1])) for r in rows)
    return list(seen.values())


@dataclass(frozen=True)
class Sample:
    population: int  # the mode's live customers when it was taken
    texts: list[str]  # the search_text of the customers sampled


def take(tx: Tx, livemode: bool, population: int) -> Sample:
    """A sample of the mode's live customers (`population` of them); reads only."""
    rng = random.Random()  # noqa: S311 (a sample, not a secret)
    return Sample(population, _sample(tx, livemode, population, rng))


def store(tx: Tx, livemode: bool, sample: Sample) -> None:
    """Replace the mode's figures by the sample's estimates: how many of the mode's customers
    hold each trigram, scaled from the share of the sample holding it; and its common words,
    those estimated to be held by COMMON_WORD customers or more (search_common_words)."""
    n = max(len(sample.texts), 1)
    whole = sample.population <= len(sample.texts)  # every live customer was read: exact
    docs = dict(rules.trigram_docs(sample.texts))
    if tx.dialect == "postgresql":  # there ` ga` stands for the index's word edge, not for the
        # substring (which that index cannot read: rules.word_edge)
        docs |= rules.word_edge_docs(sample.texts)
        docs[WORD_EDGES] = n
    rows = [
        (livemode, gram, round(seen * sample.population / n))
        for gram, seen in docs.items()
        if seen >= _SEEN_MIN or whole
    ]
    rows.append((livemode, POPULATION, sample.population))
    tx.execute("DELETE FROM search_trigrams WHERE livemode = ?", (livemode,))
    words: Counter[str] = Counter()
    for text in sample.texts:
        words.update(rules.search_words(text))
    common = [
        (livemode, w) for w, seen in words.items() if seen * sample.population / n >= COMMON_WORD
    ]
    tx.execute("DELETE FROM search_common_words WHERE livemode = ?", (livemode,))
    if tx.dialect == "postgresql":
        tx.copy_rows("search_trigrams", ("livemode", "trigram", "docs"), rows)
        tx.copy_rows("search_common_words", ("livemode", "word"), common)
        # Every search reads its trigrams' figures by key: without statistics (a new table, or
        # autovacuum off) PostgreSQL scanned all 3,101 rows at 1M, 0.27 ms, against 0.09 ms
        # through the primary key. A few thousand rows: milliseconds, once per sample.
        tx.execute("ANALYZE search_trigrams, search_common_words")
    else:
        tx.executemany(
            "INSERT INTO search_trigrams (livemode, trigram, docs) VALUES (?, ?, ?)", rows
        )
        tx.executemany("INSERT INTO search_common_words (livemode, word) VALUES (?, ?)", common)
