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
