"""`paymentkit import customers` and `paymentkit export customers` on SQLite and PostgreSQL: rows
land exactly as POSTs would make them (search, metadata filters, counters included), bad rows and
duplicates are reported without stopping the others, and an export imports back unchanged."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import secrets
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from paymentkit.cli.bulk import TIDYING
from paymentkit.cli.main import main
from paymentkit.server.customers import bulk_repository, rules, search_stats
from paymentkit.server.db.engine import Database
from tests.api.test_search_properties import word_counts
from tests.conftest import API, PAYMENTKIT

ENV = "PAYMENTKIT_DATABASE_URL"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
SERVER_MADE = ("id", "created_at", "updated_at", "livemode")


def cli(*args: str, input: bytes | None = None) -> Result:
    return CliRunner(env={ENV: None}).invoke(main, list(args), input=input)


def new_did() -> str:
    return "z" + "".join(secrets.choice(BASE58) for _ in range(35))


def bodies(n: int) -> list[dict[str, Any]]:
    """Varied valid customers: every field, messy input the rules normalise, and empty ones."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        body: dict[str, Any] = {"did": new_did(), "name": f"  Person {i} Ünïcode  "}
        if i % 2 == 0:
            body["email"] = f"Person.{i}@Example.COM"
        if i % 3 == 0:
            body["phone"] = "+1 555 123 4567" if i % 6 == 0 else f"+4420794609{i % 100:02d}"
        if i % 4 == 0:
            body["address"] = {"country": "de", "city": "Berlin", "line1": f"Straße {i}"}
        if i % 5 == 0:
            body["description"] = "imported"
        body["metadata"] = {"tier": ["gold", "silver", "bronze"][i % 3], "n": i, "vip": i % 2 == 0}
        if i % 7 == 0:
            body = {}  # POST {} is a customer with nothing set
        out.append(body)
    return out


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def import_file(url: str, path: Path | str, *extra: str, input: bytes | None = None) -> Result:
    return cli("import", "customers", str(path), "--database-url", url, *extra, input=input)


def summary(result: Result) -> dict[str, Any]:
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.output
    parsed: dict[str, Any] = json.loads(lines[0])
    assert set(parsed) == {"imported", "duplicates", "failed", "seconds"}
    return parsed


