"""Rate limits per API key (server/ratelimit.py): past its mode's rate a key gets 429
`rate_limited` with `Retry-After`, changing nothing; other keys and `/healthz` are not held back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from tests.conftest import API, make_key

TEST_RATE = 5
LIVE_RATE = 8


@pytest.fixture
def limited(database_url: str, db: Database) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url, rate_limit_test=TEST_RATE, rate_limit_live=LIVE_RATE
    )
    with TestClient(create_app(settings, db=db), raise_server_exceptions=False) as client:
        yield client


def burst(api: API, n: int) -> list[int]:
    return [api.get("/api/customers").status_code for _ in range(n)]


def test_a_key_past_its_rate_gets_429_with_retry_after(limited: TestClient, db: Database) -> None:
    api = API(limited, make_key(db, False))
    statuses = burst(api, TEST_RATE + 3)
    # The burst is one second of requests; the rest of a quick burst is refused.
    assert statuses[:TEST_RATE] == [200] * TEST_RATE
    assert 429 in statuses[TEST_RATE:]
    refused = api.get("/api/customers")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    body = refused.json()
    assert body["code"] == "rate_limited" and body["param"] is None
    assert body["request_id"] == refused.headers["X-Request-Id"]


def test_a_refused_write_changes_nothing(limited: TestClient, db: Database) -> None:
    api = API(limited, make_key(db, False))
    answers = [api.post("/api/customers", json={"name": f"c{i}"}) for i in range(TEST_RATE + 5)]
    created = [r for r in answers if r.status_code == 201]
    assert len(created) <= TEST_RATE + 1 and any(r.status_code == 429 for r in answers)
    other = API(limited, make_key(db, False))
    listed = other.get("/api/customers", params={"limit": 100}).json()
    assert sorted(c["id"] for c in listed["list"]) == sorted(r.json()["id"] for r in created)


def test_keys_and_modes_have_their_own_limits(limited: TestClient, db: Database) -> None:
    first, second = API(limited, make_key(db, False)), API(limited, make_key(db, False))
    live = API(limited, make_key(db, True))
    assert 429 in burst(first, TEST_RATE + 3)
    assert burst(second, TEST_RATE) == [200] * TEST_RATE  # another key: its own bucket
    assert burst(live, LIVE_RATE) == [200] * LIVE_RATE  # live mode: its own, larger rate
    assert limited.get("/healthz").status_code == 200  # no key, no limit


def test_limits_are_off_by_setting(app_client: TestClient, api: API) -> None:
    """The suite's own app runs with PAYMENTKIT_RATE_LIMIT_*=0 (tests/conftest.py)."""
    assert set(burst(api, 60)) == {200}
