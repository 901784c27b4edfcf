"""Webhook delivery under write load (issue 10, item 7).

Run: ./run python bench/bench_webhooks.py [--seconds 30] [--writers 4] [--postgres-url URL]
     [--only sqlite|postgresql] [--backlog 3000]

For SQLite (a fresh temp file) and PostgreSQL (a fresh schema in PAYMENTKIT_TEST_POSTGRES_URL or
--postgres-url, skipped with a message when it cannot be reached), two set-ups on CPU 0: one
`paymentkit serve` worker delivering in the background as it does by default, and `serve
--no-deliver` beside a `paymentkit worker` process; a local receiver (its own process, verifying
every delivery with the `standardwebhooks` package) and `--writers` clients on CPU 1. The writers
create and update customers as fast as they can for `--seconds`; every committed write is one
event, delivered to one endpoint subscribed to `*`. Printed: write rate, delivery rate, the
backlog (committed events not yet received) every two seconds, how long the backlog takes to
reach zero after the writers stop (target ≤ 5 s), and the commit-to-delivery latency p50 / p99
of the events written while the writers ran (target p99 < 1 s). Then the capacity of one
delivering process: `--backlog` events written with delivery off, drained by one `paymentkit
worker` alone on CPU 0 — its deliveries/s and CPU time per delivery.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table
from standardwebhooks import Webhook

from bench.bench_api import BenchError, Server, api_key, free_port, paymentkit_exe
from bench.bench_scale import Client, Target, pct

console = Console(width=None if sys.stdout.isatty() else 140)
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
DRAIN_TARGET_S = 5.0
P99_TARGET_MS = 1000.0


class Receiver:
    """An HTTP server that records the first arrival of each webhook-id (and counts repeats)."""

    def __init__(self, count: Any) -> None:
        self.count = count  # a counter of distinct webhook-ids shared with the parent process
        self.lock = threading.Lock()
        self.first: dict[str, float] = {}  # webhook-id → arrival (unix seconds)
        self.created: dict[str, float] = {}  # webhook-id → the event's created_at
        self.repeats = 0
        self.bad_signatures = 0
        self.verifier: Webhook | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as real receivers do: HTTP/1.0 would make every delivery a new
            # connection.
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.record(body, headers, arrived)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        # The default listen backlog (5) drops connections under 16 concurrent deliveries: the
        # client's SYN is retried after 1 s, which measured the receiver, not the delivery.
        ThreadingHTTPServer.request_queue_size = 128
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def record(self, body: bytes, headers: dict[str, str], arrived: float) -> None:
        try:
            assert self.verifier is not None
            event = self.verifier.verify(body, headers)
        except Exception:
            with self.lock:
                self.bad_signatures += 1
            return
        webhook_id = headers["webhook-id"]
        created = datetime.fromisoformat(event["created_at"]).timestamp()
        with self.lock:
            if webhook_id in self.first:
                self.repeats += 1
            else:
                self.first[webhook_id] = arrived
                self.created[webhook_id] = created
                self.count.value += 1

    def received(self) -> int:
        with self.lock:
            return len(self.first)

    def stop(self) -> None:
        self.server.shutdown()


class ReceiverProcess:
    """The receiver in a process of its own (pinned with the writers to CPU 1), so it does not
    share the writers' GIL: in one process it was the bottleneck, not the delivery."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self.count = ctx.Value("q", 0, lock=False)
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_receive, args=(child, self.count), daemon=True)
        self.proc.start()
        self.url: str = self.conn.recv()

    def set_secret(self, secret: str) -> None:
        self.conn.send(("secret", secret))

    def received(self) -> int:
        return int(self.count.value)

    def report(self) -> tuple[dict[str, float], dict[str, float], int, int]:
        """(first arrival per webhook-id, its event's created_at, repeats, bad signatures)."""
        self.conn.send(("report", None))
        result: tuple[dict[str, float], dict[str, float], int, int] = self.conn.recv()
        return result

    def stop(self) -> None:
        self.conn.send(("stop", None))
        self.proc.join(10)


def _receive(conn: Any, count: Any) -> None:
    receiver = Receiver(count)
    conn.send(receiver.url)
    while True:
        what, value = conn.recv()
        if what == "secret":
            receiver.verifier = Webhook(value)
        elif what == "report":
            with receiver.lock:
                conn.send(
                    (
                        dict(receiver.first),
                        dict(receiver.created),
                        receiver.repeats,
                        receiver.bad_signatures,
                    )
                )
        else:
            receiver.stop()
            return


