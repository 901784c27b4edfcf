"""`serve`'s delivery process: `paymentkit worker` as a child of `serve`, restarted when it dies.

Delivery runs in a process of its own rather than in the HTTP worker's event loop: on one core
the API's writers took the loop from it (bench/bench_webhooks.py: SQLite, 4 writers at 339
writes/s left delivery at 153/s, 13 s behind at the end; with a separate process the OS shares
the core between the two and delivery kept up, 284/284). It also makes one delivering process
per `serve`, however many `--workers` the HTTP side has.

The child dies with `serve`: on Linux it is asked to (PR_SET_PDEATHSIG, SIGTERM: it stops
cleanly, freeing its leases); anywhere, its leases lapse if it cannot.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger("paymentkit.delivery")

RESTART_DELAY = 1.0  # seconds before a delivery process that died is started again
STOP_WAIT = 15.0  # seconds a stopping delivery process may take (its attempts get 10)
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """In the child before exec: be sent SIGTERM when `serve` dies (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        return
    if os.getppid() != parent:  # serve died before prctl took effect
        os._exit(0)


class DeliveryProcess:
    """Runs `paymentkit worker --database-url URL` until `stop()`, restarting it if it exits."""

    def __init__(self, database_url: str, log_format: str) -> None:
        self.command = [
            sys.executable,
            "-c",
            "from paymentkit.cli.main import main; main()",
            "worker",
            "--database-url",
            database_url,
            "--log-format",
            log_format,
        ]
        self._stopping = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name="delivery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        parent = os.getpid()
        # A session of its own: Linux shares the CPU between sessions first (autogroups), and in
        # serve's session the delivery process shared one share with every thread of the HTTP
        # worker (bench_webhooks, SQLite: 151 deliveries/s beside 310 writes/s, against 201/202
        # when started on its own). Ctrl-C reaches it through serve's stop(), not the terminal.
        return subprocess.Popen(  # noqa: S603 (our own command)
            self.command, preexec_fn=lambda: _die_with_parent(parent), start_new_session=True
        )

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self._proc = proc = self._spawn()
            code = proc.wait()
            if self._stopping.is_set():
                return
            log.warning(
                "the webhook delivery process exited (%s); starting it again in %g s",
                code,
                RESTART_DELAY,
            )
            time.sleep(RESTART_DELAY)

    def stop(self) -> None:
        """Ask the delivery process to stop (SIGTERM: attempts in flight finish), then wait."""
        with self._lock:
            self._stopping.set()
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(STOP_WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
