"""HTTP benchmark of the paymentkit API against a bare route served by the same process.

Run: ./run python bench/bench_api.py [--customers N] [--duration S] [--connections C]

Seeds a fresh SQLite database in a temp dir, starts `paymentkit serve` pinned to one core, loads each
endpoint with `wrk` pinned to another core, and prints req/s, p99 and the ratio of each endpoint's
req/s to the bare route's (`GET /healthz`). Absolute numbers drift between machines; the ratios are
what to compare (see /work/shared/perf-notes.md and bench/README.md).

Adding an endpoint: append an `Endpoint` to `ENDPOINTS`. When it needs data of its own, write a
seeder (`def seed_x(conn, fixture, progress) -> None`) that inserts rows and registers ids in
`fixture.pools`, and append it to `SEEDERS`; `{pool}` placeholders in the endpoint's path are replaced
on every request by a random id from that pool.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from types import FrameType

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from paymentkit import __version__ as paymentkit_version
from paymentkit.server.customers.repository import search_table
from paymentkit.server.customers.rules import search_text
from paymentkit.server.db.engine import Database
from paymentkit.server.db.migrate import upgrade
from paymentkit.server.ids import new_id, now_ms
from paymentkit.server.keys import service as keys

console = Console(width=None if sys.stdout.isatty() else 120)  # no wrapping in logs

POOL_SAMPLE = 1000  # ids per pool handed to the wrk script
SEED_CHUNK = 10_000  # rows per executemany call (all in one transaction)
RESULT_MARK = "BENCH_RESULT "  # prefix of the JSON line the wrk script's done() prints


class BenchError(Exception):
    """A failure that makes the numbers meaningless (exit non-zero)."""


# -- what is measured ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    key: str  # short name used in the table and the target line
    label: str
    path: str  # "{pool}" placeholders are filled per request from Fixture.pools[pool]
    auth: bool = True
    expect: Callable[[object], bool] | None = None  # sanity check of one response body
    target_ratio: float | None = None  # req/s of this endpoint / req/s of the bare route


BARE = Endpoint(
    "healthz",
    "GET /healthz (bare route)",
    "/healthz",
    auth=False,
    expect=lambda body: body == {"ok": True},
)

ENDPOINTS: tuple[Endpoint, ...] = (
    BARE,
    Endpoint(
        "retrieve",
        "GET /api/customers/{id}",
        "/api/customers/{customer}",
        expect=lambda body: isinstance(body, dict) and str(body.get("id", "")).startswith("cus_"),
        target_ratio=0.30,
    ),
    Endpoint(
        "list",
        "GET /api/customers?page=1&pageSize=20",
        "/api/customers?page=1&pageSize=20",
        expect=lambda body: isinstance(body, dict) and len(body.get("list", [])) == 20,
    ),
    Endpoint(
        "search",
        "GET /api/customers/search?query=smith (~2% of customers match)",
        "/api/customers/search?query=smith",
        expect=lambda body: isinstance(body, dict) and body.get("count", 0) > 0,
    ),
    Endpoint(
        "overdue",
        "GET /api/customers/{id}/overdue/invoices (2,000 of 10,000 invoices)",
        "/api/customers/{overdue_customer}/overdue/invoices",
        expect=lambda body: (
            isinstance(body, dict)
            and len(body.get("invoices", [])) == OVERDUE_UNCOLLECTIBLE
            and len(body.get("summary", {})) == OVERDUE_CURRENCIES
        ),
        target_ratio=0.02,
    ),
)
OVERDUE_INVOICES = 10_000
OVERDUE_UNCOLLECTIBLE = 2_000
OVERDUE_CURRENCIES = 3


# -- seeding ---------------------------------------------------------------------------------------


@dataclass
class Fixture:
    customers: int
    rng: random.Random
    pools: dict[str, list[str]] = field(default_factory=dict)


Seeder = Callable[[sqlite3.Connection, Fixture, Progress], None]

# fmt: off
_FIRST = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Mateo",
    "Isabella", "Lucas", "Mia", "Levi", "Evelyn", "Asher", "Harper", "James", "Luna", "Leo",
    "Camila", "Grayson", "Gianna", "Ezra", "Elizabeth", "Luca", "Eleanor", "Ethan", "Ella",
    "Aiden", "Wei", "Yuki", "Priya", "Arjun", "Fatima", "Omar", "Chloe", "Hiroshi", "Ingrid",
    "Sven", "Zoe", "Mohammed", "Aisha", "Carlos", "Lucia",
)
_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Chen", "Wang", "Kim", "Singh", "Patel", "Tanaka",
    "Muller", "Rossi", "Novak", "Kowalski", "Silva", "Dubois",
)
# fmt: on
_DOMAINS = ("example.com", "example.org", "mail.test", "corp.example", "shop.example")

_CUSTOMER_SQL = (
    "INSERT INTO customers (id, livemode, did, name, email, email_lower, phone, address,"
    " description, balance, metadata, search_text, created_at, updated_at, deleted_at)"
    " VALUES (?, 0, NULL, ?, ?, ?, ?, NULL, NULL, '0', '{}', ?, ?, ?, NULL)"
)


def seed_customers(conn: sqlite3.Connection, fixture: Fixture, progress: Progress) -> None:
    """Test-mode customers with increasing created_at; registers every id in pool "customer"."""
    n, rng = fixture.customers, fixture.rng
    base = now_ms() - n - 60_000
    ids: list[str] = []
    task = progress.add_task("customers", total=n)
    for start in range(0, n, SEED_CHUNK):
        rows = []
        for i in range(start, min(start + SEED_CHUNK, n)):
            cid = new_id("cus")
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            name = f"{first} {last}"
            email = f"{first}.{last}{i}@{rng.choice(_DOMAINS)}".lower()
            phone = f"+1{rng.randint(201, 989)}{rng.randint(0, 9_999_999):07d}"
            created = base + i
            text = search_text(name, email, phone)
            rows.append((cid, name, email, email.lower(), phone, text, created, created))
            ids.append(cid)
        conn.executemany(_CUSTOMER_SQL, rows)
        progress.advance(task, len(rows))
    # The write path keeps this counter and the search table; a bulk load has to do it itself.
    conn.execute("UPDATE customer_counts SET n = n + ? WHERE livemode = 0 AND shard = 0", (n,))
    conn.execute(
        f"INSERT INTO {search_table(False)} (rowid, search_text)"
        " SELECT seq, search_text FROM customers WHERE livemode = 0"
    )
    fixture.pools["customer"] = ids


def seed_overdue(conn: sqlite3.Connection, fixture: Fixture, progress: Progress) -> None:
    """One customer with 10,000 invoices: every fifth uncollectible, amounts past 2^64, spread
    over 3 currencies of 2 payment methods; registers it in pool "overdue_customer"."""
    now = now_ms()
    methods = [new_id("pm"), new_id("pm")]
    conn.executemany(
        "INSERT INTO payment_methods (id, livemode, type, name, active, settings_keys, metadata,"
        " created_at, updated_at) VALUES (?, 0, ?, ?, 1, '[]', '{}', ?, ?)",
        [
            (methods[0], "stripe", "Stripe", now, now),
            (methods[1], "arcblock", "ArcBlock", now, now),
        ],
    )
    currencies = [new_id("pc") for _ in range(OVERDUE_CURRENCIES)]
    conn.executemany(
        "INSERT INTO payment_currencies (id, livemode, payment_method_id, name, symbol, decimal,"
        " active, metadata, created_at, updated_at) VALUES (?, 0, ?, ?, ?, 18, 1, '{}', ?, ?)",
        [(c, methods[i % 2], f"Token {i}", f"TK{i}", now, now) for i, c in enumerate(currencies)],
    )
    customer = fixture.pools["customer"][0]
    subscriptions = [new_id("sub") for _ in range(5)]
    conn.executemany(
        "INSERT INTO subscriptions (id, livemode, customer_id, currency_id, status, metadata,"
        " created_at, updated_at) VALUES (?, 0, ?, ?, 'active', '{}', ?, ?)",
        [(s, customer, currencies[0], now, now) for s in subscriptions],
    )
    task = progress.add_task("invoices", total=OVERDUE_INVOICES)
    rows = []
    step = OVERDUE_INVOICES // OVERDUE_UNCOLLECTIBLE
    for i in range(OVERDUE_INVOICES):
        due = 10**20 + i  # past 2^64, as 18-decimal tokens are
        uncollectible = i % step == 0
        rows.append(
            (
                new_id("in"),
                customer,
                currencies[i % OVERDUE_CURRENCIES],
                subscriptions[i % len(subscriptions)],
                "uncollectible" if uncollectible else "paid",
                str(due),
                "0" if uncollectible else str(due),
                str(due) if uncollectible else "0",
                now // 1000 if uncollectible else None,
                now + i,
                now + i,
            )
        )
    conn.executemany(
        "INSERT INTO invoices (id, livemode, customer_id, currency_id, subscription_id, status,"
        " amount_due, amount_paid, amount_remaining, marked_uncollectible_at, metadata,"
        " created_at, updated_at) VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)",
        rows,
    )
    progress.advance(task, len(rows))
    fixture.pools["overdue_customer"] = [customer]


SEEDERS: tuple[Seeder, ...] = (seed_customers, seed_overdue)


def seed(db_path: Path, fixture: Fixture) -> float:
    """Run every seeder in one transaction; returns the seconds it took."""
    started = time.perf_counter()
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN")
        with Progress(
            TextColumn("seeding {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            for seeder in SEEDERS:
                seeder(conn, fixture, progress)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - started


# -- server ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def paymentkit_exe() -> str:
    exe = Path(sys.executable).parent / "paymentkit"
    if exe.exists():
        return str(exe)
    found = shutil.which("paymentkit")
    if found is None:
        raise BenchError("the paymentkit command is not installed; run this with ./run python")
    return found


def api_key(url: str) -> str:
    """The secret of a new test-mode API key in the database at `url`, to call the server with."""
    db = Database(url)
    try:
        _, secret = db.run_sync(lambda tx: keys.create(tx, False, "bench"), write=True)
    finally:
        db.close()
    return secret


def get_json(url: str, secret: str | None, timeout: float = 5.0) -> tuple[int, object]:
    request = urllib.request.Request(url)
    if secret is not None:
        request.add_header("Authorization", f"Bearer {secret}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


class Server:
    """`paymentkit serve` pinned to one CPU; always stopped by `stop()` (call it in a finally)."""

    def __init__(
        self, url: str, port: int, cpu: int, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        # Benchmarks measure the API, not the per-key rate limit (it would refuse them at 25/s).
        env = {
            **os.environ,
            "PAYMENTKIT_LOG_LEVEL": "warning",
            "PAYMENTKIT_RATE_LIMIT_LIVE": "0",
            "PAYMENTKIT_RATE_LIMIT_TEST": "0",
            **(env or {}),
        }
        cmd = ["taskset", "-c", str(cpu), paymentkit_exe(), "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--database-url", url, "--workers", "1"]
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if get_json(self.base + "/healthz", None, timeout=1.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(
            f"the server did not answer /healthz within {timeout:.0f} s:\n{self.log()}"
        )

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            # Its own session, so the group id is its pid: signals reach it and nothing else.
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


# -- load ------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")  # same as the Lua pattern {([%w_]+)}


def lua_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def wrk_script(endpoint: Endpoint, secret: str, pools: dict[str, list[str]], seed: int) -> str:
    lines = ['wrk.method = "GET"']
    if endpoint.auth:
        lines.append(f'wrk.headers["Authorization"] = {lua_string("Bearer " + secret)}')
    names = sorted(set(_PLACEHOLDER.findall(endpoint.path)))
    if names:
        picker = random.Random(seed)
        lines.append(f"math.randomseed({seed})")
        lines.append("local pools = {}")
        for name in names:
            if not pools.get(name):
                raise BenchError(
                    f"endpoint {endpoint.key} needs pool {name!r}, which no seeder made"
                )
            sample = picker.sample(pools[name], min(POOL_SAMPLE, len(pools[name])))
            lines.append(f"pools[{lua_string(name)}] = {{{', '.join(map(lua_string, sample))}}}")
        lines += [
            f"local template = {lua_string(endpoint.path)}",
            "local function pick(name) local p = pools[name]; return p[math.random(#p)] end",
            "request = function()",
            '  local path = template:gsub("{([%w_]+)}", pick)',
            "  return wrk.format(nil, path)",
            "end",
        ]
    # Exact figures from wrk's own histogram, in microseconds, as one JSON line.
    lines += [
        "done = function(summary, latency, requests)",
        "  local e = summary.errors",
        "  io.write(string.format('" + RESULT_MARK + '{"requests": %d, "duration_us": %d, '
        '"p50_us": %d, "p99_us": %d, "connect": %d, "read": %d, "write": %d, '
        '"status": %d, "timeout": %d}\\n\',',
        "    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),",
        "    e.connect, e.read, e.write, e.status, e.timeout))",
        "end",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    socket_errors: int


@dataclass(frozen=True)
class LoadSettings:
    cpu: int
    connections: int
    threads: int


def run_wrk(url: str, script: Path, load: LoadSettings, duration: int) -> Run:
    cmd = ["taskset", "-c", str(load.cpu), "wrk", f"-t{load.threads}", f"-c{load.connections}"]
    cmd += [f"-d{duration}s", "--latency", "-s", str(script), url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    marked = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if not marked:
        raise BenchError(f"wrk printed no result line:\n{done.stdout}\n{done.stderr}")
    r = json.loads(marked[-1][len(RESULT_MARK) :])
    if r["status"]:
        raise BenchError(f"{r['status']} of {r['requests']} responses were not 2xx/3xx ({url})")
    if r["requests"] == 0:
        raise BenchError(f"wrk completed no requests against {url}")
    return Run(
        rps=r["requests"] / (r["duration_us"] / 1e6),
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        socket_errors=r["connect"] + r["read"] + r["write"] + r["timeout"],
    )


def check_endpoint(base: str, endpoint: Endpoint, secret: str, pools: dict[str, list[str]]) -> None:
    """One request by hand, so a broken route fails loudly instead of benchmarking an error page."""
    path = _PLACEHOLDER.sub(lambda m: pools[m.group(1)][0], endpoint.path)
    status, body = get_json(base + path, secret if endpoint.auth else None)
    if status != 200 or (endpoint.expect is not None and not endpoint.expect(body)):
        raise BenchError(f"GET {path} answered {status} with an unexpected body: {body!r:.500}")


# -- report ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    endpoint: Endpoint
    runs: list[Run]

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)


def tool_version(cmd: Sequence[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "?"
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def print_setup(args: argparse.Namespace, seed_seconds: float) -> None:
    rate = args.customers / seed_seconds if seed_seconds else 0.0
    wrk_version = tool_version(["wrk", "--version"]).split(" Copyright")[0].strip()
    lines = [
        f"customers        {args.customers:,} test-mode rows, seeded in {seed_seconds:.1f} s "
        f"({rate:,.0f} rows/s); retrieve ids drawn from {POOL_SAMPLE:,} of them",
        f"cpus             {os.cpu_count()} x {cpu_model()}",
        f"pinning          server on CPU {args.server_cpu}, wrk on CPU {args.wrk_cpu} (taskset)",
        f"load             wrk, {args.connections} connections, 1 thread, {args.duration} s per "
        f"run, {args.runs} runs per endpoint (interleaved), median kept; "
        f"{args.warmup} s warm-up",
        f"server           paymentkit {paymentkit_version}, 1 uvicorn worker, SQLite (WAL), loopback",
        f"python / sqlite  {platform.python_version()} / {sqlite3.sqlite_version}",
        "load average     {:.2f} {:.2f} {:.2f} (other work on the machine skews the numbers)".format(
            *os.getloadavg()
        ),
        f"versions         uvicorn {version('uvicorn')}, starlette {version('starlette')}, "
        f"{wrk_version}",
    ]
    console.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)


def print_results(results: list[Result]) -> None:
    bare = next(r for r in results if r.endpoint is BARE)
    table = Table(box=box.MARKDOWN, show_edge=True)
    table.add_column("endpoint")
    table.add_column("req/s", justify="right")
    table.add_column("p99 (ms)", justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("runs (req/s)", justify="right")
    table.add_column("socket errors", justify="right")
    for r in results:
        runs = ", ".join(f"{run.rps:,.0f}" for run in r.runs)
        errors = sum(run.socket_errors for run in r.runs)
        ratio_text = f"{r.rps / bare.rps:.2f}"
        table.add_row(
            r.endpoint.label, f"{r.rps:,.0f}", f"{r.p99_ms:.2f}", ratio_text, runs, str(errors)
        )
    console.print(table, highlight=False, soft_wrap=True)
    for r in results:
        if r.endpoint.target_ratio is not None:
            ratio = r.rps / bare.rps
            verdict = "PASS" if ratio >= r.endpoint.target_ratio else "FAIL"
            console.print(
                f"{r.endpoint.key} ratio >= {r.endpoint.target_ratio:.2f}: {verdict} ({ratio:.2f})",
                highlight=False,
            )


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--customers", type=int, default=100_000, help="rows to seed (default 100000)")
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--runs", type=int, default=3, help="runs per endpoint, median kept (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="warm-up seconds per endpoint (default 1)")
    p.add_argument("--server-cpu", type=int, default=0, help="CPU for the server (default 0)")
    p.add_argument("--wrk-cpu", type=int, default=1, help="CPU for wrk (default 1)")
    args = p.parse_args(argv)
    if args.customers < 20 or args.duration < 1 or args.runs < 1 or args.connections < 1:
        p.error("need --customers >= 20, --duration >= 1, --runs >= 1, --connections >= 1")
    if args.server_cpu == args.wrk_cpu:
        p.error("--server-cpu and --wrk-cpu must differ")
    return args


def check_tools(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed; install it with:\n    apt-get install -y wrk")
    if shutil.which("taskset") is None:
        raise BenchError(
            "taskset is not installed; install it with:\n    apt-get install -y util-linux"
        )
    allowed = os.sched_getaffinity(0)
    for cpu in (args.server_cpu, args.wrk_cpu):
        if cpu not in allowed:
            raise BenchError(f"CPU {cpu} is not available here (allowed: {sorted(allowed)})")


@dataclass
class Workspace:
    dir: Path
    db_path: Path

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db_path}"


def prepare(ws: Workspace, args: argparse.Namespace) -> tuple[str, Fixture, float]:
    """Migrate, create a test-mode key, seed; returns (secret, fixture, seed seconds)."""
    with console.status("running migrations"):
        upgrade(ws.url)
    secret = api_key(ws.url)
    fixture = Fixture(customers=args.customers, rng=random.Random(1))
    seconds = seed(ws.db_path, fixture)
    return secret, fixture, seconds


def measure(
    server: Server, secret: str, fixture: Fixture, ws: Workspace, args: argparse.Namespace
) -> list[Result]:
    load = LoadSettings(args.wrk_cpu, args.connections, threads=1)
    scripts: dict[str, Path] = {}
    for i, endpoint in enumerate(ENDPOINTS):
        check_endpoint(server.base, endpoint, secret, fixture.pools)
        script = ws.dir / f"{endpoint.key}.lua"
        script.write_text(wrk_script(endpoint, secret, fixture.pools, seed=i + 1))
        scripts[endpoint.key] = script
    runs: dict[str, list[Run]] = {e.key: [] for e in ENDPOINTS}
    # Rounds interleave the endpoints, so drift in the machine's speed hits them all alike.
    for round_no in range(args.runs):
        for endpoint in ENDPOINTS:
            url = server.base + _PLACEHOLDER.sub("x", endpoint.path)
            if round_no == 0 and args.warmup > 0:
                run_wrk(url, scripts[endpoint.key], load, args.warmup)
            with console.status(f"round {round_no + 1}/{args.runs}: {endpoint.label}"):
                run = run_wrk(url, scripts[endpoint.key], load, args.duration)
            runs[endpoint.key].append(run)
            console.print(
                f"  round {round_no + 1} {endpoint.key:<10} {run.rps:>10,.0f} req/s"
                f"  p99 {run.p99_ms:6.2f} ms",
                highlight=False,
            )
    return [Result(e, runs[e.key]) for e in ENDPOINTS]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # run the finally blocks: stop the server, remove the dir

    signal.signal(signal.SIGTERM, on_term)
    try:
        check_tools(args)
        with tempfile.TemporaryDirectory(prefix="paymentkit-bench-") as tmp:
            ws = Workspace(Path(tmp), Path(tmp) / "bench.db")
            secret, fixture, seed_seconds = prepare(ws, args)
            server = Server(ws.url, free_port(), args.server_cpu, ws.dir / "server.log")
            try:
                with console.status("starting the server"):
                    server.wait_ready()
                print_setup(args, seed_seconds)
                results = measure(server, secret, fixture, ws, args)
            finally:
                server.stop()
        print_results(results)
    except BenchError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
