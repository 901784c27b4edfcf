"""`paymentkit customers|invoices|subscriptions|payment-methods|payment-currencies …` through
click's runner, on the real app in process (SQLite and PostgreSQL): the SDK's http client is the
app's TestClient, handed in as the root context object."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

from paymentkit.cli.main import main
from paymentkit.server.db.engine import Database
from tests.conftest import make_key
from tests.sdk.test_cursors import CursorServer
from tests.sdk.test_paging import _customer


class Cli:
    def __init__(self, app_client: TestClient, secret: str) -> None:
        self.app_client = app_client
        self.runner = CliRunner(
            env={"PAYMENTKIT_API_KEY": secret, "PAYMENTKIT_BASE_URL": "http://testserver"}
        )

    def run(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(main, list(args), obj=self.app_client)
        assert result.exit_code == code, (result.output, result.exception)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def error(self, *args: str) -> str:
        result = self.run(*args, code=1)
        assert result.stdout == "" and "Traceback" not in result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        return lines[0]


@pytest.fixture
def cli(app_client: TestClient, db: Database) -> Cli:
    return Cli(app_client, make_key(db, False))


def test_customer_commands(cli: Cli) -> None:
    made = cli.json(
        "customers", "create", "--name", "Ada Lovelace", "--email", "ada@example.com",
        "--country", "gb", "--city", "London", "--metadata", "tier=gold", "--metadata", "n=1",
    )  # fmt: skip
    cid = made["id"]
    assert made["address"]["country"] == "GB" and made["metadata"] == {"tier": "gold", "n": "1"}
    assert made["balance"] == "0"  # the wire's JSON, amounts as strings

    shown = cli.run("customers", "get", cid).stdout
    assert cid in shown and "Ada Lovelace" in shown and "London" in shown

    updated = cli.json("customers", "update", cid, "--phone", "+15551234567", "--metadata", "n=")
    assert updated["phone"] == "+15551234567" and updated["metadata"] == {"tier": "gold"}
    cli.run("customers", "update", cid, code=2)  # nothing to update: a usage error

    for i in range(4):
        cli.run("customers", "create", "--name", f"bulk-{i}")
    table = cli.run("customers", "list", "--page-size", "2").stdout
    assert "page 1 of 3, 5 in all" in table
    assert table.count("cus_") == 2
    listed = cli.json("customers", "list", "--page-size", "2", "--page", "3")
    assert listed["count"] == 5 and listed["paging"] == {"page": 3, "pageSize": 2}
    every = cli.json("customers", "list", "--page-size", "2", "--all")
    assert len(every) == 5 and every[-1]["id"] == cid
    by_meta = cli.json("customers", "list", "--metadata", "tier=gold")
    assert [c["id"] for c in by_meta["list"]] == [cid]
    assert cli.json("customers", "list", "--email", "ADA@example.com")["count"] == 1
    ordered = cli.json("customers", "list", "--order", "name:ASC")["list"]
    assert [c["name"] for c in ordered][-1] == "bulk-3"

    found = cli.run("customers", "search", "lovelace").stdout
    assert cid in found and "1 in all" in found
    assert len(cli.json("customers", "search", "bulk", "--all", "--page-size", "3")) == 4

    overdue = cli.run("customers", "overdue", cid).stdout
    assert "0 overdue invoice(s)" in overdue
    assert cli.json("customers", "overdue", cid)["subscriptionCount"] == 0

    did = "zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ"
    assert cli.json("customers", "get", did, "--create")["did"] == did

    assert "Deleted" in cli.run("customers", "delete", cid).stdout
    assert "No such customer" in cli.error("customers", "get", cid)


def test_ids_are_never_cut_in_tables(cli: Cli) -> None:
    made = cli.json(
        "customers", "create", "--name", "N" * 150, "--email", "very.long.address@example.com"
    )
    table = cli.run("customers", "list").stdout
    assert made["id"] in table


def test_payment_method_of_any_identifier_type(cli: Cli) -> None:
    assert (
        cli.json("payment-methods", "create", "--type", "card", "--name", "Card")["type"] == "card"
    )
    assert "type" in cli.error("payment-methods", "create", "--type", "Card", "--name", "Card")


def test_billing_commands_and_the_overdue_summary(cli: Cli) -> None:
    cid = cli.json("customers", "create", "--name", "Jane")["id"]
    pm = cli.json(
        "payment-methods", "create", "--type", "stripe", "--name", "Stripe",
        "--setting", "secret_key=sk_live_x",
    )  # fmt: skip
    assert pm["settings"] == {"secret_key": "[redacted]"}
    assert "[redacted]" in cli.run("payment-methods", "get", pm["id"]).stdout  # not rich markup
    assert cli.json("payment-methods", "update", pm["id"], "--inactive")["active"] is False
    assert cli.json("payment-methods", "list")["count"] == 1
    pc = cli.json(
        "payment-currencies", "create", "--payment-method-id", pm["id"], "--name", "US Dollar",
        "--symbol", "USD", "--decimal", "2",
    )  # fmt: skip
    assert (
        cli.json("payment-currencies", "update", pc["id"], "--name", "Dollar")["name"] == "Dollar"
    )
    assert pc["id"] in cli.run("payment-currencies", "list").stdout
    assert cli.json("payment-currencies", "get", pc["id"])["symbol"] == "USD"

    sub = cli.json("subscriptions", "create", "--customer-id", cid, "--currency-id", pc["id"])
    assert sub["status"] == "active"
    assert cli.json("subscriptions", "get", sub["id"])["id"] == sub["id"]
    assert sub["id"] in cli.run("subscriptions", "list", "--customer-id", cid).stdout
    assert cli.json("subscriptions", "cancel", sub["id"])["status"] == "canceled"
    assert "invalid_state" in cli.error("subscriptions", "cancel", sub["id"])

    big = str(10**25 + 5000)
    inv = cli.json(
        "invoices", "create", "--customer-id", cid, "--currency-id", pc["id"],
        "--amount-due", big, "--description", "Pro", "--metadata", "order=A-1",
    )  # fmt: skip
    assert inv["amount_due"] == big and inv["status"] == "draft"
    assert cli.json("invoices", "finalize", inv["id"])["status"] == "open"
    paid = cli.json("invoices", "pay", inv["id"], "--amount", "1500")
    assert paid["amount_remaining"] == str(10**25 + 3500)
    assert cli.json("invoices", "mark-uncollectible", inv["id"])["status"] == "uncollectible"
    assert big in cli.run("invoices", "get", inv["id"]).stdout
    assert inv["id"] in cli.run("invoices", "list", "--status", "uncollectible").stdout
    assert (
        cli.json("invoices", "list", "--customer-id", cid, "--currency-id", pc["id"])["count"] == 1
    )

    summary = cli.run("customers", "overdue", cid).stdout
    assert "1 overdue invoice(s)" in summary
    assert "100000000000000000000035.00 USD" in summary  # exact, from the integer
    wire = cli.json("customers", "overdue", cid)
    assert wire["summary"][pc["id"]]["amount"] == str(10**25 + 3500)

    other = cli.json(
        "invoices", "create", "--customer-id", cid, "--currency-id", pc["id"], "--amount-due", "5"
    )
    cli.run("invoices", "finalize", other["id"])
    assert cli.json("invoices", "void", other["id"])["status"] == "void"

    err = cli.error("invoices", "pay", inv["id"], "--amount", str(10**30))
    assert "param amount" in err and "400" in err
    assert "invalid_state" in cli.error("customers", "delete", cid)


def test_bad_input_and_missing_credentials(cli: Cli) -> None:
    bad = cli.runner.invoke(
        main, ["invoices", "pay", "in_x", "--amount", "1.5"], obj=cli.app_client
    )
    assert bad.exit_code == 2 and "integer amount" in bad.output
    bad = cli.runner.invoke(main, ["customers", "list", "--metadata", "tier"], obj=cli.app_client)
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output
    assert "param email" in cli.error("customers", "create", "--email", "nope")
    assert "param address.country" in cli.error("customers", "create", "--country", "XX")

    nokey = CliRunner(env={"PAYMENTKIT_API_KEY": None}).invoke(
        main, ["customers", "list"], obj=cli.app_client
    )
    assert nokey.exit_code == 1 and "PAYMENTKIT_API_KEY" in nokey.stderr
    wrong = cli.runner.invoke(
        main, ["customers", "list", "--api-key", "sk_test_nope"], obj=cli.app_client
    )
    assert wrong.exit_code == 1 and "authentication_required" in wrong.stderr


def test_an_unreachable_server_is_one_line_too() -> None:
    result = CliRunner().invoke(
        main, ["customers", "list", "--api-key", "sk_test_x", "--base-url", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Could not get an answer to GET http://127.0.0.1:9")
    assert "Traceback" not in result.output


# -- cursor paging ----------------------------------------------------------------------------


class MockCli:
    """The commands against `tests.sdk.test_cursors.CursorServer` (the cursor contract behind
    `httpx.MockTransport`) instead of the app."""

    def __init__(self, handler: Any) -> None:
        self.http = httpx.Client(transport=httpx.MockTransport(handler))
        self.runner = CliRunner(
            env={"PAYMENTKIT_API_KEY": "sk_test_x", "PAYMENTKIT_BASE_URL": "http://testserver"}
        )

    def run(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(main, list(args), obj=self.http)
        assert result.exit_code == code, (result.output, result.exception)
        return result


def _ids(n: int) -> list[str]:
    return [f"cus_{i:02d}" for i in range(n)]


def test_all_walks_with_cursors() -> None:
    server = CursorServer(_ids(5))
    cli = MockCli(server)
    args = ("customers", "list", "--page-size", "2", "--email", "e", "--all", "--json")
    every = json.loads(cli.run(*args).stdout)
    assert [c["id"] for c in every] == _ids(5)
    assert server.asked == [
        {"pageSize": "2", "email": "e"},
        {"starting_after": "cus_01", "limit": "2", "email": "e"},
        {"starting_after": "cus_03", "limit": "2", "email": "e"},
    ]
    table = cli.run("customers", "search", "cus", "--page-size", "2", "--all").stdout
    assert all(cid in table for cid in _ids(5)) and "5 of 5" in table
    assert server.asked[-1] == {"query": "cus", "starting_after": "cus_03", "limit": "2"}


def test_cursor_options_and_their_footers() -> None:
    server = CursorServer(_ids(6))
    cli = MockCli(server)
    after = cli.run("customers", "list", "--starting-after", "cus_01", "--limit", "2").stdout
    rows, footer = after.strip().rsplit("\n", 1)
    assert "cus_02" in rows and "cus_03" in rows and "cus_01" not in rows
    assert footer == "2 after cus_01, 6 in all (--starting-after cus_03 or --all for more)"
    assert server.asked[-1] == {"starting_after": "cus_01", "limit": "2"}
    end = cli.run("customers", "list", "--starting-after", "cus_03", "--limit", "2").stdout
    assert end.strip().endswith("2 after cus_03, 6 in all")

    before = cli.run("customers", "list", "--ending-before", "cus_04", "--limit", "2").stdout
    assert "2 before cus_04, 6 in all (--ending-before cus_02 or --all for more)" in before
    assert server.asked[-1] == {"ending_before": "cus_04", "limit": "2"}
    args = ("customers", "list", "--ending-before", "cus_05", "--limit", "2", "--all", "--json")
    back = json.loads(cli.run(*args).stdout)
    assert [c["id"] for c in back] == ["cus_03", "cus_04", "cus_01", "cus_02", "cus_00"]

    page = json.loads(cli.run("customers", "list", "--starting-after", "cus_00", "--json").stdout)
    assert page["has_more"] is False and page["count_is_exact"] is True
    assert page["paging"] == {"page": 1, "pageSize": 20}

    numbered = cli.run("customers", "list", "--page-size", "4").stdout
    assert "page 1 of 2, 6 in all (--page N or --all for more)" in numbered


def test_a_count_that_is_not_exact_says_so() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "count": 10_000,
            "list": [_customer("cus_a"), _customer("cus_b")],
            "paging": {"page": 1, "pageSize": 2},
            "has_more": "starting_after" not in request.url.params,
            "count_is_exact": False,
        }
        return httpx.Response(200, json=body)

    cli = MockCli(handler)
    table = cli.run("customers", "list", "--page-size", "2").stdout
    assert "page 1, more than 10,000 in all (--page N or --all for more)" in table
    after = cli.run("customers", "list", "--starting-after", "cus_x", "--limit", "2").stdout
    assert after.strip().endswith("2 after cus_x, more than 10,000 in all")
    every = cli.run("customers", "list", "--page-size", "2", "--all").stdout
    assert every.strip().endswith("2 of more than 10,000")  # cus_a, cus_b once each


LIST_COMMANDS = {
    ("customers", "list"): "/api/customers",
    ("customers", "search", "ada"): "/api/customers/search",
    ("invoices", "list"): "/api/invoices",
    ("subscriptions", "list"): "/api/subscriptions",
    ("payment-methods", "list"): "/api/payment-methods",
    ("payment-currencies", "list"): "/api/payment-currencies",
}


@pytest.mark.parametrize("command", LIST_COMMANDS, ids=" ".join)
def test_every_list_and_search_command_takes_the_cursor_options(command: tuple[str, ...]) -> None:
    asked: list[tuple[str, dict[str, str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append((request.url.path, dict(request.url.params)))
        body = {"count": 0, "list": [], "paging": {"page": 1, "pageSize": 3}, "has_more": False}
        return httpx.Response(200, json=body)

    cli = MockCli(handler)
    extra = {"query": "ada"} if command[1] == "search" else {}
    cli.run(*command, "--starting-after", "x_1", "--limit", "3")
    cli.run(*command, "--ending-before", "x_2", "--json")
    assert asked == [
        (LIST_COMMANDS[command], {**extra, "starting_after": "x_1", "limit": "3"}),
        (LIST_COMMANDS[command], {**extra, "ending_before": "x_2"}),
    ]
    both = cli.run(*command, "--starting-after", "a", "--ending-before", "b", code=1)
    assert both.stderr == "Error: give starting_after or ending_before, not both\n"
    with_page = cli.run(*command, "--page", "2", "--starting-after", "a", code=1)
    assert "page cannot be used together" in with_page.stderr
    assert len(asked) == 2  # refused before sending
    assert cli.run(*command, "--limit", "0", code=2).exit_code == 2  # 1–100


# On the real app: these need the server's cursor support.


def test_all_walks_with_cursors_on_the_server(cli: Cli) -> None:
    made = [cli.json("customers", "create", "--name", f"w-{i}")["id"] for i in range(5)]
    asked: list[dict[str, str]] = []
    cli.app_client.event_hooks["request"].append(lambda r: asked.append(dict(r.url.params)))
    every = cli.json("customers", "list", "--page-size", "2", "--all")
    assert [c["id"] for c in every] == made[::-1]
    assert asked == [
        {"pageSize": "2"},
        {"starting_after": made[3], "limit": "2"},
        {"starting_after": made[1], "limit": "2"},
    ]
    after = cli.run("customers", "list", "--starting-after", made[4], "--limit", "2").stdout
    assert f"2 after {made[4]}, 5 in all (--starting-after {made[2]} or --all for more)" in after
    before = cli.json("customers", "list", "--ending-before", made[0], "--limit", "2")
    assert [c["id"] for c in before["list"]] == [made[2], made[1]] and before["has_more"]
    assert "param starting_after" in cli.error(
        "customers", "list", "--starting-after", "cus_000000000000000000000000"
    )