def all_customers(api: API) -> list[dict[str, Any]]:
    """Every customer of the key's mode, newest first, through the list."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        r = api.get("/api/customers", params={"page": page, "pageSize": 100})
        assert r.status_code == 200, r.text
        out.extend(r.json()["list"])
        if not r.json()["has_more"]:
            return out
        page += 1


def content(customer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in customer.items() if k not in SERVER_MADE}


def counters_agree(db: Database, livemode: bool) -> tuple[int, int]:
    """(the mode's count, its live customers counted); the word counts must agree with the
    live customers' text too."""
    kept, counted = word_counts(db)
    assert kept == counted
    return db.run_sync(
        lambda tx: (
            int(
                tx.scalar(
                    "SELECT coalesce(sum(n), 0) FROM customer_counts WHERE livemode = ?",
                    (livemode,),
                )
            ),
            int(
                tx.scalar(
                    "SELECT count(*) FROM customers WHERE livemode = ? AND deleted_at IS NULL",
                    (livemode,),
                )
            ),
        )
    )


def metadata_counts(db: Database, livemode: bool) -> tuple[dict[Any, int], dict[Any, int]]:
    """(the per-value counters, the metadata rows counted) of the mode's live customers."""

    def read(tx: Any) -> tuple[dict[Any, int], dict[Any, int]]:
        counters = tx.all(
            "SELECT key, value, sum(n) FROM customer_metadata_counts WHERE livemode = ?"
            " GROUP BY key, value",
            (livemode,),
        )
        rows = tx.all(
            "SELECT key, value, count(*) FROM customer_metadata WHERE livemode = ?"
            " GROUP BY key, value",
            (livemode,),
        )
        return (
            {(k, v): int(n) for k, v, n in counters if int(n)},
            {(k, v): int(n) for k, v, n in rows},
        )

    return db.run_sync(read)


def test_imported_rows_are_what_posting_them_makes(
    database_url: str, api: API, live_api: API, db: Database, tmp_path: Path
) -> None:
    rows = bodies(60)
    for body in rows:  # the reference: the same rows POSTed, in live mode
        assert live_api.post("/api/customers", json=body).status_code == 201

    result = import_file(database_url, write_jsonl(tmp_path / "c.jsonl", rows), "--json")

    assert result.exit_code == 0, result.output
    assert summary(result) | {"seconds": 0} == {
        "imported": 60,
        "duplicates": 0,
        "failed": 0,
        "seconds": 0,
    }
    imported, posted = all_customers(api), all_customers(live_api)
    assert [content(c) for c in imported] == [content(c) for c in posted]
    assert all(c["livemode"] is False and c["id"].startswith("cus_") for c in imported)
    assert api.get("/api/customers").json()["count"] == 60
    assert counters_agree(db, False) == (60, 60)
    counted, actual = metadata_counts(db, False)
    assert counted == actual == metadata_counts(db, True)[0]
    # Newest first is the reverse of the file's order.
    assert [c["name"] for c in imported] == [
        (b.get("name") or "").strip() or None for b in reversed(rows)
    ]

    # Each customer is retrievable, findable by search, and in its metadata filter.
    sample = next(c for c in imported if c["email"] and c["phone"])
    assert api.get(f"/api/customers/{sample['id']}").json() == sample
    assert api.get(f"/api/customers/did:abt:{sample['did']}").json() == sample
    for term in (sample["email"].upper(), sample["phone"], "ünïcode"):
        found = api.get("/api/customers/search", params={"query": term}).json()
        expected = live_api.get("/api/customers/search", params={"query": term}).json()
        assert found["count"] == expected["count"] > 0, term
        assert sample["id"] in [c["id"] for c in found["list"]] or found["count"] > 20
    for key, value in (("tier", "gold"), ("n", "15"), ("vip", "true")):
        params = {f"metadata.{key}": value}
        found = api.get("/api/customers", params=params).json()
        expected = live_api.get("/api/customers", params=params).json()
        assert found["count"] == expected["count"] > 0
        assert [content(c) for c in found["list"]] == [content(c) for c in expected["list"]]


def test_bad_rows_are_reported_and_the_others_imported(
    database_url: str, api: API, tmp_path: Path
) -> None:
    good = bodies(5)
    lines: list[Any] = [
        good[0],
        {"email": "not-an-address"},  # line 2
        good[1],
        "this is not json",  # line 4
        "",  # blank lines are skipped
        {"phone": "555-1234"},  # line 6
        {"address": {"country": "XX"}},  # line 7
        {"nickname": "x"},  # line 8
        ["a", "list"],  # line 9
        {"metadata": {"k": "v" * 501}},  # line 10
        good[2],
        {"name": "NUL \u0000 inside"},  # line 12
        good[3],
        good[4],
    ]
    path = write_jsonl(tmp_path / "mixed.jsonl", lines)
    errors_path = tmp_path / "errors.jsonl"

    result = import_file(database_url, path, "--errors", str(errors_path), "--json")

    assert result.exit_code == 1, result.output
    assert summary(result)["imported"] == 5
    assert summary(result)["failed"] == 8
    assert summary(result)["duplicates"] == 0
    reported = [json.loads(line) for line in errors_path.read_text().splitlines()]
    assert [(r["line"], r["code"], r["param"]) for r in reported] == [
        (2, "invalid_request", "email"),
        (4, "invalid_request", None),
        (6, "invalid_request", "phone"),
        (7, "invalid_request", "address.country"),
        (8, "unknown_parameter", "nickname"),
        (9, "invalid_request", None),
        (10, "invalid_request", "metadata.k"),
        (12, "invalid_request", "name"),
    ]
    assert all(r["error"] for r in reported)
    # The same problems, one per line, on stderr.
    assert "line 2: invalid_request email: email is not a valid address" in result.stderr
    assert "line 8: unknown_parameter nickname:" in result.stderr
    assert api.get("/api/customers").json()["count"] == 5


def test_duplicates_in_the_file_and_the_database_are_skipped(
    database_url: str, api: API, db: Database, tmp_path: Path
) -> None:
    taken, repeated = new_did(), new_did()
    existing = api.post("/api/customers", json={"did": taken, "name": "was here"}).json()
    rows = [
        {"did": repeated, "name": "first"},
        {"did": f"did:abt:{taken}", "name": "clash with the database"},
        {"did": new_did(), "name": "fine"},
        {"did": f"did:abt:{repeated}", "name": "second"},
        {"name": "no did, never a duplicate"},
        {"name": "no did, never a duplicate"},
    ]
    errors_path = tmp_path / "errors.jsonl"

    result = import_file(
        database_url,
        write_jsonl(tmp_path / "d.jsonl", rows),
        "--json",
        "--errors",
        str(errors_path),
    )

    assert result.exit_code == 0, result.output  # duplicates alone are not failures
    assert summary(result) | {"seconds": 0} == {
        "imported": 4,
        "duplicates": 2,
        "failed": 0,
        "seconds": 0,
    }
    reported = [json.loads(line) for line in errors_path.read_text().splitlines()]
    assert [(r["line"], r["code"], r["param"]) for r in reported] == [
        (2, "resource_exists", "did"),
        (4, "resource_exists", "did"),
    ]
    assert taken in reported[0]["error"]
    assert api.get(f"/api/customers/{taken}").json() == existing
    assert api.get(f"/api/customers/{repeated}").json()["name"] == "first"
    assert api.get("/api/customers").json()["count"] == 5
    assert counters_agree(db, False) == (5, 5)


@pytest.mark.parametrize("workers", ["0", "2"])
def test_running_the_same_file_again_adds_nothing(
    database_url: str, api: API, db: Database, tmp_path: Path, workers: str
) -> None:
    """Also across chunks (--chunk-size 100) and with the worker processes (--workers 2)."""
    rows = [*bodies(250), {"email": "bad"}]
    path = write_jsonl(tmp_path / "again.jsonl", rows)
    options = ("--json", "--chunk-size", "100", "--workers", workers)

    first = import_file(database_url, path, *options)
    # Chunks are created in file order: newest first is the reverse, across chunks too.
    assert [c["name"] for c in all_customers(api)] == [
        (b.get("name") or "").strip() or None for b in reversed(rows[:250])
    ]
    again = import_file(database_url, path, *options)

    assert first.exit_code == again.exit_code == 1  # the bad row fails both times
    assert summary(first)["imported"] == 250
    with_did = sum(1 for b in rows[:250] if "did" in b)
    assert summary(again) | {"seconds": 0} == {
        "imported": 250 - with_did,  # rows without a DID are never duplicates
        "duplicates": with_did,
        "failed": 1,
        "seconds": 0,
    }
    assert api.get("/api/customers").json()["count"] == 500 - with_did
    assert counters_agree(db, False) == (500 - with_did, 500 - with_did)
    counted, actual = metadata_counts(db, False)
    assert counted == actual and actual[("tier", "gold")] > 0


def test_standard_input_and_the_read_only_fields_of_an_export(
    database_url: str, api: API, live_api: API
) -> None:
    exported = {
        "id": "cus_000000000000000000000000",
        "object": "customer",
        "did": new_did(),
        "name": "From an export",
        "email": None,
        "phone": None,
        "address": None,
        "description": None,
        "balance": "500",
        "delinquent": True,
        "livemode": False,
        "metadata": {},
        "created_at": "2020-01-01T00:00:00.000Z",
        "updated_at": "2020-01-02T00:00:00.000Z",
    }
    data = (json.dumps(exported) + "\n").encode()

    result = import_file(database_url, "-", "--mode", "live", "--json", input=data)

    assert result.exit_code == 0, result.output
    assert summary(result)["imported"] == 1
    [made] = all_customers(live_api)
    assert made["id"] != exported["id"] and made["id"].startswith("cus_")
    assert (made["livemode"], made["balance"], made["delinquent"]) == (True, "0", False)
    assert made["created_at"] > "2026" and made["created_at"] == made["updated_at"]
    assert made["did"] == exported["did"] and made["name"] == "From an export"
    assert all_customers(api) == []  # --mode live: nothing in test mode


def test_csv_with_address_and_metadata_columns(database_url: str, api: API, tmp_path: Path) -> None:
    did = new_did()
    path = tmp_path / "customers.csv"
    path.write_text(
        "\ufeffdid,name,email,phone,address.country,address.city,metadata,metadata.tier,id\n"
        f'{did},"Doe, Jane",jane@example.com,+15551234567,us,"New\nYork","{{""n"": 5}}",gold,x\n'
        ",,,,,,,,\n"  # every cell empty: a customer with nothing set, like POST {}
        "zbad0,Bad DID,,,,,,,\n"
        ",Bad JSON,,,,,{not json},,\n"
        ",Short row\n"
        ',Kept,,,,,"{""tier"": ""a""}",b,\n',
        encoding="utf-8",
    )

    result = import_file(database_url, path, "--json", "--errors", str(tmp_path / "e.jsonl"))

    assert result.exit_code == 1, result.output
    assert summary(result)["imported"] == 3
    errors = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()]
    # Line numbers count physical lines: the quoted newline makes row 1 two lines long.
    assert [(e["line"], e["param"]) for e in errors] == [(5, "did"), (6, "metadata"), (7, None)]
    jane = api.get(f"/api/customers/{did}").json()
    assert jane["name"] == "Doe, Jane"
    assert jane["address"] == {
        "country": "US",
        "state": None,
        "city": "New\nYork",
        "line1": None,
        "line2": None,
        "postal_code": None,
    }
    assert jane["metadata"] == {"n": 5, "tier": "gold"}
    assert jane["phone"] == "+15551234567"
    kept = api.get("/api/customers", params={"metadata.tier": "b"}).json()["list"]
    assert [c["name"] for c in kept] == ["Kept"]  # a metadata.KEY column wins over the JSON


