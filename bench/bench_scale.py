"""The Customers API at real size: load N generated customers through `paymentkit import`, then
time every call of issue 8's table over HTTP against one `paymentkit serve` worker.

Run: ./run python bench/bench_scale.py [--customers N] [--database-url URL] [--repeat R]

Default N is 1,000,000 on a fresh SQLite file in a temp dir; with a `postgresql://` URL the run
uses a fresh schema in that database and drops it afterwards. The server is pinned to CPU 0 and
this client to CPU 1; requests are sequential on one keep-alive connection. For each call it
prints p50, p95 and the ratio of the p50 to the retrieve p50 of the same run (absolute times
drift between machines; the ratios are what the targets speak of), then import/export rates and
write latencies at N against the same at 1,000 customers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from bench import datagen
from bench.bench_api import BenchError, Server, api_key, free_port, paymentkit_exe
from paymentkit.server.db.engine import Database
from paymentkit.server.db.migrate import upgrade

console = Console(width=None if sys.stdout.isatty() else 140)
IMPORT_SECONDS_PER_MILLION = 60.0  # issue 8's import target on SQLite


@dataclass(frozen=True)
class Call:
    key: str
    label: str
    path: Callable[[random.Random], str]  # a fresh path per request
    target: float | None = None  # the largest p50 / retrieve p50 allowed
    repeat: float = 1.0  # share of --repeat for slow calls


class Client:
    """One keep-alive HTTP connection with the API key (bench_webhooks' writers use it too)."""

    def __init__(self, base: str, secret: str, timeout: float = 120) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        self.headers = {"Authorization": f"Bearer {secret}"}

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body)
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def timed(self, method: str, path: str, body: Any = None) -> tuple[float, Any]:
        start = time.perf_counter()
        status, raw = self.request(method, path, body)
        elapsed = (time.perf_counter() - start) * 1000
        if status >= 300:
            raise BenchError(f"{method} {path} answered {status}: {raw[:300]!r}")
        return elapsed, json.loads(raw)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer of a request that must succeed."""
        return self.timed(method, path, body)[1]


def measure(client: Client, call: Call, repeat: int, rng: random.Random) -> list[float]:
    n = max(5, int(repeat * call.repeat))
    for _ in range(min(5, n)):  # warm caches and the connection
        client.timed("GET", call.path(rng))
    return [client.timed("GET", call.path(rng))[0] for _ in range(n)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- database (bench_dashboard and bench_webhooks use these too) --------------------------------


class Target:
    """A fresh database to load: a temp SQLite file, or a new schema in a PostgreSQL database
    (`work / name.db`, schema `bench_{name}_…`, dropped by `drop`)."""

    def __init__(self, url: str | None, work: Path, name: str, existing: bool = False) -> None:
        self.schema: str | None = None
        self.base = url
        if existing and url is not None:  # the database at `url` itself, as it is
            self.url = url
            return
        if url is None or url.startswith("sqlite"):
            self.url = f"sqlite:///{work / (name + '.db')}"
        else:
            import psycopg

            self.schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {self.schema}")
            sep = "&" if "?" in url else "?"
            self.url = f"{url}{sep}options=-csearch_path%3D{self.schema}"
        upgrade(self.url)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def drop(self) -> None:
        if self.schema is not None and self.base is not None:
            import psycopg

            with psycopg.connect(self.base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {self.schema} CASCADE")


# Every CPU this run may use, read before main() pins the bench itself to CPU 1: the import is
# measured as a user runs it, with all of them (pinned along with the bench, a 2-core
# machine's SQLite import took 126 s instead of 90).
MACHINE_CPUS = sorted(os.sched_getaffinity(0))


def run_import(target: Target, path: Path) -> dict[str, Any]:
    cpus = ",".join(str(cpu) for cpu in MACHINE_CPUS)
    cmd = ["taskset", "-c", cpus, paymentkit_exe(), "import", "customers", str(path), "--json"]
    cmd += ["--mode", "test"]
    cmd += ["--database-url", target.url]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError(f"import failed ({done.returncode}):\n{done.stderr[-3000:]}")
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    summary["wall"] = seconds
    return summary


def sample(db: Database, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """The first column of the rows `sql` reads."""
    return [r[0] for r in db.run_sync(lambda tx: tx.all(sql, tuple(params)))]


def at_depth(db: Database, sql: str, params: Sequence[Any], offset: int) -> str:
    """The id `sql` (ending in `LIMIT 1 OFFSET ?`) finds at `offset`, or nearer the start when
    fewer rows match (a run with --customers below 1M has no page 2,500 of every list)."""
    while True:
        found = sample(db, sql, (*params, offset))
        if found or offset == 0:
            return str(found[0]) if found else ""
        offset //= 2


# -- the calls ----------------------------------------------------------------------------------


def calls(db: Database) -> list[Call]:
    ids = sample(db, "SELECT id FROM customers WHERE mod(seq, 997) = 0 LIMIT 1000")
    rows = db.run_sync(
        lambda tx: tx.all(
            "SELECT email, did, phone FROM customers WHERE mod(seq, 991) = 0 LIMIT 500"
        )
    )
    emails = [r[0] for r in rows]
    dids = [r[1] for r in rows]
    phones = [r[2] for r in rows]

    def newest(offset: int) -> str:
        return at_depth(
            db,
            "SELECT id FROM customers WHERE livemode = ? AND deleted_at IS NULL"
            " ORDER BY created_at DESC, seq DESC LIMIT 1 OFFSET ?",
            (False,),
            offset,
        )

    def gold(offset: int, order: str) -> str:
        field, _, direction = order.partition(":")
        column = {"email": "email_lower"}.get(field, field)
        nulls = " NULLS LAST" if db.dialect == "postgresql" else ""
        collate = (
            ' COLLATE "C"' if db.dialect == "postgresql" and field in ("name", "email") else ""
        )
        return at_depth(
            db,
            "SELECT c.id FROM customers c JOIN customer_metadata m ON m.customer_seq = c.seq"
            " AND m.key = 'tier' AND m.value = 'gold' WHERE c.livemode = ? AND c.deleted_at"
            f" IS NULL ORDER BY c.{column}{collate} {direction}{nulls}, c.seq {direction}"
            " LIMIT 1 OFFSET ?",
            (False,),
            offset,
        )

    depth = {d: newest(d * 20 - 1) for d in (1, 2500, 50000)}
    contains = "instr" if db.dialect == "sqlite" else "strpos"
    son_deep = at_depth(
        db,
        "SELECT id FROM customers WHERE livemode = ? AND deleted_at IS NULL AND"
        f" {contains}(search_text, 'son') > 0 ORDER BY created_at DESC, seq DESC"
        " LIMIT 1 OFFSET ?",
        (False,),
        2500 * 20 - 1,
    )
    total = int(sample(db, "SELECT sum(n) FROM customer_counts WHERE livemode = ?", (False,))[0])
    last_page = max(1, min(50000, (total + 19) // 20))
    gold_deep = {o: gold(2500 * 20 - 1, o) for o in ("created_at:DESC", "name:ASC")}

    def q(path: str, **params: Any) -> Callable[[random.Random], str]:
        text = f"{path}?{urlencode(params)}" if params else path
        return lambda _rng: text

    def search(term: Callable[[random.Random], str]) -> Callable[[random.Random], str]:
        return lambda rng: "/api/customers/search?query=" + quote(term(rng), safe="")

    out = [
        Call(
            "retrieve", "GET /api/customers/{id}", lambda rng: f"/api/customers/{rng.choice(ids)}"
        ),
        Call("page1", "list page=1", q("/api/customers", page=1)),
        Call(
            "page50000",
            f"list page={last_page} (OFFSET)",
            q("/api/customers", page=last_page),
            40,
            0.3,
        ),
    ]
    for d, cursor in depth.items():
        out.append(
            Call(
                f"cursor{d}",
                f"cursor page at depth {d:,}",
                q("/api/customers", starting_after=cursor),
                3,
            )
        )
    out += [
        Call(
            "gold",
            "?metadata.tier=gold page 1",
            q("/api/customers", **{"metadata.tier": "gold"}),
            3,
        ),
        Call(
            "gold_deep",
            "?metadata.tier=gold cursor at depth 2,500",
            q(
                "/api/customers",
                **{"metadata.tier": "gold", "starting_after": gold_deep["created_at:DESC"]},
            ),
            3,
        ),
        Call(
            "two_meta",
            "?metadata.tier=gold twice (two filters: a bounded count)",
            q("/api/customers", **{"metadata.tier": "gold", "metadata[tier]": "gold"}),
        ),
    ]
    for order in ("name:ASC", "email:DESC", "updated_at:DESC", "created_at:ASC"):
        out.append(
            Call(
                f"gold_{order}",
                f"?metadata.tier=gold&order={order}",
                q("/api/customers", **{"metadata.tier": "gold", "order": order}),
                3,
            )
        )
    out.append(
        Call(
            "gold_name_deep",
            "?metadata.tier=gold&order=name:ASC cursor at depth 2,500",
            q(
                "/api/customers",
                **{
                    "metadata.tier": "gold",
                    "order": "name:ASC",
                    "starting_after": gold_deep["name:ASC"],
                },
            ),
            3,
        )
    )
    out += [
        Call(
            "email",
            "?email=<exact>",
            lambda rng: "/api/customers?email=" + quote(rng.choice(emails)),
            3,
        ),
        Call(
            "email_order",
            "?email=<exact>&order=name:DESC",
            lambda rng: "/api/customers?order=name:DESC&email=" + quote(rng.choice(emails)),
            3,
        ),
        Call("did", "?did=<exact>", lambda rng: "/api/customers?did=" + quote(rng.choice(dids)), 3),
        Call(
            "email_gold",
            "?email=<exact>&metadata.tier=gold",
            lambda rng: "/api/customers?metadata.tier=gold&email=" + quote(rng.choice(emails)),
            3,
        ),
        Call("s_email", "search an exact email", search(lambda rng: rng.choice(emails)), 10),
        Call("s_surname", "search a surname (Johnson)", search(lambda _: "Johnson"), 10),
        Call("s_son", "search 'son'", search(lambda _: "son"), 10),
        Call(
            "s_email_prefix",
            "search an email prefix",
            search(lambda rng: rng.choice(emails).split("@")[0][:12]),
            10,
        ),
        Call("s_did", "search a DID prefix", search(lambda rng: rng.choice(dids)[:10]), 10),
        Call("s_phone", "search a phone fragment", search(lambda rng: rng.choice(phones)[-7:]), 10),
        Call("s_none", "search a term matching nothing", search(lambda _: "qqxqqzz"), 10),
        Call("s_a", "search 1 letter 'a'", search(lambda _: "a"), 30),
        Call("s_jo", "search 2 letters 'jo'", search(lambda _: "jo"), 30),
        Call(
            "s_rare2",
            "search a rare 2 letters 'qz' (one pass allowed)",
            search(lambda _: "qz"),
            None,
            0.1,
        ),
        Call(
            "s_deep",
            "search 'son' cursor at depth 2,500",
            lambda _rng: "/api/customers/search?query=son&starting_after=" + son_deep,
            10,
        ),
    ]
    return out


def writes(clients: Sequence[Client], repeat: int) -> list[dict[str, float]]:
    """p50 of create, update and delete (each on a customer of its own) for each client, the
    clients' requests interleaved one by one: the machine's drift (an fsync's latency is most
    of a write's) falls on both databases alike instead of on whichever was measured later."""
    made: list[list[str]] = [[] for _ in clients]
    times: list[dict[str, list[float]]] = [
        {"create": [], "update": [], "delete": []} for _ in clients
    ]
    for i in range(repeat):
        for n, client in enumerate(clients):
            body: dict[str, Any] = {
                "name": f"Bench {i}",
                "email": f"bench.{uuid.uuid4().hex}@example.com",
                "metadata": {"tier": "gold"},
            }
            ms, customer = client.timed("POST", "/api/customers", body)
            times[n]["create"].append(ms)
            made[n].append(customer["id"])
    changes: tuple[tuple[str, str, Any], ...] = (
        ("update", "PUT", {"name": "Renamed"}),
        ("delete", "DELETE", None),
    )
    for op, method, change in changes:
        for i in range(repeat):
            for n, client in enumerate(clients):
                ms = client.timed(method, f"/api/customers/{made[n][i]}", change)[0]
                times[n][op].append(ms)
    return [{op: statistics.median(values) for op, values in t.items()} for t in times]


def export_rate(client: Client, limit_rows: int) -> tuple[int, float]:
    start = time.perf_counter()
    client.conn.request("GET", "/api/customers/export?format=jsonl", headers=client.headers)
    response = client.conn.getresponse()
    lines = 0
    while chunk := response.read(1 << 16):
        lines += chunk.count(b"\n")
    if response.status != 200:
        raise BenchError(f"export answered {response.status}")
    return lines, time.perf_counter() - start


def start(target: Target, port: int, log: Path) -> tuple[Server, Client]:
    secret = api_key(target.url)
    server = Server(target.url, port, 0, log)
    server.wait_ready()
    return server, Client(server.base, secret)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="postgresql://… (default: SQLite)")
    parser.add_argument("--repeat", type=int, default=200, help="requests per call")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--existing",
        action="store_true",
        help="measure --database-url as it is (loaded before): no import, nothing dropped",
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="pk-scale-") as tmp:
        work = Path(tmp)
        data = work / "customers.jsonl"
        if not args.existing:
            console.print(f"generating {args.customers:,} customers …")
            datagen.write_jsonl(data, args.customers, args.seed)
        small_data = work / "small.jsonl"
        datagen.write_jsonl(small_data, 1000, args.seed + 1)

        big = Target(args.database_url, work, "big", existing=args.existing)
        small = None if args.existing else Target(args.database_url, work, "small")
        servers: list[Server] = []
        big_writes: dict[str, float] = {}
        small_writes: dict[str, float] = {}
        lines, seconds = 0, 1.0
        try:
            summary = {"imported": 0, "duplicates": 0, "failed": 0, "wall": 1.0}
            if not args.existing:
                console.print(f"importing into {big.dialect} …")
                summary = run_import(big, data)
            if small is not None:
                run_import(small, small_data)
            server, client = start(big, free_port(), work / "big.log")
            servers.append(server)
            db = Database(big.url)
            try:
                plan = calls(db)
            finally:
                db.close()
            results: dict[str, list[float]] = {}
            for call in plan:
                results[call.key] = measure(client, call, args.repeat, rng)
            if small is not None:  # --existing measures reads only: it changes nothing
                lines, seconds = export_rate(client, args.customers)
                small_server, small_client = start(small, free_port(), work / "small.log")
                servers.append(small_server)
                big_writes, small_writes = writes([client, small_client], max(50, args.repeat // 2))
        finally:
            for s in servers:
                s.stop()
            if not args.existing:
                big.drop()
            if small is not None:
                small.drop()

    base = statistics.median(results["retrieve"])
    table = Table(title=f"{args.customers:,} customers on {big.dialect}, one worker, sequential")
    for col in ("call", "p50 ms", "p95 ms", "× retrieve", "target", ""):
        table.add_column(col, justify="left" if col == "call" else "right")
    failures = 0
    for call in plan:
        values = results[call.key]
        p50 = statistics.median(values)
        ratio = p50 / base
        verdict = ""
        if call.target is not None:
            ok = ratio <= call.target
            failures += not ok
            verdict = "PASS" if ok else "FAIL"
        table.add_row(
            call.label,
            f"{p50:.2f}",
            f"{pct(values, 0.95):.2f}",
            f"{ratio:.1f}",
            "" if call.target is None else f"≤ {call.target:g}",
            verdict,
        )
    console.print(table)
    if args.existing:
        console.print("import and export: not measured (--existing reads only)")
    else:
        # Issue 8: 1,000,000 in under a minute on SQLite, close to that on PostgreSQL (printed,
        # not judged); judged at a million or more (a small import is mostly start-up).
        rate = summary["imported"] / summary["wall"]
        limit = IMPORT_SECONDS_PER_MILLION * args.customers / 1_000_000
        verdict = ""
        if big.dialect == "sqlite" and args.customers >= 1_000_000:
            ok = summary["wall"] <= limit
            failures += not ok
            verdict = f"; target ≤ {limit:.0f} s: {'PASS' if ok else 'FAIL'}"
        console.print(
            f"import: {summary['imported']:,} imported, {summary['duplicates']} duplicates, "
            f"{summary['failed']} failed in {summary['wall']:.1f} s ({rate:,.0f} rows/s){verdict}"
        )
        console.print(
            f"export (GET /api/customers/export): {lines:,} lines in {seconds:.1f} s"
            f" ({lines / seconds:,.0f} rows/s)"
        )
    for op in big_writes:
        ratio = big_writes[op] / small_writes[op]
        ok = ratio <= 1.5
        failures += not ok
        console.print(
            f"{op} p50: {big_writes[op]:.2f} ms at {args.customers:,} vs {small_writes[op]:.2f} ms"
            f" at 1,000 → {ratio:.2f}× (≤ 1.5: {'PASS' if ok else 'FAIL'})"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        console.print(f"[red]{exc}[/red]")
        sys.exit(1)
