"""Bulk import and export at scale: `paymentkit import customers` and `paymentkit export
customers`, run as the CLI runs them, into a fresh SQLite file and a fresh PostgreSQL schema.

    .venv/bin/python bench/bench_bulk.py                 # 1,000,000 customers, both databases
    .venv/bin/python bench/bench_bulk.py --rows 100000 --database sqlite

The input is bench/datagen.py's deterministic customers as JSON Lines (made once, kept in the
temporary directory). Prints the import summary, rows per second, a second import of the same file
(every row a duplicate), both export formats, and a search and a metadata filter on the result.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from datagen import write_jsonl  # noqa: E402

PG_URL = os.environ.get("PAYMENTKIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = "imp_bench"
CLI = [str(Path(sys.executable).parent / "paymentkit")]  # the console script, as users run it


def paymentkit(*args: str) -> tuple[float, str]:
    """Run the CLI; (wall seconds, stdout). Also notes the CPU it used, workers included."""
    global last_cpu
    before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, check=False, env=_env())
    seconds = time.perf_counter() - started
    last_cpu = _children_cpu() - before
    if done.returncode != 0:
        raise SystemExit(f"paymentkit {' '.join(args)} failed:\n{done.stderr}")
    return seconds, done.stdout


last_cpu = 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _conditions() -> str:
    """CPU the command used (its worker processes included) and the machine's load average:
    other processes on the machine slow a run down, and this says how much."""
    return f"[cpu {last_cpu:.0f} s, load {os.getloadavg()[0]:.1f}]"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PAYMENTKIT_DATABASE_URL"}
    env.setdefault("PAYMENTKIT_SECRET_KEY", "bench-key-not-used-for-customers-aaaaaaaaaa=")
    return env


def bench(name: str, url: str, source: Path, rows: int, work: Path, chunk: int) -> None:
    print(f"\n{name}: {rows:,} customers, --chunk-size {chunk:,}")
    options = ("--json", "--chunk-size", str(chunk))
    paymentkit("migrate", "--database-url", url)
    seconds, out = paymentkit("import", "customers", str(source), *options, "--database-url", url)
    summary = json.loads(out)
    assert summary["imported"] == rows, summary
    print(
        f"  import          {json.dumps(summary)}  "
        f"{rows / summary['seconds']:,.0f} rows/s ({seconds:.1f} s with start-up and migrations)"
        f" {_conditions()}"
    )
    seconds, out = paymentkit("import", "customers", str(source), *options, "--database-url", url)
    again = json.loads(out)
    assert again["duplicates"] == rows and again["imported"] == 0, again
    print(
        f"  import again    {json.dumps(again)}  {rows / again['seconds']:,.0f} rows/s"
        f" {_conditions()}"
    )
    for fmt in ("jsonl", "csv"):
        target = work / f"export.{fmt}"
        seconds, _ = paymentkit("export", "customers", "-o", str(target), "--database-url", url)
        with target.open("rb") as f:
            lines = sum(1 for _ in f) - (1 if fmt == "csv" else 0)
        assert lines == rows, (fmt, lines)
        size = target.stat().st_size / 2**20
        print(
            f"  export {fmt:<5}    {seconds:.1f} s  {rows / seconds:,.0f} rows/s  ({size:,.0f} MiB)"
            f" {_conditions()}"
        )
        target.unlink()
    _queries(url)


def _queries(url: str) -> None:
    """A search and a metadata filter on the imported customers, through the app."""
    os.environ.setdefault("PAYMENTKIT_SECRET_KEY", _env()["PAYMENTKIT_SECRET_KEY"])
    from starlette.testclient import TestClient

    from paymentkit.server.app import create_app
    from paymentkit.server.config import Settings
    from paymentkit.server.db.engine import Database
    from paymentkit.server.keys import service as keys

    db = Database(url)
    _, secret = db.run_sync(lambda tx: keys.create(tx, False, "bench"), write=True)
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(Settings(database_url=url), db=db)) as client:
        for path, params in (
            ("/api/customers/search", {"query": "garcia"}),
            ("/api/customers", {"metadata.tier": "gold"}),
            ("/api/customers", {}),
        ):
            client.get(path, params=params, headers=headers)  # warm
            started = time.perf_counter()
            r = client.get(path, params=params, headers=headers)
            ms = (time.perf_counter() - started) * 1000
            body = r.json()
            print(f"  GET {path} {params}: count {body['count']:,} in {ms:.1f} ms")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--chunk-size", type=int, default=20_000)
    args = parser.parse_args()

    data = Path(tempfile.gettempdir()) / "paymentkit-bench"
    data.mkdir(exist_ok=True)
    source = data / f"customers-{args.rows}.jsonl"
    if not source.exists():
        started = time.perf_counter()
        write_jsonl(source, args.rows)
        print(f"made {source} in {time.perf_counter() - started:.1f} s")
    print(f"{os.cpu_count()} CPUs; input {source.stat().st_size / 2**20:,.0f} MiB")

    work = Path(tempfile.mkdtemp(prefix="paymentkit-bulk-"))
    try:
        if args.database in ("sqlite", "both"):
            bench(
                "SQLite", f"sqlite:///{work / 'bench.db'}", source, args.rows, work, args.chunk_size
            )
        if args.database in ("postgresql", "both"):
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
                conn.execute(f"CREATE SCHEMA {SCHEMA}")
            sep = "&" if "?" in PG_URL else "?"
            try:
                url = f"{PG_URL}{sep}options=-csearch_path%3D{SCHEMA}"
                bench("PostgreSQL", url, source, args.rows, work, args.chunk_size)
            finally:
                with psycopg.connect(PG_URL, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