def test_csv_header_with_an_unknown_column_is_refused(
    database_url: str, api: API, tmp_path: Path
) -> None:
    path = tmp_path / "c.csv"
    path.write_text("name,nickname\nJane,JJ\n")
    result = import_file(database_url, path)
    assert result.exit_code == 1
    assert "unknown column 'nickname'" in result.output
    assert api.get("/api/customers").json()["count"] == 0


def test_the_format_comes_from_the_extension(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "customers.txt"
    path.write_text("{}\n")
    result = import_file(sqlite_url, path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: cannot tell the format of {path}; give --format jsonl or --format csv"
    ]
    assert import_file(sqlite_url, path, "--format", "jsonl", "--create").exit_code == 0


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'other' / 'paymentkit.db'}"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_into_an_empty_mode_gives_the_same_customers(
    database_url: str, api: API, live_api: API, tmp_path: Path, fmt: str
) -> None:
    for body in bodies(40):
        assert api.post("/api/customers", json=body).status_code == 201
    gone = api.post("/api/customers", json={"name": "deleted"}).json()
    assert api.delete(f"/api/customers/{gone['id']}").status_code == 200
    out = tmp_path / f"export.{fmt}"

    exported = cli("export", "customers", "-o", str(out), "--database-url", database_url)
    assert exported.exit_code == 0, exported.output
    assert "Exported 40 customers" in exported.stderr
    result = import_file(database_url, out, "--mode", "live", "--json")

    assert result.exit_code == 0, result.output
    assert summary(result)["imported"] == 40
    source, copy = all_customers(api), all_customers(live_api)
    # The export is newest first, so the copy was created in the reverse order.
    assert [content(c) for c in reversed(copy)] == [content(c) for c in source]
    assert not {c["id"] for c in source} & {c["id"] for c in copy}