class Writers:
    """N threads creating then updating customers until `stop`; counts committed writes."""

    def __init__(self, base: str, secret: str, n: int) -> None:
        self.stop = threading.Event()
        self.count = 0
        self.lock = threading.Lock()
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(
                target=self._run, args=(Client(base, secret, timeout=60), i), daemon=True
            )
            for i in range(n)
        ]

    def _run(self, client: Client, i: int) -> None:
        k = 0
        try:
            while not self.stop.is_set():
                customer = client.call("POST", "/api/customers", {"name": f"writer {i} #{k}"})
                client.call("PUT", f"/api/customers/{customer['id']}", {"description": "x"})
                with self.lock:
                    self.count += 2
                k += 1
        except Exception as exc:
            self.errors.append(repr(exc))

    def committed(self) -> int:
        with self.lock:
            return self.count


class Rig:
    """A database, a `paymentkit serve` on CPU 0 with `env`, the receiver and one endpoint
    subscribed to `*` pointing at it; `start_worker()` adds a `paymentkit worker` on CPU 0."""

    def __init__(self, kind: str, args: argparse.Namespace, work: Path, env: dict[str, str]):
        self.kind, self.work, self.env = kind, work, env
        self.target = Target(None if kind == "sqlite" else args.postgres_url, work, "hooks")
        self.receiver = ReceiverProcess()
        self.server: Server | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.secret = ""
        self.setup: Client | None = None

    def start(self) -> None:
        self.secret = api_key(self.target.url)
        self.server = Server(
            self.target.url, free_port(), 0, self.work / f"{self.kind}.log", env=self.env
        )
        self.server.wait_ready()
        self.setup = Client(self.server.base, self.secret, timeout=60)
        endpoint = self.setup.call(
            "POST", "/api/webhook-endpoints", {"url": self.receiver.url, "enabled_events": ["*"]}
        )
        self.receiver.set_secret(endpoint["secret"])

    @property
    def base(self) -> str:
        assert self.server is not None
        return self.server.base

    def start_worker(self) -> subprocess.Popen[bytes]:
        self.worker = subprocess.Popen(
            ["taskset", "-c", "0", paymentkit_exe(), "worker", "--database-url", self.target.url],
            env={**os.environ, **self.env, "PAYMENTKIT_LOG_LEVEL": "warning"},
            stdout=subprocess.DEVNULL,
            stderr=(self.work / f"{self.kind}-worker.log").open("wb"),
        )
        return self.worker

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            self.worker.wait(30)
        if self.server is not None:
            self.server.stop()
        self.receiver.stop()
        self.target.drop()


@contextmanager
def rig(kind: str, args: argparse.Namespace, work: Path, env: dict[str, str]) -> Iterator[Rig]:
    work.mkdir(parents=True, exist_ok=True)
    r = Rig(kind, args, work, env)
    try:
        r.start()
        yield r
    finally:
        r.stop()


