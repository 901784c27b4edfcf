"""GET /api/customers/export: every matching live customer of the mode once, newest first, each
JSON line as retrieve renders it, CSV with a header; the list's filters; streamed in keyset
batches (API.md, Customers)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
from typing import Any

import pytest

from paymentkit.server.customers import bulk
from paymentkit.server.customers import repository as repo
from paymentkit.server.db.engine import Database
from tests.conftest import API

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_did() -> str:
    return "z" + "".join(secrets.choice(BASE58) for _ in range(35))


def create(api: API, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/api/customers", json=body)
    assert r.status_code == 201, r.text
    customer: dict[str, Any] = r.json()
    return customer


def export_lines(api: API, **params: str) -> list[dict[str, Any]]:
    r = api.get("/api/customers/export", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-ndjson"
    assert r.text == "" or r.text.endswith("\n")
    return [json.loads(line) for line in r.text.splitlines()]


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read 7 customers at a time, so a few dozen cross many batch boundaries."""
    monkeypatch.setattr(bulk, "EXPORT_BATCH", 7)


def test_jsonl_is_every_customer_once_newest_first_as_retrieve_renders_it(
    api: API, live_api: API, small_batches: None
) -> None:
    made = [
        create(api, {"did": new_did(), "name": f"c{i}", "metadata": {"i": i}}) for i in range(30)
    ]
    create(api, {"name": "tmp"})
    gone = create(api, {"name": "deleted"})
    assert api.delete(f"/api/customers/{gone['id']}").status_code == 200
    create(live_api, {"name": "other mode"})

    lines = export_lines(api)

    assert [c["name"] for c in lines] == ["tmp", *[f"c{i}" for i in reversed(range(30))]]
    for line, customer in zip(lines[1:], reversed(made), strict=True):
        assert line == api.get(f"/api/customers/{customer['id']}").json()
    listed = api.get("/api/customers", params={"pageSize": 100}).json()["list"]
    assert lines == listed  # the list's newest-first order, ties included


def test_customers_made_in_the_same_millisecond_cross_batches_once(
    database_url: str, api: API, db: Database, small_batches: None
) -> None:
    """An import chunk shares one created_at: the keyset goes on by seq within it."""
    from paymentkit.server.customers.bulk import Batch, validate

    lines = [(i + 1, json.dumps({"name": f"n{i}"}).encode()) for i in range(50)]
    staged = validate(Batch(False, None, lines, 0)).staged
    db.run_sync(
        lambda tx: bulk.bulk_repo.insert_chunk(tx, False, staged, 1_700_000_000_000), write=True
    )

    names = [c["name"] for c in export_lines(api)]

    assert names == [f"n{i}" for i in reversed(range(50))]


def test_filters_are_the_lists(api: API, small_batches: None) -> None:
    did = new_did()
    target = create(api, {"did": did, "email": "Jane.Doe@Example.com", "metadata": {"a": "1"}})
    for i in range(20):
        create(api, {"email": f"p{i}@example.com", "metadata": {"a": str(i % 2), "b": "x"}})

    assert export_lines(api, did=did) == [target]
    assert export_lines(api, did=f"did:abt:{did}") == [target]
    assert export_lines(api, did="not-a-did") == []
    assert export_lines(api, email="JANE.DOE@example.COM") == [target]
    for query in (
        {"metadata.a": "1"},
        {"metadata[a]": "1"},
        {"metadata.a": "0", "metadata.b": "x"},
        {"metadata.b": "x", "email": "p4@example.com"},
        {"metadata.a": "nothing"},
    ):
        listed = api.get("/api/customers", params={**query, "pageSize": 100}).json()
        assert export_lines(api, **query) == listed["list"], query


