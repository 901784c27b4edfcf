"""`paymentkit listen` as a real process against `paymentkit serve` (SQLite and PostgreSQL), while
four clients write at once: every event arrives exactly once at a real receiver, signed, and each
object's events in the order they happened; Ctrl-C stops it cleanly."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from collections import defaultdict
from pathlib import Path

from paymentkit import PaymentKit
from paymentkit.webhooks import verify
from tests.cli.receiver import Receiver
from tests.cli.test_serve import PAYMENTKIT, Start, clean_env, the_printed_key

SECRET_RE = re.compile(r"Ready! Your webhook signing secret is (whsec_[A-Za-z0-9+/=]+)")
WRITERS = 4
PER_WRITER = 10


def test_listen_forwards_every_event_of_concurrent_writers_once_in_order(
    servers: Start, database_url: str, tmp_path: Path
) -> None:
    server = servers(tmp_path, "--database-url", database_url)
    key = the_printed_key(server)
    receiver = Receiver()
    args = ["listen", "--forward-to", receiver.url, "--events", "customer.*", "--interval", "0.2"]
    proc = subprocess.Popen(
        [str(PAYMENTKIT), *args, "--api-key", key, "--base-url", server.base],
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        ready = proc.stderr.readline()
        found = SECRET_RE.search(ready)
        assert found, ready
        secret = found.group(1)
        with PaymentKit(key, server.base) as pk:
            pk.payment_methods.update(  # not a customer.* event: not forwarded
                pk.payment_methods.create(type="stripe", name="S").id, name="S2"
            )

        def write(n: int) -> None:
            with PaymentKit(key, server.base) as pk:
                for i in range(PER_WRITER):
                    made = pk.customers.create(name=f"w{n}-{i}")
                    pk.customers.update(made.id, email=f"w{n}-{i}@example.com")

        threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = WRITERS * PER_WRITER * 2
        got = [verify(r.body, r.headers, secret) for r in receiver.wait_for(total, timeout=60)]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        receiver.close()
    assert proc.returncode == 0, err
    assert "Stopped." in err and "Traceback" not in err

    assert len(got) == total and len({e["id"] for e in got}) == total  # each once
    with PaymentKit(key, server.base) as pk:
        listed = list(pk.events.list(type="customer.*", limit=100).auto_paging_iter())
    assert {e.id for e in listed} == {e["id"] for e in got}
    per_object: dict[str, list[str]] = defaultdict(list)
    for event in got:
        per_object[event["object_id"]].append(event["type"])
    assert all(types == ["customer.created", "customer.updated"] for types in per_object.values())
    assert len(out.splitlines()) == total and out.count("<-- [204]") == total
