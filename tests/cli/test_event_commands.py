"""`paymentkit webhook-endpoints …` and `paymentkit events …` through click's runner, on the real
app in process (SQLite and PostgreSQL), as test_resource_commands.py runs the other resources."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from paymentkit.server.db.engine import Database
from tests.cli.test_resource_commands import Cli
from tests.conftest import make_key

SECRET_RE = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")
URL = "http://127.0.0.1:9/hooks"  # loopback: allowed by the setting below, never reached


@pytest.fixture(autouse=True)
def private_urls_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE", "1")


@pytest.fixture
def cli(app_client: TestClient, db: Database) -> Cli:
    return Cli(app_client, make_key(db, False))


def test_webhook_endpoint_commands(cli: Cli) -> None:
    out = cli.run(
        "webhook-endpoints", "create", "--url", URL, "--events", "invoice.paid,customer.created",
        "--description", "orders", "--metadata", "team=billing",
    ).stdout  # fmt: skip
    secrets = SECRET_RE.findall(out)
    assert len(secrets) == 1, out  # once, set apart from the table
    assert f"\n    {secrets[0]}\n" in out and "shown only this once" in out
    we = re.search(r"we_[0-9A-Za-z]+", out)
    assert we is not None
    endpoint_id = we.group(0)

    shown = cli.run("webhook-endpoints", "get", endpoint_id).stdout
    assert URL in shown and "whsec_" not in shown
    assert "secret" not in cli.json("webhook-endpoints", "get", endpoint_id)

    made = cli.json(
        "webhook-endpoints", "create", "--url", URL + "/2", "--events", "*", "--status", "disabled"
    )
    assert SECRET_RE.fullmatch(made["secret"]) and made["status"] == "disabled"
    listed = cli.run("webhook-endpoints", "list").stdout
    assert endpoint_id in listed and made["id"] in listed and "2 in all" in listed
    assert "whsec_" not in listed
    only = cli.json("webhook-endpoints", "list", "--status", "disabled")
    assert [e["id"] for e in only["list"]] == [made["id"]]
    assert len(cli.json("webhook-endpoints", "list", "--all", "--limit", "1")) == 2

    updated = cli.json(
        "webhook-endpoints", "update", endpoint_id, "--events", "invoice.paid",
        "--events", "invoice.voided", "--metadata", "team=", "--status", "disabled",
    )  # fmt: skip
    assert updated["enabled_events"] == ["invoice.paid", "invoice.voided"]
    assert (updated["metadata"], updated["status"]) == ({}, "disabled")
    cli.run("webhook-endpoints", "update", endpoint_id, code=2)  # nothing to update

    rotated = cli.run("webhook-endpoints", "rotate-secret", endpoint_id).stdout
    new = SECRET_RE.findall(rotated)
    assert len(new) == 1 and new[0] != secrets[0] and "24 hours" in rotated

    attempts = cli.run("webhook-endpoints", "attempts", endpoint_id).stdout
    assert "0 in all" in attempts
    assert (
        cli.json("webhook-endpoints", "attempts", endpoint_id, "--status", "failed")["count"] == 0
    )

    assert f"Deleted {endpoint_id}." in cli.run("webhook-endpoints", "delete", endpoint_id).stdout
    assert "No such" in cli.error("webhook-endpoints", "get", endpoint_id)


def test_webhook_endpoint_mistakes_are_one_line(cli: Cli) -> None:
    assert "enabled_events" in cli.error(
        "webhook-endpoints", "create", "--url", URL, "--events", "no.such.event"
    )
    assert "url" in cli.error("webhook-endpoints", "create", "--url", "ftp://x", "--events", "*")
    cli.run("webhook-endpoints", "create", "--url", URL, code=2)  # --events is required
    cli.run("webhook-endpoints", "create", "--url", URL, "--events", "a,,b", code=2)


def test_event_commands(cli: Cli) -> None:
    ada = cli.json("customers", "create", "--name", "Ada")["id"]
    cli.run("customers", "update", ada, "--name", "Ada L")
    bob = cli.json("customers", "create", "--name", "Bob")["id"]

    table = cli.run("events", "list").stdout
    assert "3 in all" in table and table.count("evt_") == 3 and "customer.updated" in table
    mine = cli.json("events", "list", "--object-id", ada)["list"]
    assert [e["type"] for e in mine] == ["customer.updated", "customer.created"]
    assert mine[0]["data"]["previous_attributes"] == {"name": "Ada"}
    created = cli.json("events", "list", "--type", "customer.created", "--all")
    assert [e["object_id"] for e in created] == [bob, ada]
    ascending = cli.json(
        "events", "list", "--type", "customer.created", "--order", "created_at:ASC"
    )
    assert [e["object_id"] for e in ascending["list"]] == [ada, bob]
    since = cli.json("events", "list", "--created-gte", mine[0]["created_at"])["list"]
    assert mine[0]["id"] in [e["id"] for e in since]
    assert cli.json("events", "list", "--created-lte", "1000000000")["list"] == []
    newest = created[0]["id"]
    after = cli.run("events", "list", "--limit", "1", "--starting-after", newest).stdout
    assert f"1 after {newest}, 3 in all (--starting-after {mine[0]['id']}" in after

    event_id = mine[0]["id"]
    shown = cli.run("events", "get", event_id).stdout
    assert event_id in shown and "customer.updated" in shown and "Ada L" in shown
    assert cli.json("events", "get", event_id) == mine[0]

    assert (
        f"Resending {event_id} (customer.updated)" in cli.run("events", "resend", event_id).stdout
    )
    assert cli.json("events", "resend", event_id)["id"] == event_id
    assert "webhook_endpoint_id" in cli.error(
        "events", "resend", event_id, "--webhook-endpoint-id", "we_missing"
    )
    assert "type" in cli.error("events", "list", "--type", "Customer")
    assert "No such" in cli.error("events", "get", "evt_missing")
