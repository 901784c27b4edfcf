"""The dashboard at real size (issue 11, item 3): 1,000,000 customers, thousands of them
delinquent, a million events and webhook attempts; every dashboard page timed against the API
calls that read the same, over HTTP against one `paymentkit serve` worker.

Run: ./run python bench/bench_dashboard.py [--customers N] [--database-url URL] [--repeat R]
     ./run python bench/bench_dashboard.py --existing --database-url URL   (reuse a loaded one)
     ./run python bench/bench_dashboard.py --existing --database-url URL --explain

Building: N generated customers (bench/datagen.py) go in through `paymentkit import`, then
billing data straight with SQL (one `INSERT … SELECT` per kind, seconds not hours): invoices for
a tenth of the customers (one paid, one open), an uncollectible invoice for every 200th (a second
one for every 1,000th: the delinquent customers), subscriptions for every 20th, one customer with
300 invoices, 20 subscriptions and 1,400 events (the heaviest customer page), an event for every
customer and invoice, and for every fourth event a delivery with its attempt to one endpoint (a
failed one to a second endpoint for every 40th). Without --database-url the database is a temp
SQLite file, removed afterwards; `sqlite:///PATH` builds (and keeps) that file; a
`postgresql://` URL gets a fresh schema, dropped afterwards unless --keep (which prints the URL to
pass with --existing).

Measuring: the server is pinned to CPU 0 and this client to CPU 1, requests are sequential on
keep-alive connections. The client signs in like a browser (the login form's CSRF cookie and
field, then the session cookie). For each call it alternates one dashboard request with the API
requests that read the same data (the list with the same filters, order and cursor; for a
customer page: its overdue invoices, invoice list, subscription list and events), and prints
p50 and p95 of the page, the p50 of the API's reads, the page's p50 as a multiple of them, and as
a multiple of `GET /api/customers/{id}` in the same run.

Targets (`× API` column, page p50 over the API's p50): ≤ 3 for every page. A page adds a session
lookup, the HTML rendering and a larger answer to the API reads it makes; three times the API's
own call leaves room for that at any size while catching a page that reads more than its API
call (a second count, a sort the API avoids, a walk by an index the API does not use). The
customer page is held to 3× the sum of the four API calls it replaces. Exports are reported as
rows per second beside the API's export of the same filter (target ≥ 1/3 of the API's rate).

--explain prints, instead of timings, the plan of every statement each page runs
(SQLite `EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN (ANALYZE, BUFFERS)`) with its time, read in
process through the same app.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from bench import datagen
from bench.bench_api import BenchError, Server, api_key, free_port
from bench.bench_scale import Target, pct, run_import, sample
from paymentkit.server.db.engine import Database, Tx
from paymentkit.server.db.migrate import upgrade
from paymentkit.server.ids import new_id

console = Console(width=None if sys.stdout.isatty() else 160)

# A fixed Fernet key, so a database built by one run can be served by the next (--existing):
# the endpoints' secrets were sealed with it. A benchmark's key, never a deployment's.
SECRET_KEY = base64.urlsafe_b64encode(b"paymentkit bench dashboard key!!").decode()
assert len(base64.urlsafe_b64decode(SECRET_KEY)) == 32
SERVER_ENV = {
    "PAYMENTKIT_SECRET_KEY": SECRET_KEY,
    # The generated events are as old as the import; a run days later must still find them.
    "PAYMENTKIT_EVENT_RETENTION_DAYS": "36500",
    # Nothing is pending (the generated deliveries are settled): no delivery process beside it.
    "PAYMENTKIT_DELIVER": "0",
}
LIST_TARGET = 3.0
HEAVY_INVOICES = 300
HEAVY_SUBSCRIPTIONS = 20
HEAVY_UPDATES = 200


# -- the database -------------------------------------------------------------------------------


class Store(Target):
    """The database to measure: one loaded before (`existing`), a SQLite file (a temp one, or
    the path of a `sqlite:///` URL, kept), or a fresh schema of a PostgreSQL database (dropped
    unless `keep`). bench_scale's Target, plus the kept file and --keep."""

    def __init__(self, url: str | None, work: Path, existing: bool, keep: bool) -> None:
        self.keep = keep or existing
        if existing and url is None:
            raise BenchError("--existing needs --database-url")
        given = existing  # the database at `url` itself, not a fresh one beside it
        if not existing and url is not None and url.startswith("sqlite"):
            path = Path(url.removeprefix("sqlite:///"))
            if path.exists():
                raise BenchError(f"{path} exists: pass --existing to measure it as it is")
            given, self.keep = True, True
        super().__init__(url, work, "dash", existing=given)
        if given:  # a new file made, or the migrations added since it was built
            upgrade(self.url)

    def drop(self) -> None:
        if not self.keep:
            super().drop()


