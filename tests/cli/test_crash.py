"""kill -9 of `paymentkit serve` under write load, on SQLite and PostgreSQL: every write that was
answered 2xx is there after a restart, exactly as answered; writes that were in flight are either
wholly there or wholly absent (API.md, Durability)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.test_serve import Start, servers, the_printed_key
from tests.conftest import new_postgres_schema

__all__ = ["servers"]  # the fixture, used by the tests below

WRITERS = 4
LOAD_SECONDS = 2.0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL the server creates and migrates itself: a new file or a new schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    with new_postgres_schema("pk_crash") as url:
        yield url


class Load:
    """Writers creating and updating customers until stopped; what was answered, and what was
    sent but never answered (in flight when the server died)."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.auth = {"Authorization": f"Bearer {key}"}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answered: dict[str, dict[str, object]] = {}  # id -> the last body answered
        self.unanswered_names: set[str] = set()
        self.unanswered_updates: dict[str, str] = {}  # id -> description sent, never answered
        self.threads = [threading.Thread(target=self.write, args=(n,)) for n in range(WRITERS)]

    def write(self, writer: int) -> None:
        with httpx.Client(base_url=self.base, timeout=10, trust_env=False) as http:
            i = 0
            mine: list[str] = []
            while not self.stop.is_set():
                i += 1
                if mine and i % 3 == 0:  # every third write updates one of this writer's customers
                    target = mine[i % len(mine)]
                    description = f"w{writer}-u{i}"
                    try:
                        r = http.put(
                            f"/api/customers/{target}",
                            json={"description": description},
                            headers=self.auth,
                        )
                    except httpx.TransportError:
                        with self.lock:
                            self.unanswered_updates[target] = description
                        return
                    assert r.status_code == 200, r.text
                    with self.lock:
                        self.answered[target] = r.json()
                    continue
                name = f"w{writer}-c{i}"
                try:
                    r = http.post(
                        "/api/customers",
                        json={"name": name, "metadata": {"writer": str(writer)}},
                        headers=self.auth,
                    )
                except httpx.TransportError:
                    with self.lock:
                        self.unanswered_names.add(name)
                    return
                assert r.status_code == 201, r.text
                body = r.json()
                mine.append(str(body["id"]))
                with self.lock:
                    self.answered[str(body["id"])] = body

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)


def test_answered_writes_survive_kill_9_under_load(
    tmp_path: Path, servers: Start, server_database: str
) -> None:
    server = servers(tmp_path, "--database-url", server_database)
    key = the_printed_key(server)
    load = Load(server.base, key)
    load.start()
    deadline = time.monotonic() + LOAD_SECONDS
    while time.monotonic() < deadline or len(load.answered) < 20:
        assert all(t.is_alive() for t in load.threads), "a writer failed before the kill"
        time.sleep(0.05)

    server.kill9()  # mid-write: the writers' requests in flight get no answer
    load.join()
    assert len(load.answered) >= 20

    restarted = servers(tmp_path, "--database-url", server_database)
    auth = {"Authorization": f"Bearer {key}"}
    for id_, answered in load.answered.items():
        r = restarted.http.get(f"/api/customers/{id_}", headers=auth)
        assert r.status_code == 200, r.text
        found = r.json()
        if id_ in load.unanswered_updates:  # an update in flight: all of it, or none of it
            assert found["description"] in (answered["description"], load.unanswered_updates[id_])
            found["description"] = answered["description"]
            found["updated_at"] = answered["updated_at"]
        assert found == answered

    listed: list[dict[str, object]] = []
    page = restarted.http.get("/api/customers", params={"limit": 100}, headers=auth).json()
    listed += page["list"]
    while page["has_more"]:
        last = page["list"][-1]["id"]
        page = restarted.http.get(
            "/api/customers", params={"limit": 100, "starting_after": last}, headers=auth
        ).json()
        listed += page["list"]
    names = {str(c["name"]) for c in listed}
    extra = names - {str(c["name"]) for c in load.answered.values()}
    # Anything beyond what was answered is a create that was in flight, and it is whole.
    assert extra <= load.unanswered_names
    assert page["count"] == len(listed) == len(load.answered) + len(extra)