def run_one(kind: str, args: argparse.Namespace, work: Path, separate: bool) -> dict[str, Any]:
    """One run: `serve` delivering itself, or (`separate`) `serve --no-deliver` beside a
    `paymentkit worker` process, both on CPU 0."""
    env = {"PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE": "1", "PAYMENTKIT_DELIVER": "0" if separate else "1"}
    with rig(kind, args, work, env) as r:
        if separate:
            r.start_worker()
        receiver, setup = r.receiver, r.setup
        assert setup is not None
        # Warm up: the delivery process is ready once one event made it through.
        setup.call("POST", "/api/customers", {"name": "warm-up"})
        ready_by = time.monotonic() + 60
        while receiver.received() < 1:
            if time.monotonic() > ready_by:
                raise BenchError("no delivery within 60 s of the start")
            time.sleep(0.05)
        baseline = receiver.received()
        writers = Writers(r.base, r.secret, args.writers)
        series: list[tuple[float, int, int]] = []  # (t, committed, received)
        start = time.monotonic()
        start_wall = time.time()
        for t in writers.threads:
            t.start()
        next_sample = start
        while time.monotonic() - start < args.seconds:
            next_sample += 1.0
            time.sleep(max(0.0, next_sample - time.monotonic()))
            got = receiver.received() - baseline
            series.append((time.monotonic() - start, writers.committed(), got))
        writers.stop.set()
        for t in writers.threads:
            t.join(60)
        stopped = time.monotonic()
        stopped_wall = time.time()
        written = writers.committed()
        drain: float | None = None
        while time.monotonic() - stopped < 60:
            got = receiver.received() - baseline
            if got >= written:
                drain = time.monotonic() - stopped
                break
            time.sleep(0.05)
        write_seconds = stopped - start
        first, created, repeats, bad = receiver.report()
        latencies = [
            (first[i] - created[i]) * 1000
            for i in first
            if start_wall <= created[i] <= stopped_wall
        ]
        arrivals = sorted(first.values())
        delivered_during = sum(1 for a in arrivals if start_wall <= a <= stopped_wall)
        return {
            "kind": f"{kind}, serve + worker" if separate else f"{kind}, serve",
            "written": written,
            "write_rate": written / write_seconds,
            "delivery_rate": delivered_during / write_seconds,
            "received": receiver.received() - baseline,
            "drain": drain,
            "p50": statistics.median(latencies) if latencies else float("nan"),
            "p99": pct(latencies, 0.99),
            "repeats": repeats,
            "bad": bad,
            "errors": writers.errors,
            "series": series,
        }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process `pid` has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_capacity(kind: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """What one delivering process can do on a core of its own: `--backlog` events written with
    delivery off, then one `paymentkit worker` on CPU 0 (the idle server beside it) sends them
    all; its rate from the first arrival to the last, and its CPU time per delivery."""
    env = {"PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE": "1", "PAYMENTKIT_DELIVER": "0"}
    with rig(kind, args, work, env) as r:
        receiver = r.receiver
        writers = Writers(r.base, r.secret, args.writers)
        for t in writers.threads:
            t.start()
        while writers.committed() < args.backlog and not writers.errors:
            time.sleep(0.05)
        writers.stop.set()
        for t in writers.threads:
            t.join(60)
        written = writers.committed()
        worker = r.start_worker()
        deadline = time.monotonic() + 120
        while receiver.received() == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        first, cpu_first = time.monotonic(), _cpu_seconds(worker.pid)
        while receiver.received() < written and time.monotonic() < deadline:
            time.sleep(0.005)
        last, cpu_last = time.monotonic(), _cpu_seconds(worker.pid)
        sent = receiver.received() - 1  # those after the first arrival
        return {
            "kind": kind,
            "written": written,
            "received": receiver.received(),
            "rate": sent / (last - first) if last > first else float("nan"),
            "cpu_ms": (cpu_last - cpu_first) / sent * 1000 if sent else float("nan"),
            "errors": writers.errors,
        }


def _postgres_reachable(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("PAYMENTKIT_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"), default=None)
    parser.add_argument(
        "--backlog",
        type=int,
        default=3000,
        help="events a worker alone drains in the capacity run (0: no capacity run)",
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    results = []
    capacities = []
    with tempfile.TemporaryDirectory(prefix="pk-hooks-") as tmp:
        for kind in kinds:
            if kind == "postgresql":
                reason = _postgres_reachable(args.postgres_url)
                if reason is not None:
                    console.print(f"PostgreSQL skipped: {args.postgres_url} unreachable ({reason})")
                    continue
            for separate in (False, True):
                label = "serve --no-deliver + worker" if separate else "serve delivering"
                console.print(f"{kind}, {label}: {args.writers} writers for {args.seconds:g} s …")
                results.append(run_one(kind, args, Path(tmp) / f"{kind}-{separate}", separate))
            if args.backlog > 0:
                console.print(f"{kind}, capacity: one worker drains {args.backlog:,} events …")
                capacities.append(run_capacity(kind, args, Path(tmp) / f"{kind}-capacity"))
    failures = 0
    table = Table(
        title=f"{args.writers} writers for {args.seconds:g} s, one `serve` worker delivering"
    )
    for col in (
        "database",
        "writes/s",
        "deliveries/s",
        "events",
        "received",
        "drain s",
        "p50 ms",
        "p99 ms",
        "repeats",
        "bad sig",
        "",
    ):
        table.add_column(col, justify="left" if col == "database" else "right")
    for r in results:
        ok = (
            r["drain"] is not None
            and r["drain"] <= DRAIN_TARGET_S
            and r["p99"] < P99_TARGET_MS
            and r["bad"] == 0
            and r["received"] == r["written"]
            and not r["errors"]
        )
        failures += not ok
        table.add_row(
            r["kind"],
            f"{r['write_rate']:,.0f}",
            f"{r['delivery_rate']:,.0f}",
            f"{r['written']:,}",
            f"{r['received']:,}",
            "never" if r["drain"] is None else f"{r['drain']:.2f}",
            f"{r['p50']:.0f}",
            f"{r['p99']:.0f}",
            str(r["repeats"]),
            str(r["bad"]),
            "PASS" if ok else "FAIL",
        )
    console.print(table)
    console.print(
        f"targets: backlog back to zero ≤ {DRAIN_TARGET_S:g} s after the writers stop;"
        f" p99 < {P99_TARGET_MS:g} ms"
    )
    for r in results:
        points = [f"{t:.0f}s:{c - g}" for t, c, g in r["series"][1::2]]
        drained = "never (60 s)" if r["drain"] is None else f"0 at +{r['drain']:.2f} s"
        console.print(
            f"{r['kind']} backlog (t:events not yet received): {' '.join(points)};"
            f" after the writers stopped: {drained}"
        )
        for e in r["errors"]:
            console.print(f"{r['kind']} writer error: {e}")
    for c in capacities:
        console.print(
            f"{c['kind']} capacity: one `paymentkit worker` alone on CPU 0 sent"
            f" {c['received']:,} of {c['written']:,} events at {c['rate']:,.0f}/s,"
            f" {c['cpu_ms']:.2f} ms of its CPU per delivery"
        )
        failures += c["received"] != c["written"] or bool(c["errors"])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