def step(label: str, work: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = work()
    console.print(f"  {label}: {time.perf_counter() - start:.1f} s")
    return result


def seed(db: Database) -> None:
    """Billing data, events and webhook attempts for the imported customers (see the module
    docstring). Each kind is one statement over the customers (or events) table."""
    from paymentkit.schemas.billing import PaymentCurrencyCreate, PaymentMethodCreate
    from paymentkit.schemas.webhooks import WebhookEndpointCreate
    from paymentkit.server.crypto import SecretBox
    from paymentkit.server.events.types import API_VERSION
    from paymentkit.server.payment_currencies import service as currencies
    from paymentkit.server.payment_methods import service as methods
    from paymentkit.server.webhooks import rules as endpoint_rules
    from paymentkit.server.webhooks import service as endpoints

    box = SecretBox(SECRET_KEY)

    def setup(tx: Tx) -> tuple[str, list[int]]:
        method = methods.create(tx, box, False, PaymentMethodCreate(type="card", name="Card"))
        currency = currencies.create(
            tx,
            False,
            PaymentCurrencyCreate(
                payment_method_id=method.id, name="US dollar", symbol="USD", decimal=2
            ),
        )
        seqs = []
        for i in range(5):
            draft = endpoint_rules.draft(
                WebhookEndpointCreate(
                    url=f"https://hooks{i}.example.com/paymentkit", enabled_events=["*"]
                )
            )
            made = endpoints.create(tx, box, False, draft)
            seqs.append(
                int(tx.scalar("SELECT seq FROM webhook_endpoints WHERE id = ?", (made.id,)))
            )
        return currency.id, seqs

    currency, endpoint_seqs = step(
        "payment method, currency, 5 webhook endpoints", lambda: db.run_sync(setup, write=True)
    )
    money = (lambda v: v) if db.dialect == "postgresql" else str

    def invoices(tx: Tx) -> None:
        sql = (
            "INSERT INTO invoices (id, livemode, customer_id, currency_id, status, amount_due,"
            " amount_paid, amount_remaining, due_date, finalized_at, marked_uncollectible_at,"
            " paid_at, metadata, created_at, updated_at)"
            " SELECT 'in_' || substr(id, 5) || '{tag}', livemode, id, ?, '{status}', ?, ?, ?,"
            " created_at / 1000 + 2592000, created_at / 1000 + {finalized},"
            " {uncollectible}, {paid}, '{{}}', created_at + {offset}, created_at + {offset} + 5000"
            " FROM customers WHERE {which} AND deleted_at IS NULL ORDER BY seq"
        )
        kinds = [  # (tag, status, which, offset ms, due, paid)
            ("p", "paid", "mod(seq, 10) = 3", 1000, 5000, 5000),
            ("o", "open", "mod(seq, 10) = 3", 2000, 7500, 0),
            ("u", "uncollectible", "mod(seq, 200) = 7", 3000, 5000, 1000),
            ("v", "uncollectible", "mod(seq, 1000) = 7", 4000, 990000000000000000000, 0),
        ]
        for tag, status, which, offset, due, paid in kinds:
            tx.execute(
                sql.format(
                    tag=tag,
                    status=status,
                    which=which,
                    offset=offset,
                    finalized=offset // 1000 + 1,
                    uncollectible="created_at / 1000 + 3000000"
                    if status == "uncollectible"
                    else "NULL",
                    paid="created_at / 1000 + 86400" if status == "paid" else "NULL",
                ),
                (currency, money(due), money(paid), money(due - paid)),
            )

    def subscriptions(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO subscriptions (id, livemode, customer_id, currency_id, status, metadata,"
            " created_at, updated_at) SELECT 'sub_' || substr(id, 5) || 's', livemode, id, ?,"
            " 'active', '{}', created_at + 500, created_at + 500 FROM customers"
            " WHERE mod(seq, 20) = 3 AND deleted_at IS NULL ORDER BY seq",
            (currency,),
        )

    def heavy(tx: Tx) -> None:
        """One customer with HEAVY_INVOICES invoices of every status, subscriptions and a long
        history of events: the heaviest customer page."""
        row = tx.one(
            "SELECT id, livemode, created_at FROM customers WHERE seq >= ? AND deleted_at IS NULL"
            " ORDER BY seq LIMIT 1",
            (int(tx.scalar("SELECT max(seq) FROM customers")) // 2,),
        )
        assert row is not None
        customer, livemode, born = str(row[0]), row[1], int(row[2])
        statuses = ("paid", "open", "void", "uncollectible", "draft")
        invoice_rows = []
        event_rows = []
        t = born + 10_000
        for i in range(HEAVY_INVOICES):
            status = statuses[i % len(statuses)]
            invoice = new_id("in")
            t += 60_000
            s = t // 1000
            invoice_rows.append(
                (
                    invoice,
                    livemode,
                    customer,
                    currency,
                    status,
                    money(10_000 + i),
                    money(10_000 + i if status == "paid" else 0),
                    money(0 if status in ("paid", "void") else 10_000 + i),
                    s + 2_592_000,
                    None if status == "draft" else s + 60,
                    s + 120 if status == "uncollectible" else None,
                    s + 120 if status == "paid" else None,
                    s + 120 if status == "void" else None,
                    t,
                    t + 120_000,
                )
            )
            types = ["invoice.created"]
            if status != "draft":
                types.append("invoice.finalized")
            if status in ("paid", "void", "uncollectible"):
                types.append(
                    f"invoice.{'marked_uncollectible' if status == 'uncollectible' else status}"
                )
            for k, kind in enumerate(types):
                event_rows.append(
                    (new_id("evt"), livemode, kind, "invoice", invoice, t + k * 60_000)
                )
        for _ in range(HEAVY_UPDATES):
            t += 30_000
            event_rows.append(
                (new_id("evt"), livemode, "customer.updated", "customer", customer, t)
            )
        tx.executemany(
            "INSERT INTO invoices (id, livemode, customer_id, currency_id, status, amount_due,"
            " amount_paid, amount_remaining, due_date, finalized_at, marked_uncollectible_at,"
            " paid_at, voided_at, metadata, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)",
            invoice_rows,
        )
        for i in range(HEAVY_SUBSCRIPTIONS):
            sub = new_id("sub")
            t += 10_000
            tx.execute(
                "INSERT INTO subscriptions (id, livemode, customer_id, currency_id, status,"
                " canceled_at, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
                (
                    sub,
                    livemode,
                    customer,
                    currency,
                    "active" if i % 2 else "canceled",
                    None if i % 2 else t // 1000,
                    t,
                    t,
                ),
            )
            event_rows.append(
                (new_id("evt"), livemode, "subscription.created", "subscription", sub, t)
            )
        tx.executemany(
            "INSERT INTO events (id, livemode, type, api_version, object_type, object_id, data,"
            " pending_webhooks, metadata, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 0, '{}', ?, ?)",
            [
                (e, lm, kind, API_VERSION, otype, oid, json.dumps({"object": {"id": oid}}), at, at)
                for e, lm, kind, otype, oid, at in event_rows
            ],
        )
        tx.execute(
            "UPDATE customers SET invoices_version = invoices_version + 1 WHERE id = ?", (customer,)
        )

    def flags(tx: Tx) -> None:
        """What every invoice write keeps (customers/repository.invoices_changed), for the
        invoices written straight above."""
        tx.execute(
            "UPDATE customers SET delinquent = true WHERE id IN"
            " (SELECT customer_id FROM invoices WHERE status = 'uncollectible')"
        )
        tx.execute(
            "UPDATE customer_metadata SET delinquent = true WHERE customer_seq IN"
            " (SELECT seq FROM customers WHERE delinquent)"
        )
        tx.execute(
            "UPDATE customer_counts SET n_delinquent = CASE WHEN shard = 0 THEN (SELECT count(*)"
            " FROM customers WHERE customers.livemode = customer_counts.livemode"
            " AND deleted_at IS NULL AND delinquent) ELSE 0 END"
        )

    def customer_events(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO events (id, livemode, type, api_version, object_type, object_id, data,"
            " pending_webhooks, metadata, created_at, updated_at)"
            " SELECT 'evt_' || substr(id, 5) || 'c', livemode, 'customer.created', ?, 'customer',"
            ' id, \'{"object":{"id":"\' || id || \'","object":"customer","name":"\''
            " || coalesce(name, '') || '\",\"email\":\"' || coalesce(email, '') || '\",\"metadata\":'"
            " || metadata || '},\"previous_attributes\":null}', 0, '{}', created_at, created_at"
            " FROM customers ORDER BY seq",
            (API_VERSION,),
        )

    def invoice_events(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO events (id, livemode, type, api_version, object_type, object_id, data,"
            " pending_webhooks, metadata, created_at, updated_at)"
            " SELECT 'evt_' || substr(id, 4) || 'i', livemode, 'invoice.created', ?, 'invoice', id,"
            ' \'{"object":{"id":"\' || id || \'","object":"invoice","status":"draft"}}\','
            " 0, '{}', created_at, created_at FROM invoices ORDER BY seq",
            (API_VERSION,),
        )

    def deliveries(tx: Tx) -> None:
        # every fourth event, and every event of the heaviest customer (written last)
        tx.execute(
            "INSERT INTO webhook_deliveries (event_seq, endpoint_seq, object_id, status, attempts,"
            " next_attempt_at, created_at, updated_at) SELECT seq, ?, object_id, 'succeeded', 1,"
            " created_at, created_at, created_at + 40 FROM events WHERE mod(seq, 4) = 0 OR seq >= ?"
            " ORDER BY seq",
            (endpoint_seqs[0], heavy_events[0]),
        )
        tx.execute(
            "INSERT INTO webhook_deliveries (event_seq, endpoint_seq, object_id, status, attempts,"
            " next_attempt_at, created_at, updated_at) SELECT seq, ?, object_id, 'failed', 1,"
            " created_at, created_at, created_at + 40 FROM events WHERE mod(seq, 40) = 1 ORDER BY seq",
            (endpoint_seqs[1],),
        )
        tx.execute(
            "INSERT INTO webhook_attempts (id, livemode, delivery_seq, endpoint_seq, event_id,"
            " status, response_status, response_body, duration_ms, error, retry_count, created_at)"
            " SELECT 'wat_' || substr(e.id, 5) || (CASE WHEN d.status = 'failed' THEN 'f' ELSE 'a' END),"
            " e.livemode, d.seq, d.endpoint_seq, e.id, d.status,"
            " CASE WHEN d.status = 'failed' THEN 503 ELSE 200 END, 'ok', 35, NULL, 0, d.updated_at"
            " FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq ORDER BY d.seq"
        )

    step("invoices", lambda: db.run_sync(invoices, write=True))
    step("subscriptions", lambda: db.run_sync(subscriptions, write=True))
    step("an event per customer", lambda: db.run_sync(customer_events, write=True))
    step("an event per invoice", lambda: db.run_sync(invoice_events, write=True))
    heavy_events = [int(db.run_sync(lambda tx: tx.scalar("SELECT max(seq) FROM events"))) + 1]
    step("the heaviest customer", lambda: db.run_sync(heavy, write=True))
    step("deliveries and attempts", lambda: db.run_sync(deliveries, write=True))
    step("delinquent flags and their count", lambda: db.run_sync(flags, write=True))
    if db.dialect == "postgresql":  # what autovacuum does shortly after such a load
        import psycopg

        with psycopg.connect(db.url.raw, autocommit=True) as conn:
            tables = "customers, customer_metadata, invoices, subscriptions, events,"
            tables += " webhook_deliveries, webhook_attempts"
            step("VACUUM ANALYZE", lambda: conn.execute(f"VACUUM (ANALYZE) {tables}"))


def build(store: Store, customers: int, seed_value: int, work: Path) -> None:
    data = work / "customers.jsonl"
    console.print(f"generating {customers:,} customers …")
    datagen.write_jsonl(data, customers, seed_value)
    console.print(f"importing into {store.dialect} …")
    summary = run_import(store, data)
    data.unlink()
    console.print(f"  imported {summary['imported']:,} in {summary['wall']:.1f} s")
    db = Database(store.url)
    try:
        seed(db)
    finally:
        db.close()


# -- clients ------------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP connection; `timed` answers (ms, status, body)."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=300)
        self.headers = headers

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> http.client.HTTPResponse:
        self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        return self.conn.getresponse()

    def timed(self, path: str) -> tuple[float, bytes]:
        start = time.perf_counter()
        response = self.request("GET", path)
        raw = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200:
            raise BenchError(f"GET {path} answered {response.status}: {raw[:300]!r}")
        return elapsed, raw


CSRF_FIELD = re.compile(rb'name="csrf_token" value="([^"]+)"')


def sign_in(base: str, secret: str) -> Connection:
    """A browser's sign-in: the login page sets its CSRF cookie and field, the form post answers
    the session cookie; the session's own CSRF token is on every page after (checked here)."""
    browser = Connection(base, {})
    response = browser.request("GET", "/dashboard/login")
    page = response.read()
    login_cookie = _cookie(response, "pk_dashboard_login")
    token = CSRF_FIELD.search(page)
    if response.status != 200 or login_cookie is None or token is None:
        raise BenchError(f"the login page answered {response.status} without its CSRF token")
    form = urlencode(
        {"csrf_token": token.group(1).decode(), "api_key": secret, "next": "/dashboard/"}
    )
    response = browser.request(
        "POST",
        "/dashboard/login",
        form,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"pk_dashboard_login={login_cookie}",
        },
    )
    response.read()
    session = _cookie(response, "pk_dashboard")
    if response.status != 303 or session is None:
        raise BenchError(f"signing in answered {response.status} without a session cookie")
    browser.headers = {"Cookie": f"pk_dashboard={session}"}
    _, home = browser.timed("/dashboard/")
    if not CSRF_FIELD.search(home):
        raise BenchError("the signed-in page carries no CSRF token")
    return browser


def _cookie(response: http.client.HTTPResponse, name: str) -> str | None:
    for header in response.headers.get_all("Set-Cookie") or []:
        first = header.split(";", 1)[0]
        key, _, value = first.partition("=")
        if key.strip() == name and value:
            return value.strip('"')
    return None


# -- the calls ----------------------------------------------------------------------------------

Path_ = Callable[[random.Random], str]


@dataclass(frozen=True)
class Call:
    key: str
    label: str
    page: Path_  # the dashboard page
    api: tuple[Path_, ...]  # the API reads of the same data (their p50s are summed)
    target: float | None = LIST_TARGET  # largest page p50 / API p50
    check: bool = True  # the page's first customer and count are the API list's (api[0])


def fixed(path: str) -> Path_:
    return lambda _rng: path


def one_of(paths: Sequence[str]) -> Path_:
    return lambda rng: rng.choice(paths)


def plan(db: Database, endpoints: list[dict[str, Any]]) -> list[Call]:
    pg = db.dialect == "postgresql"
    test = False
    delinquent_sql = "EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = c.id AND i.status = 'uncollectible')"
    ids = sample(
        db, "SELECT id FROM customers WHERE mod(seq, 997) = 0 AND deleted_at IS NULL LIMIT 500"
    )
    people = db.run_sync(
        lambda tx: tx.all(
            "SELECT email, did, phone, id FROM customers WHERE mod(seq, 991) = 0"
            " AND deleted_at IS NULL LIMIT 300"
        )
    )
    emails, dids, phones = [r[0] for r in people], [r[1] for r in people], [r[2] for r in people]
    late = db.run_sync(
        lambda tx: tx.all(
            f"SELECT c.email, c.did FROM customers c WHERE {delinquent_sql} AND c.livemode = ?"
            " LIMIT 200",
            (test,),
        )
    )
    late_emails, late_dids = [r[0] for r in late], [r[1] for r in late]
    nulls = " NULLS LAST" if pg else ""

    def nth(where: str, order: str, offset: int) -> str:
        """The id at `offset` of the list under `where` in `order` (a cursor that deep)."""
        field_, _, direction = order.partition(":")
        column = {"email": "email_lower"}.get(field_, field_)
        collate = ' COLLATE "C"' if pg and field_ in ("name", "email") else ""
        null = nulls if field_ in ("name", "email") else ""
        found = sample(
            db,
            f"SELECT c.id FROM customers c WHERE c.livemode = ? AND c.deleted_at IS NULL AND {where}"
            f" ORDER BY c.{column}{collate} {direction}{null}, c.seq {direction} LIMIT 1 OFFSET ?",
            (test, offset),
        )
        if not found:
            raise BenchError(f"no customer at {offset:,} under {where} ({order})")
        return str(found[0])

    gold = (
        "EXISTS (SELECT 1 FROM customer_metadata m WHERE m.customer_seq = c.seq"
        " AND m.key = 'tier' AND m.value = 'gold')"
    )
    total = int(sample(db, "SELECT sum(n) FROM customer_counts WHERE livemode = ?", (test,))[0])
    late_total = len(sample(db, f"SELECT c.id FROM customers c WHERE {delinquent_sql}"))
    # page 2,500 of 20 (a smaller database: its middle); the delinquent list at a third
    deep = min(50_000, total // 2) - 1
    late_deep = min(2_000, late_total // 3) - 1
    gold_late_deep = min(500, late_total // 10) - 1
    gold_deep = min(50_000, total // 6) - 1
    cursors = {
        "plain": nth("1 = 1", "created_at:DESC", deep),
        "late": nth(delinquent_sql, "created_at:DESC", late_deep),
        "late_name": nth(delinquent_sql, "name:ASC", late_deep),
        "good": nth(f"NOT {delinquent_sql}", "created_at:DESC", deep),
        "good_email": nth(f"NOT {delinquent_sql}", "email:DESC", deep),
        "gold_good": nth(f"{gold} AND NOT {delinquent_sql}", "created_at:DESC", gold_deep),
        "gold_late": nth(f"{gold} AND {delinquent_sql}", "created_at:DESC", gold_late_deep),
    }

    def pair(
        key: str,
        label: str,
        page_query: dict[str, str] | Callable[[random.Random], dict[str, str]],
        target: float | None = LIST_TARGET,
        search: bool = False,
    ) -> Call:
        """A customers page and the API list (or search) with the same query."""

        def query(rng: random.Random) -> dict[str, str]:
            return page_query(rng) if callable(page_query) else page_query

        def dashboard(rng: random.Random) -> str:
            q = query(rng)
            return "/dashboard/" + ("?" + urlencode(q) if q else "")

        def api(rng: random.Random) -> str:
            q = dict(query(rng))
            if search:
                return "/api/customers/search?" + urlencode(
                    {"query": q.pop("q"), **q, "pageSize": "20"}
                )
            if "metadata" in q:
                k, _, v = q.pop("metadata").partition("=")
                q[f"metadata.{k}"] = v
            return "/api/customers?" + urlencode({**q, "pageSize": "20"})

        return Call(key, label, dashboard, (api,), target)

    out: list[Call] = [
        Call(
            "retrieve",
            "GET /api/customers/{id} (the unit)",
            one_of([f"/api/customers/{i}" for i in ids]),
            (),
            None,
            False,
        ),
        pair("page1", "customers page 1 (newest)", {}),
        pair("deep", f"cursor at depth {deep + 1:,}", {"starting_after": cursors["plain"]}),
    ]
    for order in (
        "created_at:ASC",
        "updated_at:DESC",
        "name:ASC",
        "name:DESC",
        "email:ASC",
        "email:DESC",
    ):
        out.append(pair(f"order_{order}", f"order={order}", {"order": order}))
    # delinquent=true, then =false: page 1, a cursor deep in it, four orders, and a cursor deep
    # in one of those orders (the cursors "late" and "late_name", "good" and "good_email")
    for key, value, depth, deep_order in (
        ("late", "true", late_deep, "name:ASC"),
        ("good", "false", deep, "email:DESC"),
    ):
        where = {"delinquent": value}
        out += [
            pair(key, f"delinquent={value}", where),
            pair(
                f"{key}_deep",
                f"delinquent={value} cursor at depth {depth + 1:,}",
                {**where, "starting_after": cursors[key]},
            ),
        ]
        for order in ("created_at:ASC", "updated_at:DESC", "name:ASC", "email:DESC"):
            out.append(
                pair(
                    f"{key}_{order}", f"delinquent={value}&order={order}", {**where, "order": order}
                )
            )
        deep_key = f"{key}_{deep_order.partition(':')[0]}"
        out.append(
            pair(
                f"{deep_key}_deep",
                f"delinquent={value}&order={deep_order} cursor at {depth + 1:,}",
                {**where, "order": deep_order, "starting_after": cursors[deep_key]},
            )
        )
    out += [
        pair("gold", "metadata tier=gold", {"metadata": "tier=gold"}),
        pair(
            "gold_name",
            "metadata tier=gold&order=name:ASC",
            {"metadata": "tier=gold", "order": "name:ASC"},
        ),
        pair(
            "gold_late",
            "tier=gold&delinquent=true",
            {"metadata": "tier=gold", "delinquent": "true"},
        ),
        pair(
            "gold_late_deep",
            f"tier=gold&delinquent=true cursor at {gold_late_deep + 1:,}",
            {"metadata": "tier=gold", "delinquent": "true", "starting_after": cursors["gold_late"]},
        ),
        pair(
            "gold_late_name",
            "tier=gold&delinquent=true&order=name:ASC",
            {"metadata": "tier=gold", "delinquent": "true", "order": "name:ASC"},
        ),
        pair(
            "gold_good",
            "tier=gold&delinquent=false",
            {"metadata": "tier=gold", "delinquent": "false"},
        ),
        pair(
            "gold_good_deep",
            f"tier=gold&delinquent=false cursor at {gold_deep + 1:,}",
            {
                "metadata": "tier=gold",
                "delinquent": "false",
                "starting_after": cursors["gold_good"],
            },
        ),
        pair(
            "gold_good_email",
            "tier=gold&delinquent=false&order=email:ASC",
            {"metadata": "tier=gold", "delinquent": "false", "order": "email:ASC"},
        ),
        pair("email", "email=<exact>", lambda rng: {"email": rng.choice(emails)}),
        pair(
            "email_late",
            "email=<a delinquent's>&delinquent=true",
            lambda rng: {"email": rng.choice(late_emails), "delinquent": "true"},
        ),
        pair(
            "email_good",
            "email=<exact>&delinquent=false&order=name:DESC",
            lambda rng: {"email": rng.choice(emails), "delinquent": "false", "order": "name:DESC"},
        ),
        pair("did", "did=<exact>", lambda rng: {"did": rng.choice(dids)}),
        pair(
            "did_late",
            "did=<a delinquent's>&delinquent=true",
            lambda rng: {"did": rng.choice(late_dids), "delinquent": "true"},
        ),
        pair(
            "did_gold_good",
            "did=<exact>&tier=gold&delinquent=false",
            lambda rng: {"did": rng.choice(dids), "metadata": "tier=gold", "delinquent": "false"},
        ),
        pair(
            "s_email", "search an exact email", lambda rng: {"q": rng.choice(emails)}, search=True
        ),
        pair("s_surname", "search a surname (Johnson)", {"q": "Johnson"}, search=True),
        pair("s_son", "search 'son'", {"q": "son"}, search=True),
        pair("s_jo", "search 2 letters 'jo'", {"q": "jo"}, search=True),
        pair("s_a", "search 1 letter 'a'", {"q": "a"}, search=True),
        pair("s_did", "search a DID prefix", lambda rng: {"q": rng.choice(dids)[:10]}, search=True),
        pair("s_id", "search an id prefix", lambda rng: {"q": rng.choice(ids)[:12]}, search=True),
        pair(
            "s_phone",
            "search a phone fragment",
            lambda rng: {"q": rng.choice(phones)[-7:]},
            search=True,
        ),
        pair("s_none", "search a term matching nothing", {"q": "qqxqqzz"}, search=True),
    ]

    # customer pages: an everyday customer, one with invoices and a subscription, a delinquent
    # one, and the heaviest (300 invoices, 20 subscriptions, 1,400 events)
    def customers_where(where: str) -> list[str]:
        return [
            str(x)
            for x in sample(
                db,
                f"SELECT c.id FROM customers c WHERE {where} AND c.livemode = ? LIMIT 200",
                (test,),
            )
        ]

    heavy = str(
        sample(
            db,
            "SELECT customer_id FROM invoices GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1",
        )[0]
    )
    kinds = {
        "plain": ids,
        "billed": customers_where("mod(c.seq, 20) = 3"),
        "late": customers_where(f"mod(c.seq, 1000) = 7 AND {delinquent_sql}"),
        "heavy": [heavy],
    }
    labels = {
        "plain": "customer page: no invoices",
        "billed": "customer page: 2 invoices, a subscription",
        "late": "customer page: delinquent (3 invoices)",
        "heavy": "customer page: 300 invoices, 1,400 events",
    }
    for kind, pool in kinds.items():
        rng_pool = list(pool)

        def api_part(template: str, pool: list[str] = rng_pool) -> Path_:
            # the same customer as the page: the rng is re-seeded per round (see measure)
            return lambda rng: template.format(id=rng.choice(pool))

        out.append(
            Call(
                f"customer_{kind}",
                labels[kind],
                api_part("/dashboard/customers/{id}"),
                (
                    api_part("/api/customers/{id}/overdue/invoices"),
                    api_part("/api/invoices?customer_id={id}&pageSize=50"),
                    api_part("/api/subscriptions?customer_id={id}&pageSize=50"),
                    api_part("/api/events?object_id={id}&pageSize=30"),
                ),
                LIST_TARGET,
                False,
            )
        )
    busiest = endpoints[0]["id"]
    out += [
        Call(
            "webhooks",
            f"webhooks page ({len(endpoints)} endpoints)",
            fixed("/dashboard/webhooks"),
            (fixed("/api/webhook-endpoints?pageSize=100"),),
            LIST_TARGET,
            False,
        ),
        Call(
            "webhook",
            "an endpoint's page (its attempts: 300k)",
            fixed(f"/dashboard/webhooks/{busiest}"),
            (
                fixed(f"/api/webhook-endpoints/{busiest}"),
                fixed(f"/api/webhook-endpoints/{busiest}/attempts?pageSize=25"),
            ),
            LIST_TARGET,
            False,
        ),
    ]
    return out


def measure(
    page: Connection, api: Connection, call: Call, repeat: int, seed_value: int
) -> tuple[list[float], list[float]]:
    """Alternate one page request with its API reads; the API reads' times are summed per round.
    Each round draws its customer with one seed for the page and the API alike."""
    rounds = random.Random(seed_value)
    pages: list[float] = []
    apis: list[float] = []
    for i in range(repeat + 3):
        r = rounds.random()
        path = call.page(random.Random(r))
        ms_page, _ = (page if path.startswith("/dashboard") else api).timed(path)
        ms_api = sum(api.timed(path(random.Random(r)))[0] for path in call.api)
        if i >= 3:  # warm-up rounds
            pages.append(ms_page)
            apis.append(ms_api)
    return pages, apis


COUNT = re.compile(rb'<p class="count">\s*(More than )?([\d,]+)')
FIRST_ROW = re.compile(rb'href="/dashboard/customers/(cus_[0-9A-Za-z]+)"')


def check(page: Connection, api: Connection, call: Call) -> None:
    """The page shows the API list's first customer and count (as 'More than N-1' when the
    API's count is a bound)."""
    if not call.check:
        return
    rng_seed = 0.5
    _, html = page.timed(call.page(random.Random(rng_seed)))
    _, raw = api.timed(call.api[0](random.Random(rng_seed)))
    body = json.loads(raw)
    found = COUNT.search(html)
    first = FIRST_ROW.search(html)
    shown = (
        None
        if found is None
        else int(found.group(2).replace(b",", b"")) + (1 if found.group(1) else 0)
    )
    want_first = body["list"][0]["id"] if body["list"] else None
    got_first = None if first is None else first.group(1).decode()
    if shown != body["count"] or got_first != want_first:
        raise BenchError(
            f"{call.label}: the page shows count {shown} and {got_first},"
            f" the API {body['count']} and {want_first}"
        )


def export(conn: Connection, path: str) -> tuple[float, int]:
    """(ms, lines) of one streamed export."""
    start = time.perf_counter()
    response = conn.request("GET", path)
    lines = 0
    while chunk := response.read(1 << 16):
        lines += chunk.count(b"\n")
    if response.status != 200:
        raise BenchError(f"GET {path} answered {response.status}")
    return (time.perf_counter() - start) * 1000, lines


EXPORTS = (
    ("delinquent=true", {"delinquent": "true"}),
    ("tier=gold&delinquent=true", {"metadata": "tier=gold", "delinquent": "true"}),
    ("email=<exact>&delinquent=false", None),  # filled with a sampled email
)


# -- plans --------------------------------------------------------------------------------------


def explain(url: str, calls: list[Call], secret: str, only: set[str] | None) -> None:
    """Every statement each page runs, read in process through the same app, with its plan."""
    from starlette.testclient import TestClient

    from paymentkit.server.app import create_app
    from paymentkit.server.config import Settings
    from paymentkit.server.db import engine

    captured: list[tuple[str, tuple[Any, ...]]] = []
    original = engine.Tx._run

    def recording(self: Tx, sql: str, params: Any) -> None:
        captured.append((sql, tuple(params)))
        original(self, sql, params)

    engine.Tx._run = recording  # type: ignore[method-assign]
    settings = Settings(database_url=url, secret_key=SECRET_KEY, log_level="warning")
    planner = Database(url, statement_timeout=0)
    pg = planner.dialect == "postgresql"
    try:
        with TestClient(create_app(settings)) as client:
            login = client.get("/dashboard/login")
            token = CSRF_FIELD.search(login.content)
            assert token is not None
            signed = client.post(
                "/dashboard/login",
                data={"csrf_token": token.group(1).decode(), "api_key": secret},
                follow_redirects=False,
            )
            assert signed.status_code == 303, signed.text
            for call in calls:
                if only is not None and call.key not in only:
                    continue
                path = call.page(random.Random(0.5))
                captured.clear()
                answer = client.get(path, follow_redirects=False)
                statements = [
                    (sql, params)
                    for sql, params in captured
                    if "dashboard_sessions" not in sql and "api_keys" not in sql
                ]
                console.rule(f"{call.label}: GET {path} → {answer.status_code}")
                for sql, params in statements:
                    console.print(f"[bold]{_short(sql)}[/bold]", highlight=False)
                    console.print(f"  params: {_short(repr(params), 200)}", highlight=False)
                    lines = _plan(planner, pg, sql, params)
                    console.print("\n".join("  " + line for line in lines), highlight=False)
    finally:
        engine.Tx._run = original  # type: ignore[method-assign]
        planner.close()


def _short(text: str, limit: int = 1200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " …"


def _plan(db: Database, pg: bool, sql: str, params: tuple[Any, ...]) -> list[str]:
    def work(tx: Tx) -> list[str]:
        if pg:
            rows = tx.all("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
            return [str(r[0]) for r in rows]
        plan_rows = tx.all("EXPLAIN QUERY PLAN " + sql, params)
        depth: dict[int, int] = {0: 0}
        lines = []
        for node, parent, _, detail in plan_rows:
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * (depth[node] - 1) + str(detail))
        best = min(_timed(tx, sql, params) for _ in range(3))
        lines.append(f"→ {best:.3f} ms")
        return lines

    return db.run_sync(work)


def _timed(tx: Tx, sql: str, params: tuple[Any, ...]) -> float:
    start = time.perf_counter()
    tx.all(sql, params)
    return (time.perf_counter() - start) * 1000


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="sqlite:///PATH or postgresql://…")
    parser.add_argument("--repeat", type=int, default=100, help="rounds per call")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--existing", action="store_true", help="measure --database-url as it is (built before)"
    )
    parser.add_argument("--keep", action="store_true", help="keep a new PostgreSQL schema")
    parser.add_argument(
        "--explain",
        nargs="?",
        const="all",
        default=None,
        help="print the plans of every page's statements (optionally only these call keys, comma-separated)",
    )
    parser.add_argument(
        "--only", default=None, help="measure only these call keys (comma-separated)"
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory(prefix="pk-dash-") as tmp:
        work = Path(tmp)
        store = Store(args.database_url, work, args.existing, args.keep)
        server: Server | None = None
        try:
            if not args.existing:
                build(store, args.customers, args.seed, work)
                if store.keep:
                    console.print(f"kept: --existing --database-url '{store.url}'")
            secret = api_key(store.url)
            db = Database(store.url)
            try:
                endpoints = [
                    {"id": r[0]}
                    for r in db.run_sync(
                        lambda tx: tx.all(
                            "SELECT w.id FROM webhook_endpoints w WHERE livemode = ?"
                            " ORDER BY (SELECT count(*) FROM webhook_deliveries d"
                            " WHERE d.endpoint_seq = w.seq) DESC",
                            (False,),
                        )
                    )
                ]
                calls = plan(db, endpoints)
                email = sample(db, "SELECT email FROM customers WHERE mod(seq, 991) = 0 LIMIT 1")[0]
                customers = int(
                    sample(db, "SELECT sum(n) FROM customer_counts WHERE livemode = ?", (False,))[0]
                )
                events = int(sample(db, "SELECT count(*) FROM events")[0])
                attempts = int(sample(db, "SELECT count(*) FROM webhook_attempts")[0])
                late = int(
                    sample(
                        db,
                        "SELECT count(DISTINCT customer_id) FROM invoices WHERE status = 'uncollectible'",
                    )[0]
                )
                flagged = int(
                    sample(
                        db,
                        "SELECT sum(n_delinquent) FROM customer_counts WHERE livemode = ?",
                        (False,),
                    )[0]
                )
                if flagged != late:
                    raise BenchError(
                        f"{flagged} customers are flagged delinquent, {late} have an uncollectible invoice"
                    )
            finally:
                db.close()
            if args.explain is not None:
                only = None if args.explain == "all" else set(args.explain.split(","))
                explain(store.url, calls, secret, only)
                return 0
            server = Server(store.url, free_port(), 0, work / "server.log", SERVER_ENV)
            server.wait_ready()
            api = Connection(server.base, {"Authorization": f"Bearer {secret}"})
            page = sign_in(server.base, secret)
            only = None if args.only is None else set(args.only.split(",")) | {"retrieve"}
            chosen = [c for c in calls if only is None or c.key in only]
            results: dict[str, tuple[list[float], list[float]]] = {}
            failed: dict[str, str] = {}
            for n, call in enumerate(chosen):
                try:
                    check(page, api, call)
                    results[call.key] = measure(page, api, call, args.repeat, args.seed + n)
                except BenchError as exc:  # reported in its row (a 503: the statement timeout)
                    if call.key == "retrieve":
                        raise
                    failed[call.key] = str(exc)
            exports = []
            for label, query in EXPORTS:
                q = query or {"email": email, "delinquent": "false"}
                shown = f"/dashboard/customers/export.csv?{urlencode(q)}"
                api_q = {
                    ("metadata.tier" if k == "metadata" else k): (
                        v.partition("=")[2] if k == "metadata" else v
                    )
                    for k, v in q.items()
                }
                api_path = f"/api/customers/export?{urlencode({**api_q, 'format': 'csv'})}"
                runs = [(export(page, shown), export(api, api_path)) for _ in range(3)]
                exports.append((label, runs))
        finally:
            if server is not None:
                server.stop()
            store.drop()

    base = statistics.median(results["retrieve"][0])
    title = (
        f"dashboard on {store.dialect}: {customers:,} customers ({late:,} delinquent), {events:,}"
        f" events, {attempts:,} webhook attempts; one worker, sequential"
    )
    table = Table(title=title)
    for col in ("call", "page p50", "page p95", "API p50", "× API", "× retrieve", "target", ""):
        table.add_column(col, justify="left" if col == "call" else "right")
    failures = 0
    for call in chosen:
        if call.key in failed:
            failures += 1
            status = re.search(r"answered (\d+)", failed[call.key])
            table.add_row(
                call.label, f"error {status.group(1) if status else '?'}", *[""] * 5, "FAIL"
            )
            continue
        pages, apis = results[call.key]
        p50 = statistics.median(pages)
        api_p50 = statistics.median(apis) if call.api else None
        ratio = None if api_p50 is None else p50 / api_p50
        verdict = ""
        if call.target is not None and ratio is not None:
            ok = ratio <= call.target
            failures += not ok
            verdict = "PASS" if ok else "FAIL"
        table.add_row(
            call.label,
            f"{p50:.2f}",
            f"{pct(pages, 0.95):.2f}",
            "" if api_p50 is None else f"{api_p50:.2f}",
            "" if ratio is None else f"{ratio:.2f}",
            f"{p50 / base:.1f}",
            "" if call.target is None else f"≤ {call.target:g}",
            verdict,
        )
    console.print(table)
    exports_table = Table(title="CSV export of a filter (median of 3)")
    for col in ("filter", "rows", "page ms", "API ms", "page rows/s", "API rows/s", "target", ""):
        exports_table.add_column(col, justify="left" if col == "filter" else "right")
    for label, runs in exports:
        page_ms = statistics.median(r[0][0] for r in runs)
        api_ms = statistics.median(r[1][0] for r in runs)
        rows = runs[0][0][1] - 1  # the header line
        ok = page_ms <= LIST_TARGET * api_ms
        failures += not ok
        exports_table.add_row(
            label,
            f"{rows:,}",
            f"{page_ms:.1f}",
            f"{api_ms:.1f}",
            f"{rows / page_ms * 1000:,.0f}",
            f"{rows / api_ms * 1000:,.0f}",
            f"≥ 1/{LIST_TARGET:g}",
            "PASS" if ok else "FAIL",
        )
    console.print(exports_table)
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        console.print(f"[red]{exc}[/red]")
        sys.exit(1)
