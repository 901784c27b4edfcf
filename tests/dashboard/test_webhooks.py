"""The webhook endpoints page (list, create with the secret shown once, enable/disable, rotate,
delete, attempts) and the attempts on a customer's timeline, on both databases. The app allows
private URLs (PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE): nothing is sent here, attempts are recorded as
the delivery worker records them."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database, Tx
from paymentkit.server.ids import now_ms
from paymentkit.server.webhooks import repository as webhooks_repo
from tests.api.billing.helpers import body, make_customer
from tests.conftest import API
from tests.dashboard.conftest import Visitor, field_error, text

SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


@pytest.fixture
def app_client(database_url: str, db: Database) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, webhook_allow_private=True), db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def create(
    v: Visitor, url: str = "http://127.0.0.1:9/hook", events: tuple[str, ...] = ("*",), **more: str
) -> Any:
    v.get("/dashboard/webhooks")
    form: list[tuple[str, str]] = [("csrf_token", v.csrf or ""), ("url", url)]
    form += [("enabled_events", e) for e in events]
    form += list(more.items())
    return v.client.post(
        "/dashboard/webhooks",
        content=urllib.parse.urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def test_empty_state(signed_in: Visitor) -> None:
    page = text(signed_in.get("/dashboard/webhooks"))
    assert "No endpoints in test mode yet" in page


def test_create_shows_the_secret_once(signed_in: Visitor, api: API) -> None:
    r = create(signed_in, events=("customer.created", "invoice.paid"), description="CRM")
    assert r.status_code == 200
    secrets = SECRET.findall(r.text)
    assert len(set(secrets)) == 1
    listed = body(api.get("/api/webhook-endpoints"), 200)["list"]
    assert len(listed) == 1 and listed[0]["enabled_events"] == ["customer.created", "invoice.paid"]
    assert listed[0]["description"] == "CRM"
    endpoint_id = listed[0]["id"]
    for path in ("/dashboard/webhooks", f"/dashboard/webhooks/{endpoint_id}"):
        again = signed_in.get(path)
        assert again.status_code == 200 and not SECRET.search(again.text), path
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("", ("*",), "url"),
        ("ftp://example.com/x", ("*",), "url"),
        ("http://user:pw@127.0.0.1/x", ("*",), "url"),
        ("http://127.0.0.1:9/hook", (), "enabled_events"),
        ("http://127.0.0.1:9/hook", ("no.such.type",), "enabled_events"),
    ],
)
def test_refusals_show_at_their_field(
    signed_in: Visitor, api: API, url: str, events: tuple[str, ...], field: str
) -> None:
    r = create(signed_in, url=url, events=events)
    assert r.status_code == 400
    if field == "enabled_events":
        assert 'id="e-enabled_events"' in r.text
    else:
        assert field_error(r, field)
    assert body(api.get("/api/webhook-endpoints"), 200)["list"] == []


def test_private_urls_are_refused_without_the_setting(
    visitor: Visitor, test_key: str, database_url: str, db: Database
) -> None:
    app = create_app(Settings(database_url=database_url, webhook_allow_private=False), db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        v = Visitor(client)
        v.sign_in(test_key)
        r = create(v, url="http://127.0.0.1:9/hook")
        assert r.status_code == 400 and field_error(r, "url")


def test_disable_enable_rotate_delete(signed_in: Visitor, api: API) -> None:
    create(signed_in)
    endpoint = body(api.get("/api/webhook-endpoints"), 200)["list"][0]
    eid = endpoint["id"]
    signed_in.get("/dashboard/webhooks")
    r = signed_in.post(
        f"/dashboard/webhooks/{eid}/status", {"status": "disabled", "back": "/dashboard/webhooks"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/webhooks?notice=disabled"
    assert body(api.get(f"/api/webhook-endpoints/{eid}"), 200)["status"] == "disabled"
    r = signed_in.post(f"/dashboard/webhooks/{eid}/status", {"status": "enabled"})
    assert r.headers["location"] == f"/dashboard/webhooks/{eid}?notice=enabled"
    assert body(api.get(f"/api/webhook-endpoints/{eid}"), 200)["status"] == "enabled"
    assert (
        signed_in.post(f"/dashboard/webhooks/{eid}/status", {"status": "paused"}).status_code == 400
    )
    assert "Rotate the signing secret?" in text(signed_in.get(f"/dashboard/webhooks/{eid}/rotate"))
    r = signed_in.post(f"/dashboard/webhooks/{eid}/rotate")
    assert r.status_code == 200 and len(set(SECRET.findall(r.text))) == 1
    assert not SECRET.search(signed_in.get(f"/dashboard/webhooks/{eid}").text)
    assert "Delete this endpoint?" in text(signed_in.get(f"/dashboard/webhooks/{eid}/delete"))
    r = signed_in.post(f"/dashboard/webhooks/{eid}/delete")
    assert (
        r.status_code == 303
        and r.headers["location"] == "/dashboard/webhooks?notice=endpoint_deleted"
    )
    assert api.get(f"/api/webhook-endpoints/{eid}").status_code == 404


def test_another_modes_endpoint_is_404(
    signed_in: Visitor, live_api: API, live_key: str, app_client: TestClient
) -> None:
    live = Visitor(TestClient(app_client.app))
    live.sign_in(live_key)
    create(live)
    eid = body(live_api.get("/api/webhook-endpoints"), 200)["list"][0]["id"]
    for path in (
        f"/dashboard/webhooks/{eid}",
        f"/dashboard/webhooks/{eid}/rotate",
        f"/dashboard/webhooks/{eid}/delete",
    ):
        assert signed_in.get(path).status_code == 404
    for path in (
        f"/dashboard/webhooks/{eid}/rotate",
        f"/dashboard/webhooks/{eid}/delete",
        f"/dashboard/webhooks/{eid}/status",
    ):
        assert signed_in.post(path, {"status": "disabled"}).status_code == 404
    assert body(live_api.get(f"/api/webhook-endpoints/{eid}"), 200)["status"] == "enabled"
    assert eid not in signed_in.get("/dashboard/webhooks").text


def _record(
    db: Database, event_id: str, status: str, code: int | None, text_: str | None = None
) -> None:
    def work(tx: Tx) -> None:
        seq = tx.scalar(
            "SELECT d.seq FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq WHERE e.id = ? ORDER BY d.seq DESC LIMIT 1",
            (event_id,),
        )
        webhooks_repo.record_attempt(
            tx,
            delivery_seq=int(seq),
            status=status,
            response_status=code,
            response_body="nope" if code else None,
            duration_ms=12,
            error=text_,
            retry_count=0,
            created_at=now_ms(),
        )

    db.run_sync(work, write=True)


def test_attempts_on_the_endpoint_and_the_customer_timeline_and_resend(
    signed_in: Visitor, api: API, db: Database
) -> None:
    create(signed_in, events=("customer.created", "customer.updated"))
    eid = body(api.get("/api/webhook-endpoints"), 200)["list"][0]["id"]
    customer = make_customer(api, name="Hooked")
    event = body(api.get("/api/events", params={"object_id": customer["id"]}), 200)["list"][0]
    assert event["pending_webhooks"] == 1
    _record(db, event["id"], "failed", 500)
    _record(db, event["id"], "failed", None, "connection refused")
    page = signed_in.get(f"/dashboard/webhooks/{eid}")
    assert (
        "HTTP 500" in text(page) and "connection refused" in text(page) and event["id"] in page.text
    )
    timeline = signed_in.get(f"/dashboard/customers/{customer['id']}")
    assert "HTTP 500" in text(timeline) and eid in timeline.text
    r = signed_in.post(
        f"/dashboard/events/{event['id']}/resend",
        {"back": f"/dashboard/customers/{customer['id']}"},
    )
    assert r.headers["location"] == f"/dashboard/customers/{customer['id']}?notice=resent"
    assert body(api.get(f"/api/events/{event['id']}"), 200)["pending_webhooks"] == 2