def test_csv_has_a_header_and_one_row_per_customer(api: API) -> None:
    full = create(
        api,
        {
            "did": new_did(),
            "name": "Doe, Jane",
            "email": "jane@example.com",
            "phone": "+15551234567",
            "description": 'says "hi"\nand more',
            "address": {"country": "us", "city": "Seattle", "postal_code": "98101"},
            "metadata": {"tier": "gold", "n": 5, "vip": True},
        },
    )
    empty = create(api, {})

    r = api.get("/api/customers/export", params={"format": "csv"})

    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="customers.csv"'
    rows = list(csv.reader(io.StringIO(r.text)))
    assert tuple(rows[0]) == bulk.CSV_COLUMNS
    by_column = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [row["id"] for row in by_column] == [empty["id"], full["id"]]
    row = by_column[1]
    assert row["name"] == "Doe, Jane" and row["description"] == 'says "hi"\nand more'
    assert (row["address.country"], row["address.city"], row["address.state"]) == (
        "US",
        "Seattle",
        "",
    )
    assert json.loads(row["metadata"]) == {"tier": "gold", "n": 5, "vip": True}
    assert (row["balance"], row["delinquent"], row["livemode"]) == ("0", "false", "false")
    assert row["created_at"] == full["created_at"]
    assert by_column[0]["did"] == "" and by_column[0]["metadata"] == "{}"
    nothing = api.get("/api/customers/export", params={"format": "csv", "did": "no"})
    assert nothing.text.splitlines() == [",".join(bulk.CSV_COLUMNS)]


def test_the_answer_is_streamed(api: API) -> None:
    create(api, {"name": "x"})
    r = api.get("/api/customers/export")
    assert r.status_code == 200
    assert "content-length" not in r.headers  # sent as it is produced
    assert r.headers["content-disposition"] == 'attachment; filename="customers.jsonl"'
    assert r.headers["x-request-id"].startswith("req_")


def test_the_stream_reads_a_batch_at_a_time(
    db: Database, api: API, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Constant memory: one batch is read, rendered and handed on before the next is read."""
    for i in range(10):
        create(api, {"name": f"c{i}"})
    monkeypatch.setattr(bulk, "EXPORT_BATCH", 3)
    reads: list[int] = []
    real = bulk.bulk_repo.export_batch

    def counting(*args: Any) -> list[repo.CustomerRecord]:
        records = real(*args)
        reads.append(len(records))
        return records

    monkeypatch.setattr(bulk.bulk_repo, "export_batch", counting)
    filters = repo.Filters(livemode=False)

    async def collect() -> list[tuple[int, bytes]]:
        out = []
        async for chunk in bulk.stream(db, filters, "jsonl"):
            out.append((len(reads), chunk))
        return out

    chunks = asyncio.run(collect())

    assert reads == [3, 3, 3, 1]
    assert [n for n, _ in chunks] == [1, 2, 3, 4]  # each chunk handed on before the next read
    assert [len(c.splitlines()) for _, c in chunks] == [3, 3, 3, 1]


@pytest.mark.parametrize(
    ("params", "status", "code", "param"),
    [
        ({"format": "xml"}, 400, "invalid_request", "format"),
        ({"page": "2"}, 400, "unknown_parameter", "page"),
        ({"metadata": "x"}, 400, "invalid_request", "metadata"),
        ({"livemode": "true"}, 403, "forbidden", "livemode"),
    ],
)
def test_bad_requests_are_refused_before_streaming(
    api: API, params: dict[str, str], status: int, code: str, param: str | None
) -> None:
    r = api.get("/api/customers/export", params=params)
    assert r.status_code == status, r.text
    assert (r.json()["code"], r.json()["param"]) == (code, param)


def test_export_needs_a_key(api: API) -> None:
    r = api.client.get("/api/customers/export")
    assert r.status_code == 401
    assert r.json()["code"] == "authentication_required"


def test_export_is_described_with_both_formats(api: API) -> None:
    doc = api.client.get("/openapi.json").json()
    ok = doc["paths"]["/api/customers/export"]["get"]["responses"]["200"]["content"]
    assert set(ok) == {"application/x-ndjson", "text/csv; charset=utf-8"}
    assert ok["application/x-ndjson"]["schema"]["$ref"].endswith("/Customer")


def test_export_filters_normalise_like_create(api: API) -> None:
    jose = create(api, {"email": "José@Bücher.de", "did": new_did()})
    create(api, {"email": "other@bücher.de"})
    for email in (
        "jose\u0301@xn--bcher-kva.de",
        "JOSÉ@BÜCHER.DE",
    ):
        assert [c["id"] for c in export_lines(api, email=email)] == [jose["id"]], email
    assert export_lines(api, email=f"did:abt:{jose['did']}") == []  # no email: nothing
    assert [c["id"] for c in export_lines(api, did=f"did:abt:{jose['did']}")] == [jose["id"]]