def test_export_to_standard_output_with_filters(database_url: str, api: API) -> None:
    for body in bodies(12):
        api.post("/api/customers", json=body)
    gold = api.get("/api/customers", params={"metadata.tier": "gold"}).json()

    jsonl = cli("export", "customers", "--metadata", "tier=gold", "--database-url", database_url)
    as_csv = cli(
        "export",
        "customers",
        "--format",
        "csv",
        "--metadata",
        "tier=gold",
        "--database-url",
        database_url,
    )

    assert jsonl.exit_code == 0 and as_csv.exit_code == 0, jsonl.output + as_csv.output
    lines = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert lines == gold["list"]
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["id"] for r in rows] == [c["id"] for c in gold["list"]]
    nothing = cli("export", "customers", "--did", "not-a-did", "--database-url", database_url)
    assert nothing.exit_code == 0 and nothing.stdout == ""


def test_an_import_beside_a_server_writing_the_same_dids(
    database_url: str, api: API, db: Database, tmp_path: Path
) -> None:
    """The server keeps answering while the import commits chunk by chunk, and each DID ends up
    with exactly one customer whoever got there first (the unique index decides)."""
    import threading

    rows = [{"did": new_did(), "name": f"file {i}"} for i in range(600)]
    path = write_jsonl(tmp_path / "race.jsonl", rows)
    contested = [r["did"] for r in rows[::6]]
    own = [new_did() for _ in contested]
    statuses: dict[str, int] = {}

    def post() -> None:
        for did in [x for pair in zip(reversed(contested), own, strict=True) for x in pair]:
            statuses[did] = api.post("/api/customers", json={"did": did, "name": "api"}).status_code

    poster = threading.Thread(target=post)
    poster.start()
    result = import_file(database_url, path, "--json", "--chunk-size", "100", "--workers", "0")
    poster.join()

    assert result.exit_code == 0, result.output
    done = summary(result)
    assert done["imported"] + done["duplicates"] == 600
    assert all(statuses[did] == 201 for did in own)
    won_by_api = [did for did in contested if statuses[did] == 201]
    assert all(statuses[did] == 409 for did in contested if did not in won_by_api)
    assert done["duplicates"] == len(won_by_api)
    every = all_customers(api)
    dids = [c["did"] for c in every]
    assert len(dids) == len(set(dids)) == 600 + len(own)
    assert counters_agree(db, False) == (700, 700)


