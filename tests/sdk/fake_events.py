"""`FakeEventsAPI`: a small in-memory model of `GET /api/events` as API.md describes it (newest
first, `type` exact or `prefix*`, `object_id`, `created[gte]`/`created[lte]`, numbered and cursor
paging), behind `httpx.MockTransport`.

It lets a test do what a real server does only by chance: make an event visible *after* later
ones, with an older `created_at` (a transaction that stamped first and committed last).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import httpx

BASE_MS = 1_800_000_000_000


def iso(ms: int) -> str:
    when = datetime.fromtimestamp(ms // 1000, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _ms(value: str) -> int:
    if value.replace(".", "", 1).isdigit():
        return int(float(value) * 1000)
    return int(datetime.fromisoformat(value).timestamp() * 1000)


def event(
    seq: int, type: str, object_id: str, created_ms: int, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An event in the wire shape of API.md."""
    return {
        "id": f"evt_{seq:024d}",
        "object": "event",
        "livemode": False,
        "type": type,
        "api_version": "2024-01-01",
        "data": {"object": data or {"id": object_id}},
        "object_type": type.split(".")[0],
        "object_id": object_id,
        "request": {"id": f"req_{seq:024d}", "idempotency_key": None, "requested_by": "key_x"},
        "pending_webhooks": 0,
        "metadata": {},
        "created_at": iso(created_ms),
        "updated_at": iso(created_ms),
    }


class FakeEventsAPI:
    """The events of one mode. `add(type, object_id, created_ms)` makes one visible; `asked`
    holds the query of every request."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, dict[str, Any]]] = []  # (created_ms, seq, event)
        self.asked: list[dict[str, str]] = []
        self.failures: list[int] = []  # statuses to answer next, one per request
        self._lock = threading.Lock()

    def add(self, type: str, object_id: str = "cus_1", created_ms: int | None = None) -> str:
        with self._lock:
            seq = len(self.rows) + 1
            created = BASE_MS + seq if created_ms is None else created_ms
            self.rows.append((created, seq, event(seq, type, object_id, created)))
            return str(self.rows[-1][2]["id"])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        with self._lock:
            self.asked.append(query)
            if self.failures:
                return httpx.Response(self.failures.pop(0), json={"error": "down", "code": "x"})
            if request.url.path != "/api/events":
                return httpx.Response(404, json={"error": "no route", "code": "not_found"})
            rows = sorted(self.rows, key=lambda r: (r[0], r[1]), reverse=True)
        rows = [r for r in rows if self._matches(r, query)]
        ids = [r[2]["id"] for r in rows]
        limit = int(query.get("limit", query.get("pageSize", "20")))
        page = 1
        if "starting_after" in query:
            start = ids.index(query["starting_after"]) + 1
            chunk, more = rows[start : start + limit], start + limit < len(rows)
        elif "ending_before" in query:
            end = ids.index(query["ending_before"])
            start = max(0, end - limit)
            chunk, more = rows[start:end], start > 0
        else:
            page = int(query.get("page", "1"))
            start = (page - 1) * limit
            chunk, more = rows[start : start + limit], start + limit < len(rows)
        return httpx.Response(
            200,
            json={
                "count": len(rows),
                "list": [r[2] for r in chunk],
                "paging": {"page": page, "pageSize": limit},
                "has_more": more,
                "count_is_exact": True,
            },
        )

    @staticmethod
    def _matches(row: tuple[int, int, dict[str, Any]], query: dict[str, str]) -> bool:
        created, _, evt = row
        wanted = query.get("type")
        if wanted is not None:
            if wanted.endswith("*"):
                if not evt["type"].startswith(wanted[:-1]):
                    return False
            elif evt["type"] != wanted:
                return False
        if "object_id" in query and evt["object_id"] != query["object_id"]:
            return False
        if "created[gte]" in query and created < _ms(query["created[gte]"]):
            return False
        return not ("created[lte]" in query and created > _ms(query["created[lte]"]))