def test_an_import_that_grows_the_mode_samples_its_search_trigrams(
    database_url: str, api: API, db: Database, tmp_path: Path
) -> None:
    rows = bodies(1_200)
    result = import_file(database_url, write_jsonl(tmp_path / "c.jsonl", rows), "--json")
    assert result.exit_code == 0, result.output

    def figures(tx: Any) -> tuple[int | None, dict[str, int], list[str]]:
        stored = tx.all("SELECT trigram, docs FROM search_trigrams WHERE livemode = ?", (False,))
        texts = tx.all(
            "SELECT search_text FROM customers WHERE livemode = ? AND deleted_at IS NULL", (False,)
        )
        return (
            search_stats.sampled_population(tx, False),
            {str(r[0]): int(r[1]) for r in stored if r[0]},
            [str(r[0]) for r in texts],
        )

    population, stored, texts = db.run_sync(figures)
    # under SAMPLE customers, every one is read: the figures are exact
    assert population == len(texts) == 1_200
    want = dict(rules.trigram_docs(texts))
    if db.dialect == "postgresql":  # where ` ga` is the figure of the index's word edge
        want |= rules.word_edge_docs(texts) | {search_stats.WORD_EDGES: len(texts)}
    assert stored == want
    email = next(b["email"] for b in rows if b.get("email"))
    body = api.get("/api/customers/search", params={"query": email}).json()
    assert body["count"] == 1 and body["list"][0]["email"].lower() == email.lower()


def test_an_import_that_grows_the_mode_leaves_its_search_index_merged(
    sqlite_url: str, tmp_path: Path
) -> None:
    # three chunks (cut at the 2,000-line validation batches): three FTS5 segments, too few
    # for FTS5's own merging, merged into one at the end
    path = write_jsonl(tmp_path / "c.jsonl", bodies(5_000))
    result = import_file(sqlite_url, path, "--chunk-size", "100", "--create", "--json")
    assert result.exit_code == 0, result.output
    db = Database(sqlite_url)
    try:

        def merge(tx: Any) -> bool:
            return bulk_repository.merge_search_index(tx, False)

        assert not db.run_sync(merge, write=True)
        # an import that grows the mode by less than a tenth leaves its segment to FTS5
        result = import_file(sqlite_url, write_jsonl(tmp_path / "d.jsonl", bodies(50)), "--json")
        assert result.exit_code == 0, result.output
        assert db.run_sync(merge, write=True)
        hits = db.run_sync(
            lambda tx: tx.all(
                "SELECT rowid FROM customers_search_test WHERE customers_search_test MATCH ?",
                ('"person 4999"',),
            )
        )
        assert len(hits) == 1
    finally:
        db.close()


def on_a_terminal(args: list[str], timeout: float = 60) -> str:
    """What a command writes to its terminal (stderr on a pseudo-terminal, as a user runs it)."""
    parent, child = pty.openpty()
    out = bytearray()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=child, stderr=child)
    os.close(child)

    def read() -> None:
        while True:
            try:
                data = os.read(parent, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                return
            if not data:
                return
            out.extend(data)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        proc.wait(timeout=timeout)
        reader.join(timeout=timeout)
    finally:
        proc.kill()
        os.close(parent)
    return out.decode(errors="replace")


def test_on_a_terminal_the_import_shows_its_progress_and_its_tidy_up(
    sqlite_url: str, tmp_path: Path
) -> None:
    def imported(name: str, n: int, *extra: str) -> str:
        path = write_jsonl(tmp_path / name, bodies(n))
        command = ["import", "customers", str(path), "--database-url", sqlite_url, *extra]
        return on_a_terminal([str(PAYMENTKIT), *command])

    shown = imported("c.jsonl", 1_200, "--create")
    assert "1,200 rows" in shown and "rows/s" in shown  # the bar
    assert TIDYING in shown and "Imported 1,200 customers" in shown
    # a file that grows the mode by less than a tenth has nothing to tidy
    shown = imported("d.jsonl", 10)
    assert "Imported 10 customers" in shown and TIDYING not in shown
